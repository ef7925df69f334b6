package io.fewshotstreams.streaming.learner;

/**
 * How much of a task one fine-tune may take: at most {@code maxExamplesPerClass} support
 * examples of each class (larger classes are subsampled), as many pooled queries as that gives the
 * whole task, and an estimated working memory of at most {@code maxBytes}. When the full sample does
 * not fit in the memory, fewer examples per class are taken; when not even one per class fits, the
 * fine-tune is refused.
 *
 * <p>The estimate follows what fine-tuning allocates: for each of its {@code n} examples (support
 * plus pooled queries) a copy of the feature and five rows of logits, probabilities and gradients
 * over the {@code C} classes, and for each class seven weight-sized vectors (weights, gradients,
 * two optimiser moments, the anchor, the unit weights and their gradient):
 * {@code n * (8 d + 8 + 20 C) + 28 C d} bytes for features of {@code d} components. At 1,000
 * classes of 500 examples and 256 components all of them would take about 11 GB; the defaults (100 per
 * class, 256 MiB) take 11 per class there.
 */
record FineTuneBudget(int maxExamplesPerClass, long maxBytes) {

  /** The defaults of {@code fewshot.finetune.max.examples.per.class} and {@code ...max.bytes}. */
  static final FineTuneBudget DEFAULT = new FineTuneBudget(100, 256L * 1024 * 1024);

  FineTuneBudget {
    if (maxExamplesPerClass < 1) {
      throw new IllegalArgumentException(
          "expected at least 1 example per class, found " + maxExamplesPerClass);
    }
    if (maxBytes < 1) {
      throw new IllegalArgumentException("expected a memory bound >= 1 byte, found " + maxBytes);
    }
  }

  /**
   * What a fine-tune of this task may take.
   *
   * @param perClass support examples per class to use at most; a smaller class gives all its own
   * @param poolQueries pooled queries to use
   * @param bytes the estimated working memory of that sample
   */
  record Sample(int perClass, int poolQueries, long bytes) {}

  /** The estimated working memory of a fine-tune over {@code examples} rows. */
  static long estimateBytes(long classes, long examples, long dimension) {
    return examples * (8 * dimension + 8 + 20 * classes) + 28 * classes * dimension;
  }

  /**
   * The largest sample of a task within the budget, or null when not even one example per class
   * (and as many pooled queries) fits.
   *
   * @param counts support examples of each class
   * @param pooled pooled queries of the task
   * @param dimension feature size
   */
  Sample sample(int[] counts, int pooled, int dimension) {
    for (int k = maxExamplesPerClass; k >= 1; k--) {
      long support = 0;
      for (int n : counts) {
        support += Math.min(n, k);
      }
      int pool = (int) Math.min(pooled, (long) k * counts.length);
      long bytes = estimateBytes(counts.length, support + pool, dimension);
      if (bytes <= maxBytes) {
        return new Sample(k, pool, bytes);
      }
    }
    return null;
  }
}
