package io.fewshotstreams.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Asks the instance that owns a task (found through Kafka Streams' {@code application.server}) for
 * what only it holds, over that instance's own HTTP API.
 */
final class Forwarder {
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private final ObjectMapper mapper = new ObjectMapper();
  /** The bearer token the instances share, sent along; null when the API wants none. */
  private final String token;
  private final HttpClient client =
      HttpClient.newBuilder()
          .connectTimeout(TIMEOUT)
          .followRedirects(HttpClient.Redirect.NEVER)
          .build();

  /** Forwards with {@code token} as the bearer token; null sends none. */
  Forwarder(String token) {
    this.token = token;
  }

  /**
   * The learner state of {@code task} as {@code owner} ({@code host:port}) answers {@code GET
   * /api/tasks/{task}/learner}.
   *
   * @throws ApiError 503 when the owner answers 503 (it is starting or restoring), 502 when it
   *     cannot be reached, answers something other than JSON, or another error
   */
  JsonNode learner(String owner, String task) {
    return get(
        owner,
        "/api/tasks/" + PathSegments.encode(task) + "/learner",
        "the learner state of task '" + task + "'");
  }

  /**
   * What {@code owner} answers {@code GET path} with, {@code what} naming it in errors; throws as
   * {@link #learner}.
   */
  JsonNode get(String owner, String path, String what) {
    URI target = URI.create("http://" + owner + path);
    HttpResponse<byte[]> answer;
    try {
      HttpRequest.Builder request = HttpRequest.newBuilder(target).timeout(TIMEOUT).GET();
      if (token != null) {
        request.header("Authorization", "Bearer " + token);
      }
      answer = client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new ApiError(
          502,
          "expected an answer from "
              + target
              + ", found "
              + e.getClass().getSimpleName()
              + ": "
              + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ApiError(502, "interrupted while asking " + target);
    }
    JsonNode body;
    try {
      body = mapper.readTree(answer.body());
    } catch (IOException e) {
      throw new ApiError(502, "expected JSON from " + target + ", found something else");
    }
    if (answer.statusCode() != 200) {
      String why = body.path("error").asText("status " + answer.statusCode());
      throw new ApiError(
          answer.statusCode() == 503 ? 503 : 502,
          "expected " + what + " from " + owner + ", found: " + why);
    }
    return body;
  }
}
