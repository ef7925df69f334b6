package io.fewshotstreams.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Objects;

/**
 * A prediction joined with its true label, on the outcomes topic, keyed by task.
 *
 * @param task the query's task
 * @param queryId the query's id
 * @param predictedLabel the class the prediction named (for an unknown answer, the nearest class)
 * @param probability the prediction's probability of {@code predictedLabel}: its confidence
 * @param unknown whether the prediction answered "unknown" (open set)
 * @param trueLabel the label the feedback gave
 * @param knownLabel whether {@code trueLabel} was a class of the model that answered
 * @param result {@code correct}, {@code wrong}, {@code true-unknown} (unknown answer, new label),
 *     {@code false-unknown} (unknown answer, known label) or {@code open-set-miss} (a class
 *     answered, new label)
 * @param correct whether the answer was right: {@code correct} or {@code true-unknown}
 * @param modelVersion the version of the snapshot that answered
 * @param method how that snapshot was made: {@code prototypes} or {@code fine-tuned}
 * @param predictedAt when the prediction was made, epoch milliseconds
 * @param feedbackAt the feedback record's timestamp, epoch milliseconds
 * @param truthDelayMs how long the truth took: {@code feedbackAt - predictedAt}, at least 0
 * @param promoted whether the query was sent to the learner as a support example of {@code
 *     trueLabel}
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Outcome(
    int schemaVersion,
    String task,
    String queryId,
    String predictedLabel,
    double probability,
    boolean unknown,
    String trueLabel,
    boolean knownLabel,
    String result,
    boolean correct,
    long modelVersion,
    String method,
    long predictedAt,
    long feedbackAt,
    long truthDelayMs,
    boolean promoted) {

  public static final String CORRECT = "correct";
  public static final String WRONG = "wrong";
  public static final String TRUE_UNKNOWN = "true-unknown";
  public static final String FALSE_UNKNOWN = "false-unknown";
  public static final String OPEN_SET_MISS = "open-set-miss";

  public Outcome {
    Objects.requireNonNull(task, "task");
    Objects.requireNonNull(queryId, "queryId");
    Objects.requireNonNull(predictedLabel, "predictedLabel");
    Objects.requireNonNull(trueLabel, "trueLabel");
    Objects.requireNonNull(result, "result");
    Objects.requireNonNull(method, "method");
    boolean right = result.equals(CORRECT) || result.equals(TRUE_UNKNOWN);
    if (right != correct) {
      throw new IllegalArgumentException(
          "expected correct=" + right + " for result " + result + ", found " + correct);
    }
    if (truthDelayMs < 0) {
      throw new IllegalArgumentException("expected truthDelayMs >= 0, found " + truthDelayMs);
    }
  }

  /**
   * The result of an answer: {@code predictedLabel} (ignored when {@code unknown}) against {@code
   * trueLabel}, which {@code knownLabel} says the answering model had as a class.
   */
  public static String resultOf(
      String predictedLabel, boolean unknown, String trueLabel, boolean knownLabel) {
    if (unknown) {
      return knownLabel ? FALSE_UNKNOWN : TRUE_UNKNOWN;
    }
    if (!knownLabel) {
      return OPEN_SET_MISS;
    }
    return predictedLabel.equals(trueLabel) ? CORRECT : WRONG;
  }
}
