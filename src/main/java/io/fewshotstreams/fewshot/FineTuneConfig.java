package io.fewshotstreams.fewshot;

/**
 * Settings of {@link FineTuner}: full-batch Adam on the objective documented in {@link FineTuner}.
 *
 * @param steps the most Adam steps to take, >= 0 (0 returns the initial classifier)
 * @param learningRate Adam step size, > 0
 * @param scale the temperature {@code s} of the cosine softmax, > 0, fixed during fine-tuning
 * @param entropyWeight weight of the mean entropy of the query predictions, >= 0
 * @param marginalEntropyWeight weight of the entropy of the mean query prediction, subtracted from
 *     the loss so that predictions stay spread over the classes, >= 0
 * @param anchorWeight weight of the squared distance of each normalised weight row to its initial
 *     direction, >= 0
 * @param tolerance early stopping: stop once the loss fell by less than this over the last {@code
 *     patience} steps; 0 disables early stopping
 * @param patience number of steps the loss improvement is measured over, >= 1
 */
public record FineTuneConfig(
    int steps,
    float learningRate,
    float scale,
    float entropyWeight,
    float marginalEntropyWeight,
    float anchorWeight,
    float tolerance,
    int patience) {

  /**
   * Temperature used by every default, prototypes included. Accuracy of fine-tuning was flat from
   * 15 to 30 on real novel-class features. Calibrated it is not (ECE 0.10 for the prototypes at 5
   * shots, 0.23 at one): {@link RobustTransduction} and {@link CalibratedPrototypes} answer at a
   * temperature of their own.
   */
  public static final float DEFAULT_SCALE = 15f;

  /** Checks every field's range. */
  public FineTuneConfig {
    if (steps < 0) {
      throw new InvalidInputException("expected steps >= 0, found " + steps);
    }
    checkPositive("learningRate", learningRate);
    checkPositive("scale", scale);
    checkNonNegative("entropyWeight", entropyWeight);
    checkNonNegative("marginalEntropyWeight", marginalEntropyWeight);
    checkNonNegative("anchorWeight", anchorWeight);
    checkNonNegative("tolerance", tolerance);
    if (patience < 1) {
      throw new InvalidInputException("expected patience >= 1, found " + patience);
    }
  }

  /**
   * Defaults of the inductive method: cross-entropy on the support only, 30 steps at learning rate
   * 0.01 (accuracy had converged by then; an anchor to the prototypes did not help).
   */
  public static FineTuneConfig inductiveDefaults() {
    return new FineTuneConfig(30, 0.01f, DEFAULT_SCALE, 0f, 0f, 0f, 0f, 10);
  }

  /**
   * Defaults of the transductive method: cross-entropy plus 0.1 times the query entropy minus the
   * marginal entropy at weight 1, 30 steps at learning rate 0.01. Query-entropy weights from 0.1 to
   * 0.5 measured alike in accuracy and better than 1 or 0, and 0.1 kept the probabilities best
   * calibrated; accuracy had converged by 20 to 30 steps. The marginal term keeps the predictions
   * spread: without it the query entropy collapses them onto few classes.
   */
  public static FineTuneConfig transductiveDefaults() {
    return new FineTuneConfig(30, 0.01f, DEFAULT_SCALE, 0.1f, 1f, 0f, 0f, 10);
  }

  public FineTuneConfig withSteps(int newSteps) {
    return new FineTuneConfig(
        newSteps, learningRate, scale, entropyWeight, marginalEntropyWeight, anchorWeight,
        tolerance, patience);
  }

  public FineTuneConfig withLearningRate(float newLearningRate) {
    return new FineTuneConfig(
        steps, newLearningRate, scale, entropyWeight, marginalEntropyWeight, anchorWeight,
        tolerance, patience);
  }

  /** A copy with other query-term weights. */
  public FineTuneConfig withQueryWeights(float newEntropyWeight, float newMarginalEntropyWeight) {
    return new FineTuneConfig(
        steps, learningRate, scale, newEntropyWeight, newMarginalEntropyWeight, anchorWeight,
        tolerance, patience);
  }

  public FineTuneConfig withAnchorWeight(float newAnchorWeight) {
    return new FineTuneConfig(
        steps, learningRate, scale, entropyWeight, marginalEntropyWeight, newAnchorWeight,
        tolerance, patience);
  }

  /** A copy with other early-stopping settings. */
  public FineTuneConfig withEarlyStopping(float newTolerance, int newPatience) {
    return new FineTuneConfig(
        steps, learningRate, scale, entropyWeight, marginalEntropyWeight, anchorWeight,
        newTolerance, newPatience);
  }

  private static void checkPositive(String name, float value) {
    if (!(value > 0) || !Float.isFinite(value)) {
      throw new InvalidInputException("expected a finite " + name + " > 0, found " + value);
    }
  }

  private static void checkNonNegative(String name, float value) {
    if (!(value >= 0) || !Float.isFinite(value)) {
      throw new InvalidInputException("expected a finite " + name + " >= 0, found " + value);
    }
  }
}
