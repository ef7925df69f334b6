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

  /**
   * The 95% Wilson score interval of a proportion, {@code {low, high}}: right also near 0 and 1,
   * where the normal approximation leaves [0, 1].
   */
  public static double[] wilsonInterval(int successes, int trials) {
    if (trials <= 0 || successes < 0 || successes > trials) {
      throw new IllegalArgumentException(
          "expected 0 <= successes <= trials and trials > 0, found " + successes + " of " + trials);
    }
    double z = 1.959964;
    double p = (double) successes / trials;
    double denominator = 1 + z * z / trials;
    double centre = (p + z * z / (2.0 * trials)) / denominator;
    double half =
        z * Math.sqrt(p * (1 - p) / trials + z * z / (4.0 * trials * trials)) / denominator;
    return new double[] {Math.max(0, centre - half), Math.min(1, centre + half)};
  }

  /** Median of {@code values} (mean of the middle two for an even count); the input is not modified. */
  public static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
}
