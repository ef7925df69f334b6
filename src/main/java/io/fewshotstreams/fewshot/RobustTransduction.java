package io.fewshotstreams.fewshot;

import java.util.Arrays;

/**
 * Transductive fine-tuning that stays safe on a live pool: class-imbalanced, and holding images of
 * classes nobody registered. Name: {@value #NAME}.
 *
 * <ol>
 *   <li>From the support set alone, by leaving each example out: the open-set threshold {@code
 *       tau} (the {@code 1 - acceptShare} quantile of the examples' cosines to their own class's
 *       prototype) and the softmax temperature {@code T} (fitted to the leave-one-out
 *       predictions). A one-shot support set has no such pairs; fixed values stand in.
 *   <li>A latent inlier weight per pool image, {@code theta_j = sigmoid(k (max_c cos(mu_c, q_j) -
 *       tau))}, as OSLO's inlier scores: images far from every prototype barely enter the fit.
 *   <li>The class marginal {@code pi} of the pool, estimated by EM on the prototypes' predictions
 *       (Saerens et al. 2002), at temperature {@code T}, with the inlier weights, instead of being forced uniform: the lesson
 *       of alpha-TIM on imbalanced pools.
 *   <li>Fine-tuning from the prototypes: support cross-entropy, plus the inlier-weighted query
 *       entropy, plus {@code KL(pbar || pi)} (TIM's marginal entropy when {@code pi} is uniform).
 *   <li>The returned classifier has the fine-tuned rows, its logits rescaled to temperature {@code
 *       T}; the open-set score is {@code max_c cos(mu_c, x)}, to the prototypes, against {@code
 *       tau}.
 * </ol>
 *
 * The defaults ({@link RobustConfig#defaults()}) were chosen on the novel classes of the
 * Fashion-MNIST train split, balanced and Dirichlet(2) pools; BENCHMARKS.md has the test-split
 * figures and what else was tried. The estimated marginal replaces the uniform one only when the
 * pool's likelihood ratio shows imbalance at the 5% level, since a noisy estimate from a balanced
 * pool cost up to 5 points.
 *
 * <p>Deterministic: the same input gives bit-identical output.
 */
public final class RobustTransduction implements OpenSetMethod {
  /** The method's name in {@code evaluate}. */
  public static final String NAME = "robust";

  private final RobustConfig config;

  public RobustTransduction() {
    this(RobustConfig.defaults());
  }

  public RobustTransduction(RobustConfig config) {
    if (config == null) {
      throw new InvalidInputException("expected a config, found null");
    }
    this.config = config;
  }

  public RobustConfig config() {
    return config;
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public OpenSetClassifier fitOpenSet(SupportSet support, float[][] unlabelledPool) {
    float[][] pool = FineTuner.checkQueries(unlabelledPool, support.dimension());
    int classes = support.numClasses();
    FineTuneConfig tuning = config.fineTuneConfig();
    CosineClassifier prototypes = Methods.prototypeClassifier(support, tuning.scale());

    float[][] loo = SupportStatistics.leaveOneOutCosines(support);
    float threshold;
    float temperature;
    float priorTemperature;
    if (loo.length == 0) {
      threshold = config.oneShotThreshold();
      temperature = config.oneShotScale();
      priorTemperature = config.oneShotPriorScale();
    } else {
      float[] own = new float[loo.length];
      for (int r = 0; r < loo.length; r++) {
        own[r] = loo[r][(int) loo[r][classes]];
      }
      threshold = SupportStatistics.quantileThreshold(own, config.acceptShare());
      temperature =
          config.scaleFactor()
              * SupportStatistics.fitTemperature(loo, config.minScale(), config.maxScale());
      priorTemperature = temperature;
    }

    int n = pool.length;
    float[] weights = new float[n];
    float[][] probabilities = new float[n][];
    float[][] rows = prototypes.weightsView();
    // The marginal is estimated from calibrated predictions: over-confident ones exaggerate it.
    CosineClassifier calibratedPrototypes =
        Methods.prototypeClassifier(support, priorTemperature);
    for (int j = 0; j < n; j++) {
      float score = OpenSetClassifier.maxCosine(rows, pool[j]);
      weights[j] =
          config.inlierSharpness() == 0
              ? 1f
              : (float) (1 / (1 + Math.exp(-config.inlierSharpness() * (score - threshold))));
      probabilities[j] = calibratedPrototypes.probabilities(pool[j]);
    }
    float[] prior = estimatePrior(probabilities, weights, classes);
    if (!imbalanceShown(probabilities, weights, prior)) {
      prior = null;
    }

    CosineClassifier tuned =
        FineTuner.fineTune(prototypes, support, pool, weights, prior, tuning).classifier();
    float ratio = temperature / tuning.scale();
    float[] bias = tuned.biasView().clone();
    for (int c = 0; c < classes; c++) {
      bias[c] *= ratio;
    }
    CosineClassifier calibrated =
        new CosineClassifier(support.labels(), tuned.weightsView(), bias, temperature);
    return new OpenSetClassifier(
        calibrated, rows, Math.max(-1f, Math.min(1f, threshold)), config.acceptShare());
  }

  /**
   * The class marginal of the pool by EM (Saerens et al. 2002): the predictions, made under a
   * uniform prior, are re-weighted by the current estimate and averaged with the inlier weights,
   * plus {@code priorCount} pseudo-images per class.
   */
  float[] estimatePrior(float[][] probabilities, float[] weights, int classes) {
    double[] prior = new double[classes];
    Arrays.fill(prior, 1.0 / classes);
    double total = 0;
    for (float w : weights) {
      total += w;
    }
    double[] next = new double[classes];
    double[] a = new double[classes];
    for (int iter = 0; iter < config.priorIterations(); iter++) {
      Arrays.fill(next, config.priorCount());
      for (int j = 0; j < probabilities.length; j++) {
        double sum = 0;
        for (int c = 0; c < classes; c++) {
          a[c] = probabilities[j][c] * prior[c];
          sum += a[c];
        }
        for (int c = 0; c < classes; c++) {
          next[c] += weights[j] * a[c] / sum;
        }
      }
      double norm = total + classes * (double) config.priorCount();
      for (int c = 0; c < classes; c++) {
        prior[c] = next[c] / norm;
      }
    }
    float[] out = new float[classes];
    double sum = 0;
    for (int c = 0; c < classes; c++) {
      sum += prior[c];
    }
    for (int c = 0; c < classes; c++) {
      out[c] = (float) (prior[c] / sum);
    }
    return out;
  }

  /**
   * Whether the pool shows its marginal is not uniform: twice the log-likelihood ratio of the
   * estimate against the uniform marginal, {@code 2 sum_j theta_j log(K sum_c pi_c p_jc)} (the
   * predictions were made under a uniform prior), above the chi-square quantile with {@code K - 1}
   * degrees of freedom at {@code priorZ} (Wilson-Hilferty).
   */
  boolean imbalanceShown(float[][] probabilities, float[] weights, float[] prior) {
    int classes = prior.length;
    double ratio = 0;
    for (int j = 0; j < probabilities.length; j++) {
      double mixed = 0;
      for (int c = 0; c < classes; c++) {
        mixed += prior[c] * probabilities[j][c];
      }
      ratio += weights[j] * Math.log(classes * mixed);
    }
    double k = classes - 1;
    double h = 2 / (9 * k);
    double quantile = k * Math.pow(1 - h + config.priorZ() * Math.sqrt(h), 3);
    return config.priorZ() == 0 || 2 * ratio > quantile;
  }

  @Override
  public String toString() {
    return NAME + "[" + config + "]";
  }
}
