package io.fewshotstreams.serving;

import io.fewshotstreams.streaming.feedback.FeedbackQueries;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * {@code GET /api/tasks/{task}/accuracy}: a task's live accuracy (docs/feedback.md), answered by
 * the instance that owns the task and forwarded there from any other, like the learner state;
 * {@code GET /api/tasks/{task}/accuracy/local} answers from this instance only.
 */
final class AccuracyView {
  private final FeedbackQueries queries;
  private final Forwarder forwarder;
  private final String instance;

  AccuracyView(FeedbackQueries queries, Forwarder forwarder, String instance) {
    this.queries = queries;
    this.forwarder = forwarder;
    this.instance = instance;
  }

  Response accuracy(String task) {
    Optional<Map<String, Object>> local = local(task);
    if (local.isPresent()) {
      return Response.json(200, local.get());
    }
    Optional<String> owner = owned(task);
    if (owner.isEmpty() || owner.get().equals(instance)) {
      throw new ApiError(
          404,
          "expected outcomes of task '" + task + "', found none yet (no feedback joined)");
    }
    return Response.json(
        200,
        forwarder.get(
            owner.get(),
            "/api/tasks/" + PathSegments.encode(task) + "/accuracy/local",
            "the live accuracy of task '" + task + "'"));
  }

  Response localAccuracy(String task) {
    Map<String, Object> view =
        local(task)
            .orElseThrow(
                () ->
                    new ApiError(
                        404,
                        "expected outcomes of task '"
                            + task
                            + "' on this instance ("
                            + instance
                            + "), found none"));
    return Response.json(200, view);
  }

  private Optional<Map<String, Object>> local(String task) {
    try {
      return queries.localAccuracy(task).map(this::withHost);
    } catch (FeedbackQueries.Unavailable e) {
      throw new ApiError(503, e.getMessage());
    }
  }

  private Optional<String> owned(String task) {
    try {
      return queries.owner(task);
    } catch (FeedbackQueries.Unavailable e) {
      throw new ApiError(503, e.getMessage());
    }
  }

  private Map<String, Object> withHost(Map<String, Object> view) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("host", instance);
    m.putAll(view);
    return m;
  }
}
