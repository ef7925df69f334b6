package io.fewshotstreams.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fewshotstreams.FewShotException;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.TaskQueries;
import io.fewshotstreams.streaming.telemetry.FineTuneOutcome;
import io.fewshotstreams.streaming.telemetry.RecentActivity;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP API in front of an application that was created but not started: routing, methods,
 * limits and the JSON errors a client sees, without a broker.
 */
class HttpApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_REQUEST_BYTES = 1024; // the smallest limit the setting accepts

  @TempDir Path stateDir;

  private final HttpClient client = HttpClient.newHttpClient();
  private KafkaStreams streams;
  private HttpApi api;
  private PrometheusMeterRegistry prometheus;
  /** Settings a test adds before it starts the API. */
  private final Map<String, Object> extra = new HashMap<>();

  @AfterEach
  void stop() {
    if (api != null) {
      api.close();
    }
    if (streams != null) {
      streams.close();
    }
  }

  private HttpApi start(ActivitySource activity) {
    return start(activity, StaticFiles.dashboard());
  }

  private HttpApi start(ActivitySource activity, StaticFiles files) {
    Map<String, Object> settings = new HashMap<>();
    settings.put(StreamsConfig.APPLICATION_ID_CONFIG, "http-api-test");
    // Never contacted: the application is only created, not started.
    settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:9");
    settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    settings.put(FewShotConfig.HTTP_PORT_CONFIG, 0);
    settings.put(FewShotConfig.HTTP_MAX_REQUEST_BYTES_CONFIG, MAX_REQUEST_BYTES);
    settings.putAll(extra);
    FewShotConfig config = new FewShotConfig(settings);
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream("in").to("out");
    Properties props = config.streamsProperties();
    streams = new KafkaStreams(builder.build(), props);
    prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    api = HttpApi.start(config, new TaskQueries(streams), prometheus, activity, null, files);
    return api;
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return client.send(
        HttpRequest.newBuilder(api.uri().resolve(path)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(String path, String authorization)
      throws IOException, InterruptedException {
    return client.send(
        HttpRequest.newBuilder(api.uri().resolve(path))
            .header("Authorization", authorization)
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String path, byte[] body)
      throws IOException, InterruptedException {
    return client.send(
        HttpRequest.newBuilder(api.uri().resolve(path))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(HttpResponse<String> response) throws IOException {
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    return JSON.readTree(response.body());
  }

  @Test
  void shouldReportHealthyButNotReadyBeforeTheApplicationRuns() throws Exception {
    start(ActivitySource.none());
    HttpResponse<String> health = get("/health");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(json(health).get("status").asText()).isEqualTo("UP");
    assertThat(json(health).get("state").asText()).isEqualTo("CREATED");
    HttpResponse<String> ready = get("/ready");
    assertThat(ready.statusCode()).isEqualTo(503);
    assertThat(json(ready).get("status").asText()).isEqualTo("NOT_READY");
  }

  @Test
  void shouldAnswerUnknownPathsAndWrongMethodsWithJsonErrors() throws Exception {
    start(ActivitySource.none());
    HttpResponse<String> unknown = get("/api/nothing-here");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(json(unknown).get("error").asText()).contains("/api/nothing-here");

    HttpResponse<String> wrong = post("/api/tasks", new byte[0]);
    assertThat(wrong.statusCode()).isEqualTo(405);
    assertThat(wrong.headers().firstValue("Allow")).hasValue("GET");
    assertThat(json(wrong).get("error").asText()).isEqualTo("expected GET for '/api/tasks', found POST");

    HttpResponse<String> getClassify = get("/api/tasks/shoe-shop/classify");
    assertThat(getClassify.statusCode()).isEqualTo(405);
    assertThat(getClassify.headers().firstValue("Allow")).hasValue("POST");
  }

  @Test
  void shouldRefuseClassificationUnlessEnabled() throws Exception {
    start(ActivitySource.none());
    HttpResponse<String> refused = post("/api/tasks/shoe-shop/classify", new byte[] {1, 2, 3});
    assertThat(refused.statusCode()).isEqualTo(403);
    assertThat(json(refused).get("error").asText())
        .contains(FewShotConfig.HTTP_CLASSIFY_ENABLED_CONFIG + "=true");
  }

  @Test
  void shouldRefuseBodiesOverTheLimit() throws Exception {
    start(ActivitySource.none());
    HttpResponse<String> tooLarge =
        post("/api/tasks/shoe-shop/classify", new byte[MAX_REQUEST_BYTES + 1]);
    assertThat(tooLarge.statusCode()).isEqualTo(413);
    assertThat(json(tooLarge).get("error").asText())
        .isEqualTo(
            "expected a request body of at most 1024 bytes (fewshot.http.max.request.bytes),"
                + " found 1025 bytes declared");
  }

  @Test
  void shouldAnswer503WithRetryWhileTheStoresCannotBeQueried() throws Exception {
    start(ActivitySource.none());
    for (String path : List.of("/api/tasks", "/api/tasks/shoe-shop", "/api/tasks/shoe-shop/learner")) {
      HttpResponse<String> answer = get(path);
      assertThat(answer.statusCode()).as(path).isEqualTo(503);
      assertThat(json(answer).get("error").asText()).as(path).contains("retry");
      assertThat(answer.body()).as("no stack trace leaks").doesNotContain("at org.apache");
    }
  }

  @Test
  void shouldServePrometheusText() throws Exception {
    start(ActivitySource.none());
    prometheus.counter("fewshot.events", "topic", "support", "outcome", "ok").increment(3);
    HttpResponse<String> metrics = get("/metrics");
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/plain");
    assertThat(metrics.body()).contains("fewshot_events_total{outcome=\"ok\",topic=\"support\"} 3.0");
  }

  @Test
  void shouldShowRecentActivityOnTheDashboard() throws Exception {
    byte[] png = {(byte) 0x89, 'P', 'N', 'G'};
    Prediction prediction =
        new Prediction(
            1, "shoe-shop", "q-1", "sneaker", 0.93, Map.of("sneaker", 0.93, "boot", 0.07), null, 4,
            "prototypes", "backbone-1", 12.5, 1_000L, 1_020L);
    ActivitySource activity =
        new ActivitySource() {
          @Override
          public List<RecentActivity.RecentPrediction> predictions() {
            return List.of(
                new RecentActivity.RecentPrediction(prediction, "image/png", png),
                new RecentActivity.RecentPrediction(prediction, null, null));
          }

          @Override
          public List<RecentActivity.FineTuneEvent> fineTunes() {
            return List.of(
                new RecentActivity.FineTuneEvent(
                    "shoe-shop", 5, "transductive", 140.0, 0.9, 0.21, 25, 100, 2_000L,
                    FineTuneOutcome.INSTALLED));
          }

          @Override
          public Map<String, Long> deadLettersByReason() {
            return Map.of("INVALID_JSON", 3L);
          }

          @Override
          public double predictionsPerSecond() {
            return 2.5;
          }

          @Override
          public List<ConfidenceBin> confidence() {
            return List.of(new ConfidenceBin(0.1, 0), new ConfidenceBin(1.0, 7));
          }
        };
    start(activity);
    HttpResponse<String> answer = get("/api/dashboard");
    assertThat(answer.statusCode()).isEqualTo(200);
    JsonNode d = json(answer);
    assertThat(d.get("instance").asText()).isEqualTo(api.instance());
    assertThat(d.get("state").asText()).isEqualTo("CREATED");
    assertThat(d.get("tasks")).as("no stores yet: no tasks, the state says why").isEmpty();
    assertThat(d.get("predictionsPerSecond").asDouble()).isEqualTo(2.5);
    assertThat(d.get("confidence").get(1).get("upTo").asDouble()).isEqualTo(1.0);
    assertThat(d.get("confidence").get(1).get("count").asLong()).isEqualTo(7);
    JsonNode recent = d.get("recent").get(0);
    assertThat(recent.get("label").asText()).isEqualTo("sneaker");
    assertThat(recent.get("modelVersion").asLong()).isEqualTo(4);
    assertThat(recent.get("thumbnail").asText()).isEqualTo("data:image/png;base64,iVBORw==");
    assertThat(d.get("recent").get(1).get("thumbnail").isNull()).isTrue();
    assertThat(d.get("fineTunes").get(0).get("finalLoss").asDouble()).isEqualTo(0.21);
    assertThat(d.get("fineTunes").get(0).get("outcome").asText()).isEqualTo("installed");
    assertThat(d.get("deadLetters").get("INVALID_JSON").asLong()).isEqualTo(3);
  }

  @Test
  void shouldServeTheDashboardPage() throws Exception {
    // Catches a route table that loses the page or its files, or serves them with the wrong type
    // (a browser refuses a script sent as JSON under nosniff).
    start(ActivitySource.none());
    HttpResponse<String> page = get("/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
    assertThat(page.body()).contains("<title>fewshot-streams</title>");
    assertThat(get("/index.html").body()).isEqualTo(page.body());
    HttpResponse<String> script = get("/app.js");
    assertThat(script.statusCode()).isEqualTo(200);
    assertThat(script.headers().firstValue("Content-Type"))
        .hasValue("text/javascript; charset=utf-8");
    HttpResponse<String> style = get("/style.css");
    assertThat(style.statusCode()).isEqualTo(200);
    assertThat(style.headers().firstValue("Content-Type")).hasValue("text/css; charset=utf-8");
    assertThat(get("/secret.txt").statusCode()).as("only the dashboard's files").isEqualTo(404);
  }

  @Test
  void shouldSayTheDashboardIsMissingFromABuildWithoutIt() throws Exception {
    // A build without the dashboard's resources: the page is a JSON 404 naming the file, not a 500.
    start(ActivitySource.none(), new StaticFiles("/no-dashboard-in-this-build/"));
    HttpResponse<String> page = get("/");
    assertThat(page.statusCode()).isEqualTo(404);
    assertThat(json(page).get("error").asText())
        .isEqualTo("expected the dashboard file 'index.html', found it missing from the build");
    assertThat(get("/health").statusCode()).as("the rest of the API still answers").isEqualTo(200);
  }

  @Test
  void shouldDecodeEveryPathSegment() {
    assertThat(PathSegments.of("/api/tasks/shoe%20shop%2Fb+c/learner"))
        .containsExactly("api", "tasks", "shoe shop/b+c", "learner");
    assertThat(PathSegments.of("/api/tasks/" + PathSegments.encode("ä/ b+c")))
        .containsExactly("api", "tasks", "ä/ b+c");
  }

  @Test
  void shouldAnswer400ForAPathThatIsNotUtf8() throws Exception {
    start(ActivitySource.none());
    HttpResponse<String> bad = get("/api/tasks/%FF");
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(json(bad).get("error").asText())
        .isEqualTo("expected UTF-8 in the path segment '%FF', found other bytes");
  }

  /**
   * Catches issue 12's probe 4: the JDK server reads a request on an executor thread, so with 4
   * threads, 4 connections that trickle an unfinished request line kept /health from answering at
   * all. Here twice as many trickling connections as there used to be threads, and the probes
   * (and a request that needs a worker) answer within a probe's timeout.
   */
  @Test
  void shouldAnswerTheProbesWhileSlowClientsHoldConnections() throws Exception {
    start(ActivitySource.none());
    int slowClients = 2 * HttpApi.WORKERS; // more than the 4 threads that served every connection
    List<Socket> slow = new ArrayList<>();
    try {
      for (int i = 0; i < slowClients; i++) {
        Socket socket = new Socket(api.uri().getHost(), api.uri().getPort());
        socket.getOutputStream().write("GET /hea".getBytes(StandardCharsets.US_ASCII));
        socket.getOutputStream().flush();
        slow.add(socket);
      }
      Thread.sleep(500); // let the server take up every slow connection first
      // Not started: alive (200) but not ready (503); the dashboard answers from no stores (200).
      Map<String, Integer> expected = Map.of("/health", 200, "/ready", 503, "/api/dashboard", 200);
      for (String path : List.of("/health", "/ready", "/api/dashboard")) {
        long start = System.nanoTime();
        HttpResponse<String> answer =
            client.send(
                HttpRequest.newBuilder(api.uri().resolve(path))
                    .timeout(PROBE_TIMEOUT)
                    .GET()
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).as(path).isEqualTo(expected.get(path));
        assertThat(json(answer).get("state").asText()).as(path).isEqualTo("CREATED");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as(path).isLessThan(PROBE_TIMEOUT);
      }
    } finally {
      for (Socket socket : slow) {
        socket.close();
      }
    }
  }

  /** The timeout of deploy/k8s's probes. */
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);

  @Test
  void shouldWantTheBearerTokenForTheApiButNotForProbesOrMetrics() throws Exception {
    extra.put(FewShotConfig.HTTP_AUTH_TOKEN_CONFIG, "s3cret-token");
    start(ActivitySource.none());
    HttpResponse<String> none = get("/api/dashboard");
    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"fewshot-streams\"");
    assertThat(json(none).get("error").asText())
        .isEqualTo(
            "expected 'Authorization: Bearer <token>' with the token of fewshot.http.auth.token,"
                + " found no Authorization header");
    assertThat(get("/api/dashboard", "Bearer s3cret-tokem").statusCode()).isEqualTo(401);
    assertThat(get("/api/dashboard", "Bearer s3cret").statusCode()).isEqualTo(401);
    assertThat(get("/api/dashboard", "Basic czNjcmV0LXRva2Vu").statusCode()).isEqualTo(401);
    assertThat(get("/api/tasks/shoe-shop/learner").statusCode()).isEqualTo(401);
    assertThat(get("/api/dashboard", "Bearer s3cret-token").statusCode()).isEqualTo(200);
    assertThat(get("/api/dashboard", "bearer s3cret-token").statusCode())
        .as("the scheme is case-insensitive (RFC 7235)")
        .isEqualTo(200);
    assertThat(get("/health").statusCode()).as("probes stay open").isEqualTo(200);
    assertThat(get("/ready").statusCode()).as("probes stay open").isEqualTo(503); // not running
    assertThat(get("/metrics").statusCode()).as("no task or label names in it").isEqualTo(200);
    assertThat(get("/").statusCode()).as("the page holds no data").isEqualTo(200);
  }

  @Test
  void shouldRefuseToServeANonLoopbackAddressWithoutATokenUnlessToldTo() throws Exception {
    extra.put(FewShotConfig.HTTP_BIND_ADDRESS_CONFIG, "0.0.0.0");
    assertThatThrownBy(() -> start(ActivitySource.none()))
        .isInstanceOf(FewShotException.class)
        .hasMessageStartingWith(
            "expected fewshot.http.auth.token to be set when the HTTP API binds 0.0.0.0, which is"
                + " not a loopback address, found none");
    streams.close();
    extra.put(FewShotConfig.HTTP_AUTH_MODE_CONFIG, "none");
    start(ActivitySource.none());
    assertThat(get("/api/dashboard").statusCode()).isEqualTo(200);
  }

  @Test
  void shouldWantATokenInTokenModeEvenOnLoopback() {
    extra.put(FewShotConfig.HTTP_AUTH_MODE_CONFIG, "token");
    assertThatThrownBy(() -> start(ActivitySource.none()))
        .isInstanceOf(FewShotException.class)
        .hasMessage(
            "expected fewshot.http.auth.token to be set with fewshot.http.auth.mode=token, found"
                + " none");
  }

  @Test
  void shouldLeaveThumbnailsOutWhenTurnedOff() throws Exception {
    extra.put(FewShotConfig.DASHBOARD_THUMBNAILS_CONFIG, false);
    byte[] png = {(byte) 0x89, 'P', 'N', 'G'};
    Prediction prediction =
        new Prediction(
            1, "shoe-shop", "q-1", "sneaker", 0.93, Map.of("sneaker", 0.93, "boot", 0.07), null, 4,
            "prototypes", "backbone-1", 12.5, 1_000L, 1_020L);
    ActivitySource withImage =
        new ActivitySource() {
          @Override
          public List<RecentActivity.RecentPrediction> predictions() {
            return List.of(new RecentActivity.RecentPrediction(prediction, "image/png", png));
          }

          @Override
          public List<RecentActivity.FineTuneEvent> fineTunes() {
            return List.of();
          }

          @Override
          public Map<String, Long> deadLettersByReason() {
            return Map.of();
          }

          @Override
          public double predictionsPerSecond() {
            return 0;
          }

          @Override
          public List<ConfidenceBin> confidence() {
            return List.of();
          }
        };
    start(withImage);
    JsonNode recent = json(get("/api/dashboard")).get("recent").get(0);
    assertThat(recent.get("queryId").asText()).isEqualTo("q-1");
    assertThat(recent.get("thumbnail").isNull()).isTrue();
  }
}
