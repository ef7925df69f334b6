package io.fewshotstreams.fewshot;

/**
 * A classifier over the registered classes that can also answer "none of these".
 *
 * <p>The open-set score of a feature is its highest cosine similarity to a class centre, {@code
 * max_c cos(mu_c, x)}: high for images of a registered class, lower for images of other classes.
 * The centres are the support prototypes, not the classifier's rows: fine-tuning moves the rows to
 * separate the classes, not to sit on their images, and a threshold read off the support set's
 * leave-one-out cosines to prototypes only holds for cosines to prototypes. A feature is accepted as a registered class when its score is at least {@code
 * threshold}; {@link #classifier()} still gives the most probable registered class either way.
 *
 * @param classifier the calibrated classifier over the registered classes
 * @param centres one unit row per class, in label order, that the open-set score measures against
 * @param threshold the lowest accepted open-set score, in [-1, 1]
 * @param acceptShare the share of registered-class images the threshold was set to accept
 * @param fit which of its fits the method chose for this support set and pool ({@code robust}'s
 *     branch: {@code transductive}, {@code joint}, {@code inductive}, ...), or empty for a method
 *     with one fit
 */
public record OpenSetClassifier(
    CosineClassifier classifier, float[][] centres, float threshold, float acceptShare,
    String fit) {

  /** A classifier of a method with one fit. */
  public OpenSetClassifier(
      CosineClassifier classifier, float[][] centres, float threshold, float acceptShare) {
    this(classifier, centres, threshold, acceptShare, "");
  }

  /**
   * Checks that the classifier is present, that there is one centre per class of its dimension,
   * and that the threshold and share are in range; keeps normalised copies of the centres.
   */
  public OpenSetClassifier {
    if (classifier == null) {
      throw new InvalidInputException("expected a classifier, found null");
    }
    if (centres == null || centres.length != classifier.numClasses()) {
      throw new InvalidInputException(
          "expected " + classifier.numClasses() + " centres (one per class), found "
              + (centres == null ? "null" : centres.length));
    }
    float[][] rows = new float[centres.length][];
    for (int c = 0; c < centres.length; c++) {
      Vectors.checkVector(centres[c], classifier.dimension(), "centre " + c);
      rows[c] = Vectors.normalize(centres[c]);
    }
    centres = rows;
    if (!(threshold >= -1 && threshold <= 1)) {
      throw new InvalidInputException("expected a threshold in [-1, 1], found " + threshold);
    }
    if (!(acceptShare > 0 && acceptShare <= 1)) {
      throw new InvalidInputException("expected an accept share in (0, 1], found " + acceptShare);
    }
    if (fit == null) {
      throw new InvalidInputException("expected a fit name (empty for none), found null");
    }
  }

  /** The unit centres; a copy. */
  @Override
  public float[][] centres() {
    float[][] copy = new float[centres.length][];
    for (int c = 0; c < centres.length; c++) {
      copy[c] = centres[c].clone();
    }
    return copy;
  }

  /**
   * The open-set score {@code max_c cos(mu_c, x)}, in [-1, 1].
   *
   * @throws InvalidInputException if the feature has the wrong dimension, is not finite or is zero
   */
  public float score(float[] feature) {
    return maxCosine(centres, feature);
  }

  /** Whether the feature is accepted as one of the registered classes. */
  public boolean accepts(float[] feature) {
    return score(feature) >= threshold;
  }

  /** Highest cosine of {@code feature} to any of the unit {@code rows}. */
  static float maxCosine(float[][] rows, float[] feature) {
    Vectors.checkVector(feature, rows[0].length, "feature");
    float norm = Vectors.norm(feature);
    if (norm == 0) {
      throw new InvalidInputException("expected a non-zero feature, found a zero vector");
    }
    float best = Float.NEGATIVE_INFINITY;
    for (float[] row : rows) {
      best = Math.max(best, Vectors.dotUnchecked(row, 0, feature, 0, feature.length));
    }
    return Math.max(-1f, Math.min(1f, best / norm));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof OpenSetClassifier other
        && classifier.equals(other.classifier)
        && java.util.Arrays.deepEquals(centres, other.centres)
        && Float.compare(threshold, other.threshold) == 0
        && Float.compare(acceptShare, other.acceptShare) == 0;
  }

  @Override
  public int hashCode() {
    return 31 * (31 * (31 * classifier.hashCode() + java.util.Arrays.deepHashCode(centres))
            + Float.hashCode(threshold))
        + Float.hashCode(acceptShare);
  }

  @Override
  public String toString() {
    return "OpenSetClassifier[" + classifier + ", threshold=" + threshold + ", acceptShare="
        + acceptShare + "]";
  }
}
