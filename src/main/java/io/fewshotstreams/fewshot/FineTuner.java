package io.fewshotstreams.fewshot;

/**
 * Fine-tunes a {@link CosineClassifier} {@code softmax(s * cos(W, x) + b)} on a support set and,
 * transductively, on unlabelled queries, with full-batch Adam. The objective and its hand-derived
 * gradient are documented on {@code Objective}: support cross-entropy, plus {@code entropyWeight}
 * times the mean query entropy, minus {@code marginalEntropyWeight} times the entropy of the mean
 * query prediction, plus {@code anchorWeight} times {@code sum_c |w_c/|w_c| - w0_c|^2}.
 *
 * <p>The query terms use at most {@link #maxQueries} of the queries, evenly spaced through them:
 * the cost of a step grows with classes x (support + queries), and at 100 ways, 5 shots and 15
 * queries per class the 1,500 queries were three quarters of the rows. A pool of at most 100
 * queries (the service's default size) or of at most 5 per class is used whole.
 *
 * <p>Deterministic: the same input gives bit-identical output. All buffers are allocated before the
 * step loop.
 */
public final class FineTuner {
  /** Queries per class the query terms keep at most, above {@link #MIN_QUERY_CAP}. */
  static final int QUERIES_PER_CLASS = 5;

  /** Queries the query terms keep at least before subsampling: the service's default pool. */
  static final int MIN_QUERY_CAP = 100;

  private static final float BETA1 = 0.9f;
  private static final float BETA2 = 0.999f;
  private static final float EPSILON = 1e-8f;

  private FineTuner() {}

  /**
   * Fine-tunes {@code init}, whose labels must be those of {@code support} in the same order. The
   * returned classifier uses {@code cfg.scale()}; the initial directions of {@code init} are also
   * the anchor.
   *
   * @param queries transformed unlabelled query features; may be empty
   * @throws InvalidInputException if labels or dimensions disagree or a query is not finite
   */
  public static FineTuneResult fineTune(
      CosineClassifier init, SupportSet support, float[][] queries, FineTuneConfig cfg) {
    return fineTune(init, support, queries, null, null, cfg);
  }

  /**
   * As {@link #fineTune(CosineClassifier, SupportSet, float[][], FineTuneConfig)}, with a weight
   * per query in the query terms and a target marginal: the marginal term becomes {@code
   * marginalEntropyWeight KL(pbar || prior)}, which is TIM's {@code -H(pbar)} up to a constant when
   * the prior is uniform.
   *
   * @param queryWeights one weight >= 0 per query (null: all equal)
   * @param prior one probability > 0 per class, summing to 1 (null: uniform)
   */
  public static FineTuneResult fineTune(
      CosineClassifier init,
      SupportSet support,
      float[][] queries,
      float[] queryWeights,
      float[] prior,
      FineTuneConfig cfg) {
    return fineTune(init, support, queries, queryWeights, prior, 1f, 0f, cfg);
  }

