package io.fewshotstreams.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Objects;

/**
 * A prediction that asks for a person's look, on the review topic, keyed by task: the answer was
 * "unknown", or its confidence was below the task's threshold. Its true label goes back on the
 * feedback topic as a {@link FeedbackEvent} with the same {@code queryId}.
 *
 * @param task the query's task
 * @param queryId the query's id
 * @param reason {@code unknown} or {@code low-confidence}
 * @param label the class the prediction named
 * @param probability its probability
 * @param threshold the task's confidence threshold at the time
 * @param modelVersion the version of the snapshot that answered
 * @param method how that snapshot was made
 * @param predictedAt when the prediction was made, epoch milliseconds
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ReviewItem(
    int schemaVersion,
    String task,
    String queryId,
    String reason,
    String label,
    double probability,
    double threshold,
    long modelVersion,
    String method,
    long predictedAt) {

  public static final String UNKNOWN = "unknown";
  public static final String LOW_CONFIDENCE = "low-confidence";

  public ReviewItem {
    Objects.requireNonNull(task, "task");
    Objects.requireNonNull(queryId, "queryId");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(method, "method");
    if (!reason.equals(UNKNOWN) && !reason.equals(LOW_CONFIDENCE)) {
      throw new IllegalArgumentException(
          "expected reason unknown or low-confidence, found " + reason);
    }
  }
}
