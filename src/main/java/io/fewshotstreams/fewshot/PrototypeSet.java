package io.fewshotstreams.fewshot;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-class running sums of transformed (unit) embeddings, so adding or removing an example and
 * deleting a class each cost O(d). The prototype of a class is {@code normalize(sum)}, which equals
 * {@code normalize(mean)}. Sums are kept in double so that long sequences of adds and removes stay
 * equal to a recomputation from scratch within float precision.
 *
 * <p>Classes keep the order in which they were first added. A class whose last example is removed
 * disappears. Not thread-safe: one owner mutates it.
 */
public final class PrototypeSet {
  private final Map<String, double[]> sums = new LinkedHashMap<>();
  private final Map<String, Integer> counts = new LinkedHashMap<>();
  private int dimension;

  /** An empty set whose dimension is fixed by the first example added. */
  public PrototypeSet() {
    this.dimension = -1;
  }

  /** An empty set for features of the given dimension. */
  public PrototypeSet(int dimension) {
    if (dimension < 1) {
      throw new InvalidInputException("expected a dimension >= 1, found " + dimension);
    }
    this.dimension = dimension;
  }

  /** A set holding every example of {@code support}, classes in the support set's label order. */
  public static PrototypeSet of(SupportSet support) {
    PrototypeSet set = new PrototypeSet(support.dimension());
    for (String label : support.labels()) {
      set.sums.put(label, new double[support.dimension()]);
      set.counts.put(label, 0);
    }
    float[][] features = support.featuresView();
    int[] classIndex = support.classIndexView();
    for (int i = 0; i < features.length; i++) {
      set.add(support.labels().get(classIndex[i]), features[i]);
    }
    return set;
  }

  /**
   * Adds one transformed example to its class, creating the class if it is new.
   *
   * @throws InvalidInputException on a blank label or a vector of the wrong dimension or not finite
   */
  public void add(String label, float[] transformed) {
    checkLabel(label);
    checkFeature(transformed);
    double[] sum = sums.computeIfAbsent(label, l -> new double[dimension]);
    for (int k = 0; k < dimension; k++) {
      sum[k] += transformed[k];
    }
    counts.merge(label, 1, Integer::sum);
  }

  /**
   * Removes one example previously added to {@code label}; the caller passes the same transformed
   * vector it added. Removing the last example of a class deletes the class.
   *
   * @throws InvalidInputException if the class is unknown or the vector is invalid
   */
  public void remove(String label, float[] transformed) {
    checkLabel(label);
    double[] sum = sums.get(label);
    if (sum == null) {
      throw new InvalidInputException(
          "expected an existing class to remove an example from, found no class '" + label + "'");
    }
    checkFeature(transformed);
    int count = counts.get(label) - 1;
    if (count == 0) {
      deleteClass(label);
      return;
    }
    for (int k = 0; k < dimension; k++) {
      sum[k] -= transformed[k];
    }
    counts.put(label, count);
  }

  /**
   * Deletes a class and all its examples.
   *
   * @return whether the class existed
   */
  public boolean deleteClass(String label) {
    counts.remove(label);
    return sums.remove(label) != null;
  }

  /** Number of examples per class, in class order; an unmodifiable copy. */
  public Map<String, Integer> counts() {
    return Collections.unmodifiableMap(new LinkedHashMap<>(counts));
  }

  /** Number of examples of {@code label}, 0 if the class is unknown. */
  public int count(String label) {
    return counts.getOrDefault(label, 0);
  }

  /** The running sum of {@code label}, a copy, or {@code null} if the class is unknown. */
  public double[] sum(String label) {
    double[] sum = sums.get(label);
    return sum == null ? null : sum.clone();
  }

  /** Class labels in class order. */
  public List<String> labels() {
    return List.copyOf(new ArrayList<>(sums.keySet()));
  }

  public int numClasses() {
    return sums.size();
  }

  public boolean isEmpty() {
    return sums.isEmpty();
  }

  /** The feature dimension, or -1 while it is not yet fixed. */
  public int dimension() {
    return dimension;
  }

  /** The prototype of one class, {@code normalize(sum)}, as a new array. */
  public float[] prototype(String label) {
    double[] sum = sums.get(label);
    if (sum == null) {
      throw new InvalidInputException("expected a known class, found no class '" + label + "'");
    }
    return normalizeSum(sum, label);
  }

  /**
   * The prototype classifier {@code softmax(s * cos(M, q))} over the current classes, bias zero.
   *
   * @throws InvalidInputException if there are no classes or a class's examples cancel out
   */
  public CosineClassifier toClassifier(float scale) {
    if (sums.isEmpty()) {
      throw new InvalidInputException("expected at least one class to build a classifier, found none");
    }
    List<String> labels = new ArrayList<>(sums.keySet());
    float[][] prototypes = new float[labels.size()][];
    for (int c = 0; c < prototypes.length; c++) {
      prototypes[c] = normalizeSum(sums.get(labels.get(c)), labels.get(c));
    }
    return CosineClassifier.ofPrototypes(labels, prototypes, scale);
  }

  static float[] normalizeSum(double[] sum, String label) {
    double squares = 0;
    for (double v : sum) {
      squares += v * v;
    }
    if (!(squares > 0)) {
      throw new InvalidInputException(
          "expected the examples of '" + label + "' to have a non-zero mean, found a zero mean");
    }
    double inv = 1.0 / Math.sqrt(squares);
    float[] out = new float[sum.length];
    for (int k = 0; k < sum.length; k++) {
      out[k] = (float) (sum[k] * inv);
    }
    return out;
  }

  private static void checkLabel(String label) {
    if (label == null || label.isBlank()) {
      throw new InvalidInputException("expected a non-blank class label, found '" + label + "'");
    }
  }

  private void checkFeature(float[] transformed) {
    if (transformed == null) {
      throw new InvalidInputException("expected a feature vector, found null");
    }
    if (dimension < 0) {
      if (transformed.length == 0) {
        throw new InvalidInputException("expected a feature of dimension >= 1, found dimension 0");
      }
      dimension = transformed.length;
    }
    Vectors.checkVector(transformed, dimension, "feature");
  }
}
