package io.fewshotstreams.fewshot;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@link ClassSum}s of a set of classes, in memory, for offline use: adding or removing an
 * example and deleting a class each cost O(d). The prototype of a class is its {@link
 * ClassSum#prototype()}.
 *
 * <p>Classes keep the order in which they were first added. A class whose last example is removed
 * disappears. Not thread-safe: one owner mutates it.
 */
public final class PrototypeSet {
  private final Map<String, ClassSum> sums = new LinkedHashMap<>();
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
      set.sums.put(label, ClassSum.empty(support.dimension()));
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
    ClassSum sum = sums.get(label);
    sums.put(label, (sum == null ? ClassSum.empty(dimension) : sum).plus(transformed));
  }

  /**
   * Removes one example previously added to {@code label}; the caller passes the same transformed
   * vector it added. Removing the last example of a class deletes the class.
   *
   * @throws InvalidInputException if the class is unknown or the vector is invalid
   */
  public void remove(String label, float[] transformed) {
    checkLabel(label);
    ClassSum sum = sums.get(label);
    if (sum == null) {
      throw new InvalidInputException(
          "expected an existing class to remove an example from, found no class '" + label + "'");
    }
    checkFeature(transformed);
    if (sum.count() == 1) {
      deleteClass(label);
      return;
    }
    sums.put(label, sum.minus(transformed));
  }

  /**
   * Deletes a class and all its examples.
   *
   * @return whether the class existed
   */
  public boolean deleteClass(String label) {
    return sums.remove(label) != null;
  }

  /** Number of examples per class, in class order; an unmodifiable copy. */
  public Map<String, Integer> counts() {
    Map<String, Integer> counts = new LinkedHashMap<>();
    sums.forEach((label, sum) -> counts.put(label, sum.count()));
    return Collections.unmodifiableMap(counts);
  }

  /** Number of examples of {@code label}, 0 if the class is unknown. */
  public int count(String label) {
    ClassSum sum = sums.get(label);
    return sum == null ? 0 : sum.count();
  }

  /** The running sum of {@code label}, a copy, or {@code null} if the class is unknown. */
  public double[] sum(String label) {
    ClassSum sum = sums.get(label);
    return sum == null ? null : sum.sum();
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
    ClassSum sum = sums.get(label);
    if (sum == null) {
      throw new InvalidInputException("expected a known class, found no class '" + label + "'");
    }
    return ClassSum.prototype(sum.sum(), label);
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
      prototypes[c] = prototype(labels.get(c));
    }
    return CosineClassifier.ofPrototypes(labels, prototypes, scale);
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
