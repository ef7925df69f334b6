package io.fewshotstreams.fewshot;

/**
 * The prototypes as the service's first snapshot of a task answers with them, before any
 * fine-tune: the prototype classifier at the temperature {@link RobustTransduction} gives the
 * prototypes ({@link RobustTransduction#prototypeTemperature}), with the support-derived open-set
 * threshold ({@link OpenSetThreshold}). Only the probabilities differ from {@code prototypes},
 * which answers at {@link FineTuneConfig#DEFAULT_SCALE}: the labels are the same. Name: {@value
 * #NAME}.
 *
 * <p>It runs on the stream thread at every support change, so the temperature is fitted on at
 * most {@code max(1, LOO_BUDGET / classes)} leave-one-out rows of one cosine per class: {@link
 * #LOO_BUDGET} cosines while a task has at most that many classes. The shrinkage counts the rows
 * used, so a task with many classes is pulled nearer the prior than {@code robust}, which fits on
 * every row. (The service also measures on at most 32 examples per class; {@code evaluate} passes
 * the whole support set.)
 */
public final class CalibratedPrototypes implements OpenSetMethod {
  /** The method's name in {@code evaluate}. */
  public static final String NAME = "prototypes:calibrated";

  /** Leave-one-out cosines the temperature is fitted on, at most, while rows allow. */
  public static final int LOO_BUDGET = 8192;

  private final RobustTransduction robust;
  private final float acceptShare;

  /** With {@link RobustConfig#defaults()}. */
  public CalibratedPrototypes() {
    this(RobustConfig.defaults());
  }

  /**
   * @param config the settings whose accept share, one-shot temperature ({@code
   *     oneShotPrototypeScale}) and temperature prior apply
   */
  public CalibratedPrototypes(RobustConfig config) {
    this.robust = new RobustTransduction(config);
    this.acceptShare = config.acceptShare();
  }

  @Override
  public String name() {
    return NAME;
  }

  /** The temperature of {@code support}'s prototypes, from a bounded leave-one-out. */
  public float temperature(SupportSet support) {
    int rows = Math.max(1, LOO_BUDGET / support.numClasses());
    return robust.prototypeTemperature(SupportStatistics.leaveOneOutCosines(support, rows));
  }

  /** The open-set threshold of {@code support} at this accept share ({@link OpenSetThreshold}). */
  public float threshold(SupportSet support) {
    return OpenSetThreshold.of(support, acceptShare);
  }

  /** The pool is not used: these are the prototypes. */
  @Override
  public OpenSetClassifier fitOpenSet(SupportSet support, float[][] unlabelledPool) {
    float[][] rows = support.prototypes();
    CosineClassifier classifier =
        CosineClassifier.ofPrototypes(support.labels(), rows, temperature(support));
    return new OpenSetClassifier(classifier, rows, threshold(support), acceptShare);
  }

  @Override
  public String toString() {
    return NAME;
  }
}
