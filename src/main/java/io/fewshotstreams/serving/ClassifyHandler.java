package io.fewshotstreams.serving;

import io.fewshotstreams.embedding.InvalidImageException;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.InvalidEventException;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.query.Classification;
import java.util.Map;
import java.util.UUID;

/**
 * {@code POST /api/tasks/{task}/classify?topK=&queryId=}: the body is an image, the answer the
 * prediction the query path would publish for it. Refused with 403 unless {@code
 * fewshot.http.classify.enabled}.
 */
final class ClassifyHandler {
  private final EventCodec codec = new EventCodec();
  private final Classification classification;
  private final RequestBody body;

  /**
   * @param classification the classifier, or null when classification over HTTP is off
   */
  ClassifyHandler(Classification classification, RequestBody body) {
    this.classification = classification;
    this.body = body;
  }

  Response classify(Router.Request request) {
    if (classification == null) {
      throw new ApiError(
          403,
          "expected "
              + FewShotConfig.HTTP_CLASSIFY_ENABLED_CONFIG
              + "=true to classify over HTTP, found it false;"
              + " publish to the queries topic instead");
    }
    String task = request.variable("task");
    Map<String, String> params =
        QueryParameters.of(request.exchange().getRequestURI().getRawQuery());
    Integer topK = null;
    if (params.containsKey("topK")) {
      try {
        topK = Integer.valueOf(params.get("topK"));
      } catch (NumberFormatException e) {
        topK = 0;
      }
      if (topK < 1) {
        throw new ApiError(
            400, "expected topK to be a whole number >= 1, found '" + params.get("topK") + "'");
      }
    }
    String queryId = params.getOrDefault("queryId", "http-" + UUID.randomUUID());
    byte[] image = body.read(request.exchange());
    Prediction prediction;
    try {
      prediction = classification.classify(task, queryId, image, topK);
    } catch (InvalidImageException e) {
      throw new ApiError(400, e.getMessage());
    } catch (InvalidEventException e) {
      throw new ApiError(
          e.reason() == DeadLetterReason.UNKNOWN_TASK ? 404 : 409, e.getMessage());
    }
    return new Response(200, Response.JSON, codec.write(prediction));
  }
}
