package io.fewshotstreams.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Objects;

/**
 * The true label of a query answered earlier, on the feedback topic, keyed by task. The service
 * joins it to the prediction it made for {@code queryId} and writes an {@link Outcome}.
 *
 * @param task the query's task
 * @param queryId the query's id, as in its prediction
 * @param label the true class; one the task does not have counts as open-set truth
 * @param promote when true, the query becomes a support example of {@code label} (the class is
 *     created when the task does not have it); null means false
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record FeedbackEvent(
    int schemaVersion, String task, String queryId, String label, Boolean promote) {

  public FeedbackEvent {
    Objects.requireNonNull(task, "task");
    Objects.requireNonNull(queryId, "queryId");
    Objects.requireNonNull(label, "label");
  }

  /** Whether the feedback asks for the query to become a support example. */
  public boolean promoted() {
    return Boolean.TRUE.equals(promote);
  }
}
