package io.fewshotstreams.fewshot;

/** A way to turn a support set (and optionally unlabelled queries) into a classifier. */
public interface FewShotMethod {

  /** Short stable name: "prototypes", "inductive", "transductive" or "auto". */
  String name();

  /**
   * Builds a classifier over {@code support.labels()}, in that order.
   *
   * @param support transformed support features
   * @param unlabelledQueries transformed query features the method may learn from without their
   *     labels; may be an empty array
   */
  CosineClassifier fit(SupportSet support, float[][] unlabelledQueries);
}
