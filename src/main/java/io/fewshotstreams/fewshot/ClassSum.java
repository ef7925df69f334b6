package io.fewshotstreams.fewshot;

import java.util.Arrays;

/**
 * The running sum of one class's unit feature vectors and their count, immutable: {@link #plus}
 * and {@link #minus} return a new sum, so adding or removing an example costs O(d). The prototype
 * is {@code normalize(sum)}, which equals {@code normalize(mean)}. Sums are kept in double so that
 * long sequences of adds and removes stay equal to a recomputation from scratch within float
 * precision.
 *
 * <p>The one prototype formula of the project: the learner keeps one per class in its store,
 * {@link PrototypeSet} one per class in memory, and {@link SupportSet#prototypes()} normalises its
 * sums the same way.
 */
public final class ClassSum {
  private final int count;
  private final double[] sum;

  private ClassSum(int count, double[] sum) {
    this.count = count;
    this.sum = sum;
  }

  /** No examples yet, for features of {@code dimension} components. */
  public static ClassSum empty(int dimension) {
    if (dimension < 1) {
      throw new InvalidInputException("expected a dimension >= 1, found " + dimension);
    }
    return new ClassSum(0, new double[dimension]);
  }

  /**
   * A sum as it was stored: {@code count} examples summing to {@code sum} (copied).
   *
   * @throws InvalidInputException on a negative count, an empty or non-finite sum
   */
  public static ClassSum of(int count, double[] sum) {
    if (count < 0) {
      throw new InvalidInputException("expected an example count >= 0, found " + count);
    }
    if (sum == null || sum.length == 0) {
      throw new InvalidInputException(
          "expected a sum of dimension >= 1, found " + (sum == null ? "null" : "dimension 0"));
    }
    for (int k = 0; k < sum.length; k++) {
      if (!Double.isFinite(sum[k])) {
        throw new InvalidInputException(
            "expected a finite sum, found " + sum[k] + " at component " + k);
      }
    }
    return new ClassSum(count, sum.clone());
  }

  /**
   * This sum with one more example.
   *
   * @throws InvalidInputException if {@code feature} has another dimension or is not finite
   */
  public ClassSum plus(float[] feature) {
    Vectors.checkVector(feature, sum.length, "feature");
    double[] next = sum.clone();
    for (int k = 0; k < next.length; k++) {
      next[k] += feature[k];
    }
    return new ClassSum(count + 1, next);
  }

  /**
   * This sum without one example previously added; the caller passes the vector it added.
   *
   * @throws InvalidInputException if the sum holds no example, or on an invalid vector
   */
  public ClassSum minus(float[] feature) {
    if (count == 0) {
      throw new InvalidInputException("expected a class sum with examples to remove, found none");
    }
    Vectors.checkVector(feature, sum.length, "feature");
    double[] next = sum.clone();
    for (int k = 0; k < next.length; k++) {
      next[k] -= feature[k];
    }
    return new ClassSum(count - 1, next);
  }

  /** Number of examples summed. */
  public int count() {
    return count;
  }

  /** Feature dimension. */
  public int dimension() {
    return sum.length;
  }

  /** The sum, a copy. */
  public double[] sum() {
    return sum.clone();
  }

  /** Component {@code k} of the sum, without copying it. */
  public double sum(int k) {
    return sum[k];
  }

  /** Whether the sum has a direction: examples that cancel out exactly leave it zero. */
  public boolean hasDirection() {
    return unit(sum) != null;
  }

  /**
   * The prototype {@code normalize(sum)}, as a new array.
   *
   * @throws InvalidInputException if the sum is zero (no examples, or examples that cancel out)
   */
  public float[] prototype() {
    float[] out = unit(sum);
    if (out == null) {
      throw new InvalidInputException(
          "expected examples with a non-zero mean, found a zero sum of " + count + " examples");
    }
    return out;
  }

  /** {@code normalize(sum)} computed in double and rounded once to float, or null for zero. */
  static float[] unit(double[] sum) {
    double squares = 0;
    for (double v : sum) {
      squares += v * v;
    }
    if (!(squares > 0)) {
      return null;
    }
    double inv = 1.0 / Math.sqrt(squares);
    float[] out = new float[sum.length];
    for (int k = 0; k < sum.length; k++) {
      out[k] = (float) (sum[k] * inv);
    }
    return out;
  }

  /** The prototype of a class named {@code label}, for error messages that name it. */
  static float[] prototype(double[] sum, String label) {
    float[] out = unit(sum);
    if (out == null) {
      throw new InvalidInputException(
          "expected the examples of '" + label + "' to have a non-zero mean, found a zero mean");
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ClassSum other && count == other.count && Arrays.equals(sum, other.sum);
  }

  @Override
  public int hashCode() {
    return 31 * count + Arrays.hashCode(sum);
  }

  @Override
  public String toString() {
    return "ClassSum[count=" + count + ", dimension=" + sum.length + "]";
  }
}
