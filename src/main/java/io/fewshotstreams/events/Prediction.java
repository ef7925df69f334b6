package io.fewshotstreams.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The answer to one query.
 *
 * @param task the query's task
 * @param queryId the query's id
 * @param label the most probable class
 * @param probability its probability
 * @param probabilities the probability of every class of the model, in the model's class order
 * @param topK the best classes in order, only when the query asked for {@code topK}
 * @param modelVersion version of the task's model snapshot that answered
 * @param method {@code prototypes} or {@code fine-tuned}: how that snapshot was made
 * @param backboneId the backbone that embedded the query
 * @param latencyMs time spent on this query in the service: decode, embed, classify
 * @param queryTimestamp the query record's timestamp, epoch milliseconds
 * @param predictedAt when the prediction was made, epoch milliseconds
 * @param openSetScore the highest cosine of the query to a class centre of the snapshot, in [-1,
 *     1]; null in predictions written before it existed
 * @param accepted whether the query is accepted as one of the registered classes ({@code
 *     openSetScore} at or above the snapshot's threshold); false is the answer "unknown", with
 *     {@code label} still the most probable registered class; null in predictions written before it
 *     existed
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Prediction(
    int schemaVersion,
    String task,
    String queryId,
    String label,
    double probability,
    Map<String, Double> probabilities,
    List<Ranked> topK,
    long modelVersion,
    String method,
    String backboneId,
    double latencyMs,
    long queryTimestamp,
    long predictedAt,
    Double openSetScore,
    Boolean accepted) {

  public Prediction {
    Objects.requireNonNull(task, "task");
    Objects.requireNonNull(queryId, "queryId");
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(backboneId, "backboneId");
    probabilities = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(probabilities));
    topK = topK == null ? null : List.copyOf(topK);
  }

  /** A prediction without the open-set fields, as written before they existed. */
  public Prediction(
      int schemaVersion,
      String task,
      String queryId,
      String label,
      double probability,
      Map<String, Double> probabilities,
      List<Ranked> topK,
      long modelVersion,
      String method,
      String backboneId,
      double latencyMs,
      long queryTimestamp,
      long predictedAt) {
    this(
        schemaVersion,
        task,
        queryId,
        label,
        probability,
        probabilities,
        topK,
        modelVersion,
        method,
        backboneId,
        latencyMs,
        queryTimestamp,
        predictedAt,
        null,
        null);
  }

  /** Whether the answer is "unknown": the query was judged and not accepted. */
  public boolean unknown() {
    return Boolean.FALSE.equals(accepted);
  }

  /** One entry of {@code topK}. */
  public record Ranked(String label, double probability) {
    public Ranked {
      Objects.requireNonNull(label, "label");
    }
  }
}
