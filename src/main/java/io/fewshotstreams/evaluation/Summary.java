package io.fewshotstreams.evaluation;

import java.util.Arrays;

/**
 * Accuracy and timing of one method over a set of episodes.
 *
 * @param method method name
 * @param episodes number of episodes
 * @param meanAccuracy mean per-episode accuracy in [0, 1]
 * @param ci95 half-width of the 95% confidence interval of the mean (1.96 standard errors)
 * @param meanMillis mean time per episode (fit and classify every query), milliseconds
 * @param medianMillis median time per episode, milliseconds
 */
public record Summary(
    String method,
    int episodes,
    double meanAccuracy,
    double ci95,
    double meanMillis,
    double medianMillis) {

  /** Summarises per-episode accuracies and times. */
  public static Summary of(String method, double[] accuracies, double[] millis) {
    if (accuracies.length == 0 || accuracies.length != millis.length) {
      throw new IllegalArgumentException(
          "need one accuracy and one time per episode; found " + accuracies.length + " and "
              + millis.length);
    }
    int n = accuracies.length;
    double mean = Arrays.stream(accuracies).average().orElseThrow();
    double ss = 0;
    for (double a : accuracies) {
      ss += (a - mean) * (a - mean);
    }
    double sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
    return new Summary(
        method, n, mean, 1.96 * sd / Math.sqrt(n), Arrays.stream(millis).average().orElseThrow(),
        median(millis));
  }

  /** Median of {@code values} (mean of the middle two for an even count); the input is not modified. */
  public static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
}
