package io.fewshotstreams.evaluation;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * How one method (or one open-set baseline) did over a set of episodes.
 *
 * @param method method name, or {@code baseline:...} for an open-set baseline
 * @param episodes number of episodes
 * @param accuracy closed-set accuracy on the known-class queries
 * @param auroc AUROC of the open-set score, known-class queries as positives; {@link
 *     Interval#NONE} without open-set images
 * @param unknownRejected share of open-set images whose score is below the task's threshold;
 *     {@link Interval#NONE} without open-set images or without a threshold
 * @param knownRejected share of known-class queries wrongly below the task's threshold; {@link
 *     Interval#NONE} without a threshold (one shot for the leave-one-out baselines)
 * @param ece expected calibration error (15 bins) of the known-class queries of all episodes pooled
 * @param eceLow lower end of the 95% bootstrap interval of {@code ece}
 * @param eceHigh upper end of the 95% bootstrap interval of {@code ece}
 * @param taskGap per episode, the gap between the mean top probability and the accuracy on the
 *     known-class queries, {@code |mean confidence - accuracy|}, then mean and interval over the
 *     episodes: how far one task's probabilities are off, which the pooled ECE averages away;
 *     {@link Interval#NONE} for the baselines
 * @param meanMillis mean time per episode to fit and classify the pool, milliseconds
 * @param medianMillis median of the same
 * @param perEpisodeAccuracy the accuracy of each episode, for paired comparisons
 * @param reliability the reliability diagram behind {@code ece} (its non-empty bins); empty for
 *     the baselines
 * @param fits for a method with several fits ({@code robust}), how many episodes each fit
 *     served, by name; empty otherwise
 */
public record PoolReport(
    String method,
    int episodes,
    Interval accuracy,
    Interval auroc,
    Interval unknownRejected,
    Interval knownRejected,
    double ece,
    double eceLow,
    double eceHigh,
    Interval taskGap,
    double meanMillis,
    double medianMillis,
    double[] perEpisodeAccuracy,
    List<OpenSetMetrics.ReliabilityBin> reliability,
    Map<String, Integer> fits) {

  public PoolReport {
    perEpisodeAccuracy = perEpisodeAccuracy.clone();
    reliability = List.copyOf(reliability);
    fits = Collections.unmodifiableMap(new TreeMap<>(fits));
  }

  @Override
  public double[] perEpisodeAccuracy() {
    return perEpisodeAccuracy.clone();
  }

  /** Accuracy of this minus that of {@code other}, paired over the same episodes. */
  public Interval pairedAccuracyDifference(PoolReport other) {
    return Interval.paired(perEpisodeAccuracy, other.perEpisodeAccuracy);
  }
}
