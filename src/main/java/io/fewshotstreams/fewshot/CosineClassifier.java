package io.fewshotstreams.fewshot;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Immutable cosine-softmax classifier {@code p = softmax(s * cos(W_c, x) + b_c)}.
 *
 * <p>Only the direction of each weight row matters, so the rows are stored normalised to unit
 * length; {@link #weights()} returns those unit rows. Features are expected to be already
 * transformed by a {@link FeatureTransform}; they are normalised again here, so the score is a
 * true cosine whatever their length.
 *
 * @param labels class labels, unique and non-empty, in the order of the weight rows
 * @param weights one row per class, all of one dimension, finite and non-zero
 * @param bias one finite value per class
 * @param scale the temperature {@code s}, finite and positive
 */
public record CosineClassifier(List<String> labels, float[][] weights, float[] bias, float scale) {

  /** Validates the shapes and values, and keeps private normalised copies of the arrays. */
  public CosineClassifier {
    labels = checkLabels(labels);
    int classes = labels.size();
    if (weights == null || weights.length != classes) {
      throw new InvalidInputException(
          "expected "
              + classes
              + " weight rows (one per label), found "
              + (weights == null ? "null" : weights.length));
    }
    if (weights[0] == null || weights[0].length == 0) {
      throw new InvalidInputException("expected weight rows of dimension >= 1, found an empty row");
    }
    int dimension = weights[0].length;
    float[][] rows = new float[classes][];
    for (int c = 0; c < classes; c++) {
      Vectors.checkVector(weights[c], dimension, "weight row " + c + " (" + labels.get(c) + ")");
      rows[c] = Vectors.normalize(weights[c]);
    }
    weights = rows;
    if (bias == null || bias.length != classes) {
      throw new InvalidInputException(
          "expected "
              + classes
              + " bias values (one per label), found "
              + (bias == null ? "null" : bias.length));
    }
    Vectors.checkFinite(bias, "bias");
    bias = bias.clone();
    if (!(scale > 0) || !Float.isFinite(scale)) {
      throw new InvalidInputException("expected a finite scale > 0, found " + scale);
    }
  }

  /** A classifier with zero bias: plain cosine similarity to each row, e.g. to prototypes. */
  public static CosineClassifier ofPrototypes(List<String> labels, float[][] prototypes, float scale) {
    return new CosineClassifier(labels, prototypes, new float[labels.size()], scale);
  }

  /** The unit weight rows; a copy. */
  @Override
  public float[][] weights() {
    float[][] copy = new float[weights.length][];
    for (int c = 0; c < weights.length; c++) {
      copy[c] = weights[c].clone();
    }
    return copy;
  }

  /** The bias; a copy. */
  @Override
  public float[] bias() {
    return bias.clone();
  }

  public int numClasses() {
    return weights.length;
  }

  public int dimension() {
    return weights[0].length;
  }

  /**
   * Class probabilities in label order, as a new array.
   *
   * @throws InvalidInputException if the feature has the wrong dimension, is not finite or is zero
   */
  public float[] probabilities(float[] feature) {
    float[] z = logits(feature);
    float max = Float.NEGATIVE_INFINITY;
    for (float v : z) {
      max = Math.max(max, v);
    }
    double sum = 0;
    for (int c = 0; c < z.length; c++) {
      double e = Math.exp(z[c] - max);
      z[c] = (float) e;
      sum += e;
    }
    for (int c = 0; c < z.length; c++) {
      z[c] = (float) (z[c] / sum);
    }
    return z;
  }

  /** Index of the most probable class (the lowest index on a tie). */
  public int predict(float[] feature) {
    float[] z = logits(feature);
    int best = 0;
    for (int c = 1; c < z.length; c++) {
      if (z[c] > z[best]) {
        best = c;
      }
    }
    return best;
  }

  /** Label of the most probable class. */
  public String predictLabel(float[] feature) {
    return labels.get(predict(feature));
  }

  /** Scores {@code s * cos(W_c, x) + b_c} before the softmax, as a new array. */
  public float[] logits(float[] feature) {
    Vectors.checkVector(feature, dimension(), "feature");
    float norm = Vectors.norm(feature);
    if (norm == 0) {
      throw new InvalidInputException("expected a non-zero feature, found a zero vector");
    }
    float factor = scale / norm;
    float[] z = new float[weights.length];
    for (int c = 0; c < weights.length; c++) {
      z[c] = factor * Vectors.dotUnchecked(weights[c], 0, feature, 0, feature.length) + bias[c];
    }
    return z;
  }

  /** Unit weight rows without copying, for callers in this package that only read them. */
  float[][] weightsView() {
    return weights;
  }

  float[] biasView() {
    return bias;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CosineClassifier other
        && labels.equals(other.labels)
        && Arrays.deepEquals(weights, other.weights)
        && Arrays.equals(bias, other.bias)
        && Float.compare(scale, other.scale) == 0;
  }

  @Override
  public int hashCode() {
    return 31 * (31 * (31 * labels.hashCode() + Arrays.deepHashCode(weights)) + Arrays.hashCode(bias))
        + Float.hashCode(scale);
  }

  @Override
  public String toString() {
    return "CosineClassifier[labels="
        + labels
        + ", dimension="
        + dimension()
        + ", bias="
        + Arrays.toString(bias)
        + ", scale="
        + scale
        + "]";
  }

  static List<String> checkLabels(List<String> labels) {
    if (labels == null || labels.isEmpty()) {
      throw new InvalidInputException("expected at least one class label, found none");
    }
    Set<String> seen = new HashSet<>();
    for (String label : labels) {
      if (label == null || label.isBlank()) {
        throw new InvalidInputException("expected non-blank class labels, found '" + label + "'");
      }
      if (!seen.add(label)) {
        throw new InvalidInputException("expected unique class labels, found '" + label + "' twice");
      }
    }
    return List.copyOf(labels);
  }
}
