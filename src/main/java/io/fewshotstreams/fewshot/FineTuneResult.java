package io.fewshotstreams.fewshot;

/**
 * Outcome of {@link FineTuner#fineTune}.
 *
 * @param classifier the fine-tuned classifier
 * @param initialLoss the objective at the initial weights
 * @param finalLoss the objective at the returned weights
 * @param stepsRun Adam steps taken, fewer than configured when early stopping fired
 */
public record FineTuneResult(
    CosineClassifier classifier, float initialLoss, float finalLoss, int stepsRun) {

  /** Checks that the classifier is present and the step count is not negative. */
  public FineTuneResult {
    if (classifier == null) {
      throw new InvalidInputException("expected a classifier, found null");
    }
    if (stepsRun < 0) {
      throw new InvalidInputException("expected stepsRun >= 0, found " + stepsRun);
    }
  }
}
