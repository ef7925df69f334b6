package io.fewshotstreams.fewshot;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The few-shot support set of one episode or task, features already transformed.
 *
 * @param labels the class labels, unique, in class-index order
 * @param features one row per example, all of one dimension, finite
 * @param classIndex for each example, the index of its class in {@code labels}; every class has at
 *     least one example, since a class without examples has no prototype
 */
public record SupportSet(List<String> labels, float[][] features, int[] classIndex) {

  /** Validates the shapes and values, and keeps private copies of the arrays. */
  public SupportSet {
    labels = CosineClassifier.checkLabels(labels);
    if (features == null || features.length == 0) {
      throw new InvalidInputException("expected at least one support example, found none");
    }
    if (classIndex == null || classIndex.length != features.length) {
      throw new InvalidInputException(
          "expected one class index per support example ("
              + features.length
              + "), found "
              + (classIndex == null ? "null" : classIndex.length));
    }
    if (features[0] == null || features[0].length == 0) {
      throw new InvalidInputException("expected features of dimension >= 1, found an empty row");
    }
    int dimension = features[0].length;
    float[][] rows = new float[features.length][];
    int[] counts = new int[labels.size()];
    for (int i = 0; i < features.length; i++) {
      Vectors.checkVector(features[i], dimension, "support feature " + i);
      rows[i] = features[i].clone();
      if (classIndex[i] < 0 || classIndex[i] >= labels.size()) {
        throw new InvalidInputException(
            "expected class indices in [0, "
                + labels.size()
                + "), found "
                + classIndex[i]
                + " for support example "
                + i);
      }
      counts[classIndex[i]]++;
    }
    for (int c = 0; c < counts.length; c++) {
      if (counts[c] == 0) {
        throw new InvalidInputException(
            "expected at least one support example per class, found none for '"
                + labels.get(c)
                + "'");
      }
    }
    features = rows;
    classIndex = classIndex.clone();
  }

  /**
   * Builds a support set from one label per example; classes are numbered in order of first
   * appearance.
   */
  public static SupportSet of(List<String> exampleLabels, float[][] features) {
    if (exampleLabels == null || features == null || exampleLabels.size() != features.length) {
      throw new InvalidInputException(
          "expected one label per support example ("
              + (features == null ? "null" : features.length)
              + "), found "
              + (exampleLabels == null ? "null" : exampleLabels.size()));
    }
    Map<String, Integer> index = new LinkedHashMap<>();
    int[] classIndex = new int[exampleLabels.size()];
    for (int i = 0; i < classIndex.length; i++) {
      String label = exampleLabels.get(i);
      if (label == null || label.isBlank()) {
        throw new InvalidInputException(
            "expected a non-blank label for support example " + i + ", found '" + label + "'");
      }
      classIndex[i] = index.computeIfAbsent(label, l -> index.size());
    }
    return new SupportSet(new ArrayList<>(index.keySet()), features, classIndex);
  }

  /** The feature rows; a copy. */
  @Override
  public float[][] features() {
    float[][] copy = new float[features.length][];
    for (int i = 0; i < features.length; i++) {
      copy[i] = features[i].clone();
    }
    return copy;
  }

  /** The class index of each example; a copy. */
  @Override
  public int[] classIndex() {
    return classIndex.clone();
  }

  public int numClasses() {
    return labels.size();
  }

  public int size() {
    return features.length;
  }

  public int dimension() {
    return features[0].length;
  }

  /** Number of examples of each class, in label order. */
  public int[] counts() {
    int[] counts = new int[labels.size()];
    for (int c : classIndex) {
      counts[c]++;
    }
    return counts;
  }

  /** Fewest examples any class has: the "shots" of the episode. */
  public int minShots() {
    int min = Integer.MAX_VALUE;
    for (int count : counts()) {
      min = Math.min(min, count);
    }
    return min;
  }

  /**
   * Prototypes {@code mu_c = normalize(mean_i x_i)} in label order. The features are unit vectors
   * already, so this is the method's {@code normalize(mean_i normalize(f(x_i)))}.
   *
   * @throws InvalidInputException if the examples of a class cancel out exactly
   */
  public float[][] prototypes() {
    int d = dimension();
    double[][] sums = new double[labels.size()][d];
    for (int i = 0; i < features.length; i++) {
      double[] sum = sums[classIndex[i]];
      float[] x = features[i];
      for (int k = 0; k < d; k++) {
        sum[k] += x[k];
      }
    }
    float[][] out = new float[labels.size()][];
    for (int c = 0; c < out.length; c++) {
      out[c] = ClassSum.prototype(sums[c], labels.get(c));
    }
    return out;
  }

  float[][] featuresView() {
    return features;
  }

  int[] classIndexView() {
    return classIndex;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SupportSet other
        && labels.equals(other.labels)
        && Arrays.deepEquals(features, other.features)
        && Arrays.equals(classIndex, other.classIndex);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * labels.hashCode() + Arrays.deepHashCode(features))
        + Arrays.hashCode(classIndex);
  }

  @Override
  public String toString() {
    return "SupportSet[labels=" + labels + ", examples=" + features.length + ", dimension="
        + dimension() + "]";
  }
}
