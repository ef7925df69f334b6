package io.fewshotstreams.fewshot;

import java.util.Arrays;

/**
 * Optional centring then L2 normalisation, applied to every raw embedding before any method sees
 * it. Centring subtracts a fixed vector (typically the mean embedding of the base classes), which
 * removes the direction all features share so that cosine similarity compares what differs.
 *
 * @param centre the vector to subtract, or {@code null} for no centring
 */
public record FeatureTransform(float[] centre) {

  /** Validates the centre and keeps a private copy of it. */
  public FeatureTransform {
    if (centre != null) {
      if (centre.length == 0) {
        throw new InvalidInputException("expected a centre of dimension >= 1, found dimension 0");
      }
      Vectors.checkFinite(centre, "centre");
      centre = centre.clone();
    }
  }

  /** Normalisation only. */
  public static FeatureTransform none() {
    return new FeatureTransform(null);
  }

  /** Subtracts {@code centre}, then normalises. */
  public static FeatureTransform centring(float[] centre) {
    if (centre == null) {
      throw new InvalidInputException("expected a centre vector, found null");
    }
    return new FeatureTransform(centre);
  }

  /** The centre, or {@code null}; a copy, so the transform stays immutable. */
  @Override
  public float[] centre() {
    return centre == null ? null : centre.clone();
  }

  /** Whether a centre is subtracted. */
  public boolean centres() {
    return centre != null;
  }

  /**
   * Returns a new unit vector: {@code normalize(raw - centre)}.
   *
   * @throws InvalidInputException if {@code raw} has the wrong dimension, holds NaN or infinity,
   *     or equals the centre (nothing is left to normalise)
   */
  public float[] apply(float[] raw) {
    if (centre == null) {
      Vectors.checkFinite(raw, "embedding");
      return Vectors.normalize(raw);
    }
    Vectors.checkVector(raw, centre.length, "embedding");
    float[] shifted = new float[raw.length];
    for (int i = 0; i < raw.length; i++) {
      shifted[i] = raw[i] - centre[i];
    }
    return Vectors.normalize(shifted);
  }

  /** Applies {@link #apply} to every row; the rows must share one dimension. */
  public float[][] applyAll(float[][] raw) {
    if (raw == null) {
      throw new InvalidInputException("expected an array of embeddings, found null");
    }
    float[][] out = new float[raw.length][];
    for (int i = 0; i < raw.length; i++) {
      if (raw[i] == null) {
        throw new InvalidInputException("expected embedding " + i + " to be a vector, found null");
      }
      if (i > 0 && raw[i].length != raw[0].length) {
        throw new InvalidInputException(
            "expected every embedding to have dimension "
                + raw[0].length
                + ", found dimension "
                + raw[i].length
                + " at row "
                + i);
      }
      out[i] = apply(raw[i]);
    }
    return out;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FeatureTransform other && Arrays.equals(centre, other.centre);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(centre);
  }

  @Override
  public String toString() {
    return centre == null
        ? "FeatureTransform[normalise]"
        : "FeatureTransform[centre dimension " + centre.length + ", normalise]";
  }
}
