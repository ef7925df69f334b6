package io.fewshotstreams.evaluation;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Scores of open-set recognition and calibration, plain arithmetic on arrays. */
public final class OpenSetMetrics {
  private OpenSetMetrics() {}

  /**
   * Area under the ROC curve of a score that should be higher for positives: the probability that a
   * random positive scores above a random negative, ties counting one half (the Mann-Whitney
   * statistic).
   *
   * @throws IllegalArgumentException if either set is empty
   */
  public static double auroc(double[] positives, double[] negatives) {
    if (positives.length == 0 || negatives.length == 0) {
      throw new IllegalArgumentException(
          "AUROC needs at least one positive and one negative, found " + positives.length + " and "
              + negatives.length);
    }
    double wins = 0;
    for (double p : positives) {
      for (double n : negatives) {
        if (p > n) {
          wins += 1;
        } else if (p == n) {
          wins += 0.5;
        }
      }
    }
    return wins / ((double) positives.length * negatives.length);
  }

  /**
   * The task gap, the calibration error of one task: {@code |mean confidence - accuracy|} of its
   * predictions. A
   * method whose tasks are each over- or under-confident can still have a small ECE pooled over
   * tasks; this is the error one task's user sees.
   *
   * @param confidence the probability of each predicted class, in [0, 1]
   * @param correct whether each prediction was right
   */
  public static double taskGap(double[] confidence, boolean[] correct) {
    if (confidence.length == 0 || confidence.length != correct.length) {
      throw new IllegalArgumentException(
          "expected as many confidences as outcomes, at least one, found "
              + confidence.length + " and " + correct.length);
    }
    double gap = 0;
    for (int i = 0; i < confidence.length; i++) {
      gap += confidence[i] - (correct[i] ? 1 : 0);
    }
    return Math.abs(gap / confidence.length);
  }

  /**
   * Expected calibration error with {@code bins} equal-width bins of confidence: {@code sum_b
   * (n_b / n) |accuracy_b - mean confidence_b|}. A confidence {@code c} falls in bin {@code
   * min(bins - 1, floor(c bins))}, so 1.0 is in the last bin.
   *
   * @param confidence the probability of each predicted class, in [0, 1]
   * @param correct whether each prediction was right
   */
  public static double expectedCalibrationError(double[] confidence, boolean[] correct, int bins) {
    double[][] sums = binSums(confidence, correct, bins);
    double ece = 0;
    for (int b = 0; b < bins; b++) {
      if (sums[2][b] > 0) {
        ece += Math.abs(sums[1][b] - sums[0][b]) / confidence.length;
      }
    }
    return ece;
  }

  /**
   * One bin of a reliability diagram.
   *
   * @param lower the bin's lower confidence edge
   * @param upper its upper edge (the last bin holds 1.0 too)
   * @param count predictions whose confidence falls in it
   * @param confidence their mean confidence
   * @param accuracy the share of them that were right
   */
  public record ReliabilityBin(
      double lower, double upper, int count, double confidence, double accuracy) {}

  /**
   * The reliability diagram behind {@link #expectedCalibrationError}: the same {@code bins}
   * equal-width bins, those that hold a prediction, in order of confidence. The ECE is {@code
   * sum_b (count_b / n) |accuracy_b - confidence_b|} over them.
   */
  public static List<ReliabilityBin> reliability(
      double[] confidence, boolean[] correct, int bins) {
    double[][] sums = binSums(confidence, correct, bins);
    List<ReliabilityBin> out = new ArrayList<>();
    for (int b = 0; b < bins; b++) {
      int count = (int) sums[2][b];
      if (count > 0) {
        out.add(
            new ReliabilityBin(
                b / (double) bins, (b + 1) / (double) bins, count, sums[0][b] / count,
                sums[1][b] / count));
      }
    }
    return out;
  }

  /** Per bin: the sum of the confidences, the number right, the number of predictions. */
  private static double[][] binSums(double[] confidence, boolean[] correct, int bins) {
    if (confidence.length == 0 || confidence.length != correct.length || bins < 1) {
      throw new IllegalArgumentException(
          "expected as many outcomes as confidences (at least one) and bins >= 1, found "
              + confidence.length + " confidences, " + correct.length + " outcomes, " + bins
              + " bins");
    }
    double[][] sums = new double[3][bins];
    for (int i = 0; i < confidence.length; i++) {
      double c = confidence[i];
      if (!(c >= 0 && c <= 1)) {
        throw new IllegalArgumentException("expected confidences in [0, 1], found " + c);
      }
      int b = Math.min(bins - 1, (int) Math.floor(c * bins));
      sums[0][b] += c;
      sums[1][b] += correct[i] ? 1 : 0;
      sums[2][b]++;
    }
    return sums;
  }

  /** The reliability diagram of the predictions of all episodes pooled. */
  public static List<ReliabilityBin> pooledReliability(
      double[][] confidence, boolean[][] correct, int bins) {
    return reliability(flatten(confidence), flatten(correct), bins);
  }

  /**
   * ECE of the predictions of all episodes pooled, with a 95% interval from a seeded bootstrap
   * over episodes ({@code resamples} draws, the 2.5% and 97.5% quantiles): {@code {ece, low,
   * high}}.
   *
   * @param confidence per episode, the confidence of each prediction
   * @param correct per episode, whether each prediction was right
   */
  public static double[] pooledCalibrationError(
      double[][] confidence, boolean[][] correct, int bins, int resamples, long seed) {
    double ece = expectedCalibrationError(flatten(confidence), flatten(correct), bins);
    int episodes = confidence.length;
    double[] draws = new double[resamples];
    Random random = new Random(seed);
    for (int r = 0; r < resamples; r++) {
      double[][] c = new double[episodes][];
      boolean[][] k = new boolean[episodes][];
      for (int e = 0; e < episodes; e++) {
        int pick = random.nextInt(episodes);
        c[e] = confidence[pick];
        k[e] = correct[pick];
      }
      draws[r] = expectedCalibrationError(flatten(c), flatten(k), bins);
    }
    java.util.Arrays.sort(draws);
    if (resamples == 0) {
      return new double[] {ece, Double.NaN, Double.NaN};
    }
    return new double[] {
      ece, draws[(int) Math.floor(0.025 * (resamples - 1))],
      draws[(int) Math.ceil(0.975 * (resamples - 1))]
    };
  }

  private static double[] flatten(double[][] rows) {
    int n = 0;
    for (double[] r : rows) {
      n += r.length;
    }
    double[] out = new double[n];
    int i = 0;
    for (double[] r : rows) {
      System.arraycopy(r, 0, out, i, r.length);
      i += r.length;
    }
    return out;
  }

  private static boolean[] flatten(boolean[][] rows) {
    int n = 0;
    for (boolean[] r : rows) {
      n += r.length;
    }
    boolean[] out = new boolean[n];
    int i = 0;
    for (boolean[] r : rows) {
      System.arraycopy(r, 0, out, i, r.length);
      i += r.length;
    }
    return out;
  }
}
