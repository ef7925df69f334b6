package io.fewshotstreams.bench;

import java.util.Arrays;

/** Order statistics of measured values (nearest rank), since the machines are noisy. */
public final class Percentiles {
  private Percentiles() {}

  /** The median: the middle value, or the mean of the two middle ones. */
  public static double median(double[] values) {
    double[] sorted = sorted(values);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /**
   * The nearest-rank percentile: the smallest value with at least {@code p} percent of the values
   * at or below it.
   *
   * @param p in (0, 100]
   */
  public static double percentile(double[] values, double p) {
    if (!(p > 0 && p <= 100)) {
      throw new IllegalArgumentException("expected a percentile in (0, 100], found " + p);
    }
    double[] sorted = sorted(values);
    int rank = (int) Math.ceil(p / 100 * sorted.length);
    return sorted[Math.max(rank, 1) - 1];
  }

  private static double[] sorted(double[] values) {
    if (values == null || values.length == 0) {
      throw new IllegalArgumentException("expected at least one value, found none");
    }
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted;
  }
}
