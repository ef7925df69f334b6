package io.fewshotstreams.evaluation;

/**
 * A mean over episodes with the half-width of its 95% confidence interval (1.96 standard errors);
 * both NaN when the quantity does not apply (e.g. AUROC without open-set images).
 */
public record Interval(double mean, double ci95) {
  /** Not applicable. */
  public static final Interval NONE = new Interval(Double.NaN, Double.NaN);

  /** Mean and interval of the finite values; {@link #NONE} if there are none. */
  public static Interval of(double[] values) {
    int n = 0;
    double sum = 0;
    for (double v : values) {
      if (Double.isFinite(v)) {
        n++;
        sum += v;
      }
    }
    if (n == 0) {
      return NONE;
    }
    double mean = sum / n;
    double ss = 0;
    for (double v : values) {
      if (Double.isFinite(v)) {
        ss += (v - mean) * (v - mean);
      }
    }
    double sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
    return new Interval(mean, 1.96 * sd / Math.sqrt(n));
  }

  /** Mean and interval of the paired differences {@code a[e] - b[e]}. */
  public static Interval paired(double[] a, double[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException(
          "paired values need equal lengths, found " + a.length + " and " + b.length);
    }
    double[] diff = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      diff[i] = a[i] - b[i];
    }
    return of(diff);
  }

  public boolean applies() {
    return Double.isFinite(mean);
  }
}
