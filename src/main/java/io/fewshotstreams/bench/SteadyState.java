package io.fewshotstreams.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Decides when a throughput run has warmed up: the rates of successive fixed-length windows have
 * stopped rising. The first window is never counted, since it holds the ramp from an idle start.
 * Settled means the last {@code windows} rates lie within {@code tolerance} of each other (largest
 * at most {@code 1 + tolerance} times the smallest), so one noisy window cannot end the warm-up
 * while the rate still climbs.
 */
public final class SteadyState {
  private final double tolerance;
  private final int windows;
  private final List<Double> rates = new ArrayList<>();

  /**
   * @param tolerance largest relative spread of the compared windows, in (0, 1)
   * @param windows how many successive windows must agree, at least 2
   */
  public SteadyState(double tolerance, int windows) {
    if (!(tolerance > 0 && tolerance < 1)) {
      throw new IllegalArgumentException("expected a tolerance in (0, 1), found " + tolerance);
    }
    if (windows < 2) {
      throw new IllegalArgumentException("expected at least 2 windows to compare, found " + windows);
    }
    this.tolerance = tolerance;
    this.windows = windows;
  }

  /** Records the next window's rate; returns whether the run has now settled. */
  public boolean add(double rate) {
    if (!(rate >= 0) || Double.isInfinite(rate)) {
      throw new IllegalArgumentException("expected a finite rate >= 0, found " + rate);
    }
    rates.add(rate);
    return settled();
  }

  /** Whether the last {@code windows} rates, the first window excluded, agree within tolerance. */
  public boolean settled() {
    if (rates.size() - 1 < windows) {
      return false;
    }
    double min = Double.POSITIVE_INFINITY;
    double max = 0;
    for (double r : rates.subList(rates.size() - windows, rates.size())) {
      min = Math.min(min, r);
      max = Math.max(max, r);
    }
    return min > 0 && max <= (1 + tolerance) * min;
  }

  /** The window rates recorded so far, oldest first. */
  public List<Double> rates() {
    return List.copyOf(rates);
  }

  /** One line: the rates and whether, and by which rule, the run settled. */
  public String describe() {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < rates.size(); i++) {
      s.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.0f", rates.get(i)));
    }
    String rule =
        String.format(
            Locale.ROOT, "the last %d windows (the first one never counts) within %.0f%%",
            windows, 100 * tolerance);
    return "window rates/s " + s + (settled() ? "; settled: " : "; not settled: expected ") + rule;
  }
}
