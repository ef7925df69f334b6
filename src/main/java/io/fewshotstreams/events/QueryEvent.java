package io.fewshotstreams.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Arrays;
import java.util.Objects;

/**
 * An image to classify. Exactly one of {@code image} and {@code embedding} is set; {@code topK},
 * when given, asks for the best {@code topK} classes in order besides the full distribution. A query
 * for a task that has no classes gets no prediction: it goes to the dead-letter topic with {@link
 * DeadLetterReason#UNKNOWN_TASK} and can be sent again once the task has classes.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record QueryEvent(
    int schemaVersion, String task, String queryId, Image image, float[] embedding, Integer topK) {

  public QueryEvent {
    Objects.requireNonNull(task, "task");
    Objects.requireNonNull(queryId, "queryId");
    Image.requireExactlyOne(image, embedding);
    if (topK != null && topK < 1) {
      throw new IllegalArgumentException("expected topK >= 1, found " + topK);
    }
    embedding = embedding == null ? null : embedding.clone();
  }

  @Override
  public float[] embedding() {
    return embedding == null ? null : embedding.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof QueryEvent other
        && schemaVersion == other.schemaVersion
        && task.equals(other.task)
        && queryId.equals(other.queryId)
        && Objects.equals(image, other.image)
        && Arrays.equals(embedding, other.embedding)
        && Objects.equals(topK, other.topK);
  }

  @Override
  public int hashCode() {
    return Objects.hash(task, queryId);
  }

  @Override
  public String toString() {
    return "QueryEvent[task="
        + task
        + ", queryId="
        + queryId
        + ", "
        + (image != null ? image : "embedding of " + embedding.length)
        + (topK == null ? "" : ", topK=" + topK)
        + "]";
  }
}
