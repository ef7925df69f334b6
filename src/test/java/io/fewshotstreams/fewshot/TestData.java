package io.fewshotstreams.fewshot;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Seeded synthetic episodes that look like CNN features: non-negative, sharing a common direction. */
final class TestData {
  private TestData() {}

  /** One episode: transformed support, transformed queries and the true class of each query. */
  record Episode(SupportSet support, float[][] queries, int[] queryClass) {}

  /**
   * Classes are {@code relu(shared + spread * gaussian)} means; examples add {@code noise *
   * gaussian} and are clipped at zero, then normalised.
   */
  static Episode clustered(
      long seed, int ways, int shots, int queriesPerClass, int dimension, double spread,
      double noise) {
    Random random = new Random(seed);
    float[] shared = new float[dimension];
    for (int k = 0; k < dimension; k++) {
      shared[k] = (float) Math.abs(random.nextGaussian());
    }
    float[][] means = new float[ways][dimension];
    List<String> labels = new ArrayList<>();
    for (int c = 0; c < ways; c++) {
      labels.add("class-" + c);
      for (int k = 0; k < dimension; k++) {
        means[c][k] = shared[k] + (float) (spread * random.nextGaussian());
      }
    }
    FeatureTransform transform = FeatureTransform.none();
    float[][] support = new float[ways * shots][];
    int[] supportClass = new int[ways * shots];
    for (int i = 0; i < support.length; i++) {
      supportClass[i] = i % ways;
      support[i] = transform.apply(sample(random, means[i % ways], noise));
    }
    float[][] queries = new float[ways * queriesPerClass][];
    int[] queryClass = new int[queries.length];
    for (int j = 0; j < queries.length; j++) {
      queryClass[j] = j % ways;
      queries[j] = transform.apply(sample(random, means[j % ways], noise));
    }
    return new Episode(new SupportSet(labels, support, supportClass), queries, queryClass);
  }

  static float[] sample(Random random, float[] mean, double noise) {
    float[] x = new float[mean.length];
    for (int k = 0; k < x.length; k++) {
      x[k] = Math.max(0f, mean[k] + (float) (noise * random.nextGaussian()));
    }
    // A vector clipped to all zeros has no direction; one positive component keeps it valid.
    x[0] = Math.max(x[0], 1e-3f);
    return x;
  }

  static double accuracy(CosineClassifier classifier, float[][] queries, int[] queryClass) {
    int correct = 0;
    for (int j = 0; j < queries.length; j++) {
      if (classifier.predict(queries[j]) == queryClass[j]) {
        correct++;
      }
    }
    return (double) correct / queries.length;
  }

  /** Fraction of queries predicted as the most frequently predicted class. */
  static double largestClassFraction(CosineClassifier classifier, float[][] queries) {
    int[] counts = new int[classifier.numClasses()];
    for (float[] q : queries) {
      counts[classifier.predict(q)]++;
    }
    int max = 0;
    for (int count : counts) {
      max = Math.max(max, count);
    }
    return (double) max / queries.length;
  }
}
