package io.fewshotstreams.streaming.feedback;

import io.fewshotstreams.events.Outcome;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Counts over a set of outcomes: accuracy, results, unknown answers, a reliability diagram of
 * {@value #BINS} equal confidence bins, and the confusion table. Mutable; not thread-safe.
 */
final class Tally {
  /** Confidence bins of the reliability diagram: [0, 0.1), [0.1, 0.2), ... [0.9, 1]. */
  static final int BINS = 10;
  /** The row of the confusion table for unknown answers. */
  static final String UNKNOWN_ROW = "<unknown>";

  long outcomes;
  long correct;
  final Map<String, Long> results = new TreeMap<>();
  long unknownAnswers;
  long unknownRight;
  final long[] binOutcomes = new long[BINS];
  final long[] binCorrect = new long[BINS];
  final double[] binConfidence = new double[BINS];
  /** Predicted (or {@link #UNKNOWN_ROW}) to true label to count. */
  final Map<String, Map<String, Long>> confusion = new TreeMap<>();

  void add(Outcome o) {
    add(o.predictedLabel(), o.unknown(), o.trueLabel(), o.result(), o.correct(), o.probability());
  }

  void add(
      String predicted,
      boolean unknown,
      String trueLabel,
      String result,
      boolean right,
      double probability) {
    outcomes++;
    if (right) {
      correct++;
    }
    results.merge(result, 1L, Long::sum);
    if (unknown) {
      unknownAnswers++;
      if (right) {
        unknownRight++;
      }
    }
    int bin = bin(probability);
    binOutcomes[bin]++;
    if (right) {
      binCorrect[bin]++;
    }
    binConfidence[bin] += probability;
    confusion
        .computeIfAbsent(unknown ? UNKNOWN_ROW : predicted, k -> new TreeMap<>())
        .merge(trueLabel, 1L, Long::sum);
  }

  static int bin(double probability) {
    return Math.max(0, Math.min(BINS - 1, (int) Math.floor(probability * BINS)));
  }

  /** Correct over all outcomes; NaN without outcomes. */
  double accuracy() {
    return outcomes == 0 ? Double.NaN : (double) correct / outcomes;
  }

  /**
   * Expected calibration error: over the bins, the share of outcomes in the bin times the gap
   * between its accuracy and its mean confidence. NaN without outcomes.
   */
  double ece() {
    if (outcomes == 0) {
      return Double.NaN;
    }
    double sum = 0;
    for (int b = 0; b < BINS; b++) {
      sum += Math.abs(binCorrect[b] - binConfidence[b]);
    }
    return sum / outcomes;
  }

  /** The JSON view (maps, lists and numbers; NaN as null). */
  Map<String, Object> view() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("outcomes", outcomes);
    m.put("correct", correct);
    m.put("accuracy", number(accuracy()));
    m.put("results", new LinkedHashMap<>(results));
    m.put("unknownAnswers", unknownAnswers);
    m.put("unknownRight", unknownRight);
    m.put("unknownRightShare", ratio(unknownRight, unknownAnswers));
    m.put("ece", number(ece()));
    List<Map<String, Object>> bins = new ArrayList<>();
    for (int b = 0; b < BINS; b++) {
      Map<String, Object> bin = new LinkedHashMap<>();
      bin.put("lower", b / (double) BINS);
      bin.put("upper", (b + 1) / (double) BINS);
      bin.put("outcomes", binOutcomes[b]);
      bin.put("correct", binCorrect[b]);
      bin.put("accuracy", ratio(binCorrect[b], binOutcomes[b]));
      bin.put("meanConfidence", ratio(binConfidence[b], binOutcomes[b]));
      bins.add(bin);
    }
    m.put("reliability", bins);
    Map<String, Object> table = new LinkedHashMap<>();
    confusion.forEach((row, cols) -> table.put(row, new LinkedHashMap<>(cols)));
    m.put("confusion", table);
    return m;
  }

  /** {@code part / whole}, or null when {@code whole} is 0. */
  private static Double ratio(double part, long whole) {
    return whole == 0 ? null : part / whole;
  }

  private static Double number(double value) {
    return Double.isNaN(value) ? null : value;
  }
}
