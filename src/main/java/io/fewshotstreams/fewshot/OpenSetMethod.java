package io.fewshotstreams.fewshot;

/** A few-shot method that also gives an open-set score and a per-task threshold. */
public interface OpenSetMethod extends FewShotMethod {

  /**
   * Builds an open-set classifier over {@code support.labels()}, in that order.
   *
   * @param support transformed support features
   * @param unlabelledPool transformed unlabelled features the method may learn from; they may hold
   *     images of classes the support does not have; may be an empty array
   */
  OpenSetClassifier fitOpenSet(SupportSet support, float[][] unlabelledPool);

  @Override
  default CosineClassifier fit(SupportSet support, float[][] unlabelledQueries) {
    return fitOpenSet(support, unlabelledQueries).classifier();
  }
}
