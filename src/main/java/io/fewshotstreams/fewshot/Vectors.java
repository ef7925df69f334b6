package io.fewshotstreams.fewshot;

/** Static helpers on {@code float[]} vectors. None of them modifies its arguments. */
public final class Vectors {
  private Vectors() {}

  /**
   * Dot product of two vectors of the same length.
   *
   * @throws InvalidInputException if the lengths differ
   */
  public static float dot(float[] a, float[] b) {
    checkSameLength(a, b);
    return dotUnchecked(a, 0, b, 0, a.length);
  }

  /** Euclidean norm, accumulated in double so long vectors do not lose precision. */
  public static float norm(float[] v) {
    double sum = 0;
    for (float x : v) {
      sum += (double) x * x;
    }
    return (float) Math.sqrt(sum);
  }

  /**
   * Returns a new unit vector with the direction of {@code v}.
   *
   * @throws InvalidInputException if {@code v} is zero or not finite, since it has no direction
   */
  public static float[] normalize(float[] v) {
    checkFinite(v, "vector");
    double sum = 0;
    for (float x : v) {
      sum += (double) x * x;
    }
    if (sum == 0) {
      throw new InvalidInputException(
          "expected a non-zero vector to normalise, found all " + v.length + " components zero");
    }
    double inv = 1.0 / Math.sqrt(sum);
    float[] out = new float[v.length];
    for (int i = 0; i < v.length; i++) {
      out[i] = (float) (v[i] * inv);
    }
    return out;
  }

  /**
   * Checks that every component is finite.
   *
   * @param what names the vector in the error message, e.g. "embedding of support example 3"
   * @throws InvalidInputException naming the first NaN or infinite component
   */
  public static void checkFinite(float[] v, String what) {
    if (v == null) {
      throw new InvalidInputException("expected " + what + " to be a vector, found null");
    }
    for (int i = 0; i < v.length; i++) {
      if (!Float.isFinite(v[i])) {
        throw new InvalidInputException(
            "expected finite values in " + what + ", found " + v[i] + " at index " + i);
      }
    }
  }

  /**
   * Checks that {@code v} is a finite vector of the given dimension.
   *
   * @throws InvalidInputException if it is null, has another length or holds NaN or infinity
   */
  public static void checkVector(float[] v, int dimension, String what) {
    if (v == null) {
      throw new InvalidInputException("expected " + what + " to be a vector, found null");
    }
    if (v.length != dimension) {
      throw new InvalidInputException(
          "expected " + what + " of dimension " + dimension + ", found dimension " + v.length);
    }
    checkFinite(v, what);
  }

  /** Dot product over a slice; four accumulators let the JIT overlap the multiply-adds. */
  static float dotUnchecked(float[] a, int aOffset, float[] b, int bOffset, int length) {
    float s0 = 0;
    float s1 = 0;
    float s2 = 0;
    float s3 = 0;
    int i = 0;
    for (; i + 3 < length; i += 4) {
      s0 += a[aOffset + i] * b[bOffset + i];
      s1 += a[aOffset + i + 1] * b[bOffset + i + 1];
      s2 += a[aOffset + i + 2] * b[bOffset + i + 2];
      s3 += a[aOffset + i + 3] * b[bOffset + i + 3];
    }
    for (; i < length; i++) {
      s0 += a[aOffset + i] * b[bOffset + i];
    }
    return (s0 + s1) + (s2 + s3);
  }

  private static void checkSameLength(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new InvalidInputException(
          "expected vectors of the same dimension, found " + a.length + " and " + b.length);
    }
  }
}