  /**
   * As above, with both query terms in Tsallis' alpha-entropies {@code H_a(p) = (1 - sum_c p_c^a)
   * / (a - 1)} when {@code alpha != 1} (alpha-TIM, Veilleux et al. 2021), which push a skewed pool
   * towards a uniform marginal less hard than Shannon's; then the prior must be null (uniform).
   * With {@code jointPriorCount > 0} the marginal's target is re-estimated from the fit's own mean
   * query prediction at every step, with that many pseudo-images per class, instead of held at
   * {@code prior} (which must then be null, and alpha 1); see {@link Objective}'s constructor.
   */
  public static FineTuneResult fineTune(
      CosineClassifier init,
      SupportSet support,
      float[][] queries,
      float[] queryWeights,
      float[] prior,
      float alpha,
      float jointPriorCount,
      FineTuneConfig cfg) {
    if (init == null || support == null || cfg == null) {
      throw new InvalidInputException("expected a classifier, a support set and a config, found null");
    }
    if (!init.labels().equals(support.labels())) {
      throw new InvalidInputException(
          "expected the classifier labels to equal the support labels "
              + support.labels()
              + ", found "
              + init.labels());
    }
    if (init.dimension() != support.dimension()) {
      throw new InvalidInputException(
          "expected a classifier of dimension "
              + support.dimension()
              + ", found dimension "
              + init.dimension());
    }
    float[][] query = checkQueries(queries, support.dimension());
    checkWeights(queryWeights, query.length);
    checkPrior(prior, support.numClasses());
    int kept = maxQueries(support.numClasses());
    float[] weights = queryWeights;
    if (query.length > kept) {
      float[][] subset = new float[kept][];
      float[] subsetWeights = weights == null ? null : new float[kept];
      for (int t = 0; t < kept; t++) {
        int j = (int) ((long) t * query.length / kept);
        subset[t] = query[j];
        if (weights != null) {
          subsetWeights[t] = weights[j];
        }
      }
      query = subset;
      weights = subsetWeights;
    }
    float[][] w0 = init.weightsView();
    Objective objective =
        new Objective(
            support.featuresView(),
            support.classIndexView(),
            query,
            w0,
            cfg.scale(),
            cfg.entropyWeight(),
            cfg.marginalEntropyWeight(),
            cfg.anchorWeight(),
            weights,
            prior,
            alpha,
            jointPriorCount);
    int classes = objective.classes;
    int d = objective.dimension;
    float[][] w = new float[classes][];
    for (int c = 0; c < classes; c++) {
      w[c] = w0[c].clone();
    }
    float[] b = init.biasView().clone();
    float[][] gw = new float[classes][d];
    float[] gb = new float[classes];
    float[][] mw = new float[classes][d];
    float[][] vw = new float[classes][d];
    float[] mb = new float[classes];
    float[] vb = new float[classes];
    int patience = cfg.patience();
    float[] history = new float[patience];

    float lr = cfg.learningRate();
    float initialLoss = Float.NaN;
    int step = 0;
    float beta1Power = 1f;
    float beta2Power = 1f;
    while (step < cfg.steps()) {
      float loss = objective.evaluate(w, b, gw, gb);
      if (step == 0) {
        initialLoss = loss;
      }
      if (cfg.tolerance() > 0 && step >= patience) {
        if (history[step % patience] - loss < cfg.tolerance()) {
          break;
        }
      }
      history[step % patience] = loss;
      beta1Power *= BETA1;
      beta2Power *= BETA2;
      float stepSize = lr * (float) Math.sqrt(1 - beta2Power) / (1 - beta1Power);
      float epsHat = EPSILON * (float) Math.sqrt(1 - beta2Power);
      for (int c = 0; c < classes; c++) {
        adam(w[c], gw[c], mw[c], vw[c], stepSize, epsHat);
      }
      adam(b, gb, mb, vb, stepSize, epsHat);
      step++;
    }
    float finalLoss = objective.evaluate(w, b, null, null);
    if (step == 0) {
      initialLoss = finalLoss;
    }
    CosineClassifier tuned = new CosineClassifier(support.labels(), w, b, cfg.scale());
    return new FineTuneResult(tuned, initialLoss, finalLoss, step);
  }

  /**
   * The most queries a fit of this many classes puts in its query terms: {@value
   * #QUERIES_PER_CLASS} per class, and never fewer than {@value #MIN_QUERY_CAP}. A larger pool is
   * subsampled to every {@code (n / cap)}-th query, in its order.
   */
  static int maxQueries(int classes) {
    return Math.max(MIN_QUERY_CAP, QUERIES_PER_CLASS * classes);
  }

  /**
   * One Adam update in the equivalent form {@code p -= lr_t m / (sqrt(v) + eps_t)} with the bias
   * corrections folded into {@code lr_t} and {@code eps_t}.
   */
  private static void adam(float[] p, float[] g, float[] m, float[] v, float stepSize, float eps) {
    for (int k = 0; k < p.length; k++) {
      float gk = g[k];
      float mk = BETA1 * m[k] + (1 - BETA1) * gk;
      float vk = BETA2 * v[k] + (1 - BETA2) * gk * gk;
      m[k] = mk;
      v[k] = vk;
      p[k] -= stepSize * mk / ((float) Math.sqrt(vk) + eps);
    }
  }

  private static void checkWeights(float[] weights, int queries) {
    if (weights == null) {
      return;
    }
    if (weights.length != queries) {
      throw new InvalidInputException(
          "expected one weight per query (" + queries + "), found " + weights.length);
    }
    for (int j = 0; j < weights.length; j++) {
      if (!(weights[j] >= 0) || !Float.isFinite(weights[j])) {
        throw new InvalidInputException(
            "expected finite query weights >= 0, found " + weights[j] + " at query " + j);
      }
    }
  }

  private static void checkPrior(float[] prior, int classes) {
    if (prior == null) {
      return;
    }
    if (prior.length != classes) {
      throw new InvalidInputException(
          "expected one prior probability per class (" + classes + "), found " + prior.length);
    }
    double sum = 0;
    for (int c = 0; c < classes; c++) {
      if (!(prior[c] > 0) || !Float.isFinite(prior[c])) {
        throw new InvalidInputException(
            "expected prior probabilities > 0, found " + prior[c] + " for class " + c);
      }
      sum += prior[c];
    }
    if (Math.abs(sum - 1) > 1e-3) {
      throw new InvalidInputException("expected prior probabilities summing to 1, found " + sum);
    }
  }

  static float[][] checkQueries(float[][] queries, int dimension) {
    if (queries == null) {
      return new float[0][];
    }
    for (int j = 0; j < queries.length; j++) {
      Vectors.checkVector(queries[j], dimension, "query feature " + j);
    }
    return queries;
  }
}
