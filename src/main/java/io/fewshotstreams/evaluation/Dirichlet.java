package io.fewshotstreams.evaluation;

import java.util.Random;

/**
 * Class proportions drawn from a symmetric Dirichlet and turned into query counts, the imbalanced
 * pools of Veilleux et al., "Realistic evaluation of transductive few-shot inference" (NeurIPS
 * 2021).
 */
public final class Dirichlet {
  private Dirichlet() {}

  /**
   * One draw of {@code classes} proportions from a symmetric Dirichlet(alpha): independent
   * Gamma(alpha, 1) variables divided by their sum.
   */
  public static double[] proportions(int classes, double alpha, Random random) {
    if (classes < 1 || !(alpha > 0) || Double.isInfinite(alpha)) {
      throw new IllegalArgumentException(
          "expected classes >= 1 and a finite alpha > 0, found classes=" + classes + " alpha="
              + alpha);
    }
    double[] p = new double[classes];
    double sum = 0;
    for (int c = 0; c < classes; c++) {
      p[c] = gamma(alpha, random);
      sum += p[c];
    }
    if (!(sum > 0)) {
      // Every draw underflowed (alpha far below 1): all mass on one class is the limit.
      p[random.nextInt(classes)] = 1;
      return p;
    }
    for (int c = 0; c < classes; c++) {
      p[c] /= sum;
    }
    return p;
  }

  /**
   * Splits {@code total} queries by the proportions with at least one per class: each class gets
   * one, the other {@code total - classes} are shared by largest remainders (ties to the lower
   * index), so the counts sum to {@code total} exactly.
   */
  public static int[] counts(double[] proportions, int total) {
    int classes = proportions.length;
    if (classes < 1 || total < classes) {
      throw new IllegalArgumentException(
          "expected at least one query per class, found total " + total + " for " + classes
              + " classes");
    }
    int rest = total - classes;
    int[] counts = new int[classes];
    double[] remainder = new double[classes];
    int given = 0;
    for (int c = 0; c < classes; c++) {
      double share = proportions[c] * rest;
      int whole = (int) Math.floor(share);
      counts[c] = 1 + whole;
      remainder[c] = share - whole;
      given += whole;
    }
    for (int left = rest - given; left > 0; left--) {
      int best = 0;
      for (int c = 1; c < classes; c++) {
        if (remainder[c] > remainder[best]) {
          best = c;
        }
      }
      counts[best]++;
      remainder[best] = -1;
    }
    return counts;
  }

  /** Gamma(alpha, 1) by Marsaglia and Tsang (2000); alpha < 1 via the boost U^(1/alpha). */
  static double gamma(double alpha, Random random) {
    if (alpha < 1) {
      return gamma(alpha + 1, random) * Math.pow(random.nextDouble(), 1 / alpha);
    }
    double d = alpha - 1.0 / 3;
    double c = 1 / Math.sqrt(9 * d);
    while (true) {
      double x = random.nextGaussian();
      double v = 1 + c * x;
      if (v <= 0) {
        continue;
      }
      v = v * v * v;
      double u = random.nextDouble();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) {
        return d * v;
      }
    }
  }
}
