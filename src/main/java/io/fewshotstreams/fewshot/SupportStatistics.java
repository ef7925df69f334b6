package io.fewshotstreams.fewshot;

import java.util.Arrays;

/**
 * What the support set alone says about the scores of unseen images of its classes, by leaving
 * each support example out: its cosine to its own class prototype built from the other examples,
 * and its cosines to the other classes' prototypes. Classes with one example give nothing (leaving
 * it out leaves no prototype), so a one-shot support set has no leave-one-out scores at all.
 */
public final class SupportStatistics {
  private SupportStatistics() {}

  /**
   * Leave-one-out cosines, one row per support example whose class has at least two examples:
   * {@code row[c]} is the cosine to class {@code c}'s prototype, the example's own class built
   * without it. The last column holds the example's class index.
   */
  public static float[][] leaveOneOutCosines(SupportSet support) {
    return leaveOneOutCosines(support, Integer.MAX_VALUE);
  }

  /**
   * As {@link #leaveOneOutCosines(SupportSet)}, but at most {@code maxRows} rows, spread evenly
   * over the eligible examples (every class's prototype is still built from all its examples): the
   * work is {@code maxRows x classes x dimension}, which a caller on the stream thread bounds.
   *
   * @param maxRows most rows, >= 1
   */
  public static float[][] leaveOneOutCosines(SupportSet support, int maxRows) {
    if (maxRows < 1) {
      throw new InvalidInputException("expected maxRows >= 1, found " + maxRows);
    }
    int classes = support.numClasses();
    int d = support.dimension();
    float[][] x = support.featuresView();
    int[] y = support.classIndexView();
    int[] counts = support.counts();
    double[][] sums = new double[classes][d];
    for (int i = 0; i < x.length; i++) {
      for (int k = 0; k < d; k++) {
        sums[y[i]][k] += x[i][k];
      }
    }
    float[][] prototypes = new float[classes][];
    for (int c = 0; c < classes; c++) {
      // Examples that cancel out leave no direction: score against it as orthogonal, as below.
      float[] unit = ClassSum.unit(sums[c]);
      prototypes[c] = unit != null ? unit : new float[d];
    }
    int eligible = 0;
    for (int i = 0; i < x.length; i++) {
      if (counts[y[i]] >= 2) {
        eligible++;
      }
    }
    int rows = Math.min(eligible, maxRows);
    float[][] out = new float[rows][];
    int r = 0;
    int seen = 0;
    for (int i = 0; i < x.length && r < rows; i++) {
      int own = y[i];
      if (counts[own] < 2) {
        continue;
      }
      // Eligible example number seen is taken when it starts a new stride of eligible / rows.
      if ((long) seen++ * rows / eligible != (long) r) {
        continue;
      }
      float[] row = new float[classes + 1];
      for (int c = 0; c < classes; c++) {
        if (c != own) {
          row[c] = Vectors.dotUnchecked(prototypes[c], 0, x[i], 0, d);
        }
      }
      row[own] = ownCosine(sums[own], x[i]);
      row[classes] = own;
      out[r++] = row;
    }
    return out;
  }

  /**
   * The own-class column of {@link #leaveOneOutCosines} alone, in the same row order: each
   * example's cosine to its class's prototype built without it. It costs one pass over the
   * features, not one per class, so the learner can afford it on the stream thread at every support
   * change of a task with many classes.
   */
  public static float[] ownClassCosines(SupportSet support) {
    int d = support.dimension();
    float[][] x = support.featuresView();
    int[] y = support.classIndexView();
    int[] counts = support.counts();
    double[][] sums = new double[support.numClasses()][d];
    for (int i = 0; i < x.length; i++) {
      for (int k = 0; k < d; k++) {
        sums[y[i]][k] += x[i][k];
      }
    }
    int rows = 0;
    for (int i = 0; i < x.length; i++) {
      if (counts[y[i]] >= 2) {
        rows++;
      }
    }
    float[] out = new float[rows];
    int r = 0;
    for (int i = 0; i < x.length; i++) {
      if (counts[y[i]] >= 2) {
        out[r++] = ownCosine(sums[y[i]], x[i]);
      }
    }
    return out;
  }

  /** The cosine of unit {@code x} to {@code normalize(sum - x)}: its class without it. */
  private static float ownCosine(double[] sum, float[] x) {
    double dot = 0;
    double squares = 0;
    for (int k = 0; k < x.length; k++) {
      double without = sum[k] - x[k];
      dot += without * x[k];
      squares += without * without;
    }
    // Examples of a class that cancel out leave no direction: score them as orthogonal.
    return squares > 0 ? (float) (dot / Math.sqrt(squares)) : 0f;
  }

  /**
   * The {@code 1 - acceptShare} quantile of {@code scores} (linear interpolation between order
   * statistics): the threshold at or above which that share of the scores lies.
   *
   * @throws InvalidInputException if there are no scores or the share is not in (0, 1]
   */
  public static float quantileThreshold(float[] scores, float acceptShare) {
    if (scores == null || scores.length == 0) {
      throw new InvalidInputException("expected at least one score, found none");
    }
    if (!(acceptShare > 0 && acceptShare <= 1)) {
      throw new InvalidInputException("expected an accept share in (0, 1], found " + acceptShare);
    }
    float[] sorted = scores.clone();
    Arrays.sort(sorted);
    double position = (1 - acceptShare) * (sorted.length - 1);
    int low = (int) Math.floor(position);
    int high = Math.min(sorted.length - 1, low + 1);
    double frac = position - low;
    return (float) (sorted[low] + frac * (sorted[high] - sorted[low]));
  }

  /**
   * The softmax temperature {@code s} that minimises the negative log-likelihood of the
   * leave-one-out cosines {@code softmax(s * row)} at each row's class, searched by golden section
   * over {@code log s} in {@code [log lo, log hi]}.
   *
   * @param cosines rows as {@link #leaveOneOutCosines} returns them, at least one
   */
  public static float fitTemperature(float[][] cosines, float lo, float hi) {
    if (cosines.length == 0) {
      throw new InvalidInputException("expected leave-one-out rows to fit a temperature, found none");
    }
    double a = Math.log(lo);
    double b = Math.log(hi);
    double ratio = (Math.sqrt(5) - 1) / 2;
    double c = b - ratio * (b - a);
    double e = a + ratio * (b - a);
    double fc = nll(cosines, Math.exp(c));
    double fe = nll(cosines, Math.exp(e));
    for (int iter = 0; iter < 40; iter++) {
      if (fc < fe) {
        b = e;
        e = c;
        fe = fc;
        c = b - ratio * (b - a);
        fc = nll(cosines, Math.exp(c));
      } else {
        a = c;
        c = e;
        fc = fe;
        e = a + ratio * (b - a);
        fe = nll(cosines, Math.exp(e));
      }
    }
    return (float) Math.exp((a + b) / 2);
  }

  /** Mean negative log-likelihood of the rows' classes under {@code softmax(scale * row)}. */
  static double nll(float[][] cosines, double scale) {
    double total = 0;
    for (float[] row : cosines) {
      int classes = row.length - 1;
      int own = (int) row[classes];
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        max = Math.max(max, scale * row[c]);
      }
      double sum = 0;
      for (int c = 0; c < classes; c++) {
        sum += Math.exp(scale * row[c] - max);
      }
      total += max + Math.log(sum) - scale * row[own];
    }
    return total / cosines.length;
  }
}
