package io.fewshotstreams.streaming;

/**
 * The running sum of a class's unit feature vectors and their count; the prototype is the
 * normalised sum. Doubles, so that many adds and removes do not drift.
 */
record ClassSums(int count, double[] sum) {

  ClassSums plus(float[] feature) {
    double[] next = sum.clone();
    for (int i = 0; i < next.length; i++) {
      next[i] += feature[i];
    }
    return new ClassSums(count + 1, next);
  }

  ClassSums minus(float[] feature) {
    double[] next = sum.clone();
    for (int i = 0; i < next.length; i++) {
      next[i] -= feature[i];
    }
    return new ClassSums(count - 1, next);
  }

  static ClassSums empty(int dimension) {
    return new ClassSums(0, new double[dimension]);
  }
}
