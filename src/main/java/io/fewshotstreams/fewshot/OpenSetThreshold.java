package io.fewshotstreams.fewshot;

/**
 * The open-set threshold a support set alone gives, by the rule {@link RobustTransduction} uses:
 * the {@code 1 - acceptShare} quantile of the leave-one-out cosines of the support examples to
 * their own class's prototype ({@link SupportStatistics}), so that about {@code acceptShare} of
 * unseen images of the registered classes score at or above it. When no class has two examples the
 * support says nothing about within-class scores and the fixed one-shot threshold of {@link
 * RobustConfig#defaults()} stands in.
 *
 * <p>The learner uses it for the prototype snapshot it publishes before any fine-tune, so that
 * snapshot answers "unknown" by the same rule as the fine-tuned one.
 */
public final class OpenSetThreshold {
  private OpenSetThreshold() {}

  /**
   * The threshold of {@code support} for {@code acceptShare}, in [-1, 1].
   *
   * @throws InvalidInputException if {@code acceptShare} is not in (0, 1]
   */
  public static float of(SupportSet support, float acceptShare) {
    if (!(acceptShare > 0 && acceptShare <= 1)) {
      throw new InvalidInputException("expected an accept share in (0, 1], found " + acceptShare);
    }
    float[] own = SupportStatistics.ownClassCosines(support);
    if (own.length == 0) {
      return RobustConfig.defaults().oneShotThreshold();
    }
    return Math.max(-1f, Math.min(1f, SupportStatistics.quantileThreshold(own, acceptShare)));
  }
}
