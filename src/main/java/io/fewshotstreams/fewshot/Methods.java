package io.fewshotstreams.fewshot;

import java.util.List;

/**
 * The few-shot methods, by name. All start from the prototypes {@code normalize(mean_i x_i)}:
 *
 * <ul>
 *   <li>{@code prototypes}: the prototype classifier itself, no fine-tuning;
 *   <li>{@code inductive}: fine-tuned on the support set only;
 *   <li>{@code transductive}: fine-tuned on the support set and the unlabelled queries;
 *   <li>{@code auto}: transductive when there are enough unlabelled queries (at least
 *       {@value #AUTO_MIN_QUERIES_PER_CLASS} per class, and at least as many per class as shots);
 *       otherwise inductive, or the prototypes themselves at one shot.
 *   <li>{@code robust}: transductive fine-tuning made safe for stream pools (imbalanced, with
 *       images of unregistered classes), with an open-set score and a threshold from the support
 *       set: {@link RobustTransduction}.
 * </ul>
 *
 * The auto rule comes from measurement on real novel-class features: with fewer than two
 * unlabelled queries per class transductive fine-tuning fell below the prototypes, from four per
 * class at one shot it gained two points; at five shots it overtook inductive fine-tuning only
 * with more queries than shots per class; and at one shot inductive fine-tuning changed nothing
 * but made the probabilities over-confident.
 */
public final class Methods {
  public static final String PROTOTYPES = "prototypes";
  public static final String INDUCTIVE = "inductive";
  public static final String TRANSDUCTIVE = "transductive";
  public static final String AUTO = "auto";
  public static final String ROBUST = RobustTransduction.NAME;

  /** Fewest unlabelled queries per class for which {@code auto} goes transductive. */
  public static final int AUTO_MIN_QUERIES_PER_CLASS = 4;


  private static final float[][] NO_QUERIES = new float[0][];

  private Methods() {}

  public static FewShotMethod prototypes() {
    return prototypes(FineTuneConfig.DEFAULT_SCALE);
  }

  /** Prototypes with the given softmax temperature. */
  public static FewShotMethod prototypes(float scale) {
    return new Named(PROTOTYPES) {
      @Override
      public CosineClassifier fit(SupportSet support, float[][] unlabelledQueries) {
        return prototypeClassifier(support, scale);
      }
    };
  }

  public static FewShotMethod inductive() {
    return inductive(FineTuneConfig.inductiveDefaults());
  }

  /** Inductive fine-tuning with the given settings; queries are ignored. */
  public static FewShotMethod inductive(FineTuneConfig config) {
    return new Named(INDUCTIVE) {
      @Override
      public CosineClassifier fit(SupportSet support, float[][] unlabelledQueries) {
        return tune(support, NO_QUERIES, config);
      }
    };
  }

  public static FewShotMethod transductive() {
    return transductive(FineTuneConfig.transductiveDefaults());
  }

  /** Transductive fine-tuning with the given settings. */
  public static FewShotMethod transductive(FineTuneConfig config) {
    return new Named(TRANSDUCTIVE) {
      @Override
      public CosineClassifier fit(SupportSet support, float[][] unlabelledQueries) {
        return tune(support, unlabelledQueries, config);
      }
    };
  }

  public static FewShotMethod auto() {
    return new Named(AUTO) {
      @Override
      public CosineClassifier fit(SupportSet support, float[][] unlabelledQueries) {
        int queries = unlabelledQueries == null ? 0 : unlabelledQueries.length;
        switch (autoChoice(support, queries)) {
          case TRANSDUCTIVE:
            return tune(support, unlabelledQueries, FineTuneConfig.transductiveDefaults());
          case INDUCTIVE:
            return tune(support, NO_QUERIES, FineTuneConfig.inductiveDefaults());
          default:
            return prototypeClassifier(support, FineTuneConfig.DEFAULT_SCALE);
        }
      }
    };
  }

  /**
   * The name of the method {@code auto} uses for this support set and this many unlabelled
   * queries: {@value #TRANSDUCTIVE}, {@value #INDUCTIVE} or {@value #PROTOTYPES}.
   */
  public static String autoChoice(SupportSet support, int unlabelledQueries) {
    int shots = support.minShots();
    int perClass = Math.max(AUTO_MIN_QUERIES_PER_CLASS, shots);
    if (unlabelledQueries >= perClass * support.numClasses()) {
      return TRANSDUCTIVE;
    }
    return shots == 1 ? PROTOTYPES : INDUCTIVE;
  }

  /**
   * The method with the given name.
   *
   * @throws InvalidInputException naming the valid names if {@code name} is not one of them
   */
  public static FewShotMethod byName(String name) {
    return of(MethodName.of(name));
  }

  /** The method with its default settings. */
  public static FewShotMethod of(MethodName name) {
    switch (name) {
      case PROTOTYPES:
        return prototypes();
      case INDUCTIVE:
        return inductive();
      case TRANSDUCTIVE:
        return transductive();
      case AUTO:
        return auto();
      case ROBUST:
        return new RobustTransduction();
      default:
        throw new IllegalStateException("no method for " + name);
    }
  }

  /** The valid method names ({@link MethodName#ids()}). */
  public static List<String> names() {
    return MethodName.ids();
  }

  /** The prototype classifier of a support set. */
  public static CosineClassifier prototypeClassifier(SupportSet support, float scale) {
    return CosineClassifier.ofPrototypes(support.labels(), support.prototypes(), scale);
  }

  /**
   * Fine-tunes with the default settings of {@code method} ({@value #INDUCTIVE} or {@value
   * #TRANSDUCTIVE}) and reports the losses: the classifier is the one {@code
   * byName(method).fit(support, queries)} returns.
   *
   * @param queries unlabelled query features, used by {@value #TRANSDUCTIVE} only; may be null
   * @throws InvalidInputException if {@code method} is not one of the two fine-tuning methods
   */
  public static FineTuneResult fineTune(String method, SupportSet support, float[][] queries) {
    if (INDUCTIVE.equals(method)) {
      return tuneResult(support, NO_QUERIES, FineTuneConfig.inductiveDefaults());
    }
    if (TRANSDUCTIVE.equals(method)) {
      return tuneResult(
          support, queries == null ? NO_QUERIES : queries, FineTuneConfig.transductiveDefaults());
    }
    throw new InvalidInputException(
        "expected a fine-tuning method among ["
            + INDUCTIVE
            + ", "
            + TRANSDUCTIVE
            + "], found '"
            + method
            + "'");
  }

  private static CosineClassifier tune(
      SupportSet support, float[][] queries, FineTuneConfig config) {
    return tuneResult(support, queries, config).classifier();
  }

  private static FineTuneResult tuneResult(
      SupportSet support, float[][] queries, FineTuneConfig config) {
    CosineClassifier init = prototypeClassifier(support, config.scale());
    return FineTuner.fineTune(init, support, queries, config);
  }

  private abstract static class Named implements FewShotMethod {
    private final String name;

    Named(String name) {
      this.name = name;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public String toString() {
      return name;
    }
  }
}
