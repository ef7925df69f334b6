package io.fewshotstreams.serving;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.fewshotstreams.FewShotException;
import io.fewshotstreams.embedding.InvalidImageException;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.InvalidEventException;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.TaskQueries;
import io.fewshotstreams.streaming.query.Classification;
import io.fewshotstreams.streaming.telemetry.RecentActivity;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API of one instance (see the README's "HTTP API"): JSON everywhere, errors as {@code
 * {"error": "..."}} with a 4xx or 5xx status and never a stack trace. Only GET is served, besides
 * POST to classify an image when {@code fewshot.http.classify.enabled}.
 *
 * <p>The learner state of a task lives on the instance that owns the task's partition; asked
 * elsewhere, this API forwards the question to that instance (found through Kafka Streams' {@code
 * application.server}) and embeds the answer.
 */
public final class HttpApi implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
  /** Requests served at once; the API is light and must not starve the stream threads. */
  private static final int THREADS = 4;
  private static final Duration FORWARD_TIMEOUT = Duration.ofSeconds(5);
  private static final String JSON = "application/json";
  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  /** Fields of a snapshot the task view leaves out: weights are large, the rest internal. */
  private static final Set<String> HIDDEN_SNAPSHOT_FIELDS =
      Set.of("schemaVersion", "featureSize", "scale", "classes");
  private static final List<String> SNAPSHOT_FIELDS =
      List.of(
          "task",
          "version",
          "method",
          "fineTuning",
          "backboneId",
          "createdAt",
          "supportExamples",
          "poolQueries");
  private static final Map<String, String> STATIC_FILES =
      Map.of(
          "index.html", "text/html; charset=utf-8",
          "app.js", "text/javascript; charset=utf-8",
          "style.css", "text/css; charset=utf-8");

  private final ObjectMapper mapper = new ObjectMapper();
  private final EventCodec codec = new EventCodec();
  private final HttpServer server;
  private final ExecutorService executor;
  private final HttpClient client;
  private final TaskQueries queries;
  private final PrometheusMeterRegistry prometheus;
  private final ActivitySource activity;
  private final Classification classification;
  private final int maxRequestBytes;
  private final String instance;
  private final URI uri;

  private HttpApi(
      HttpServer server,
      ExecutorService executor,
      FewShotConfig config,
      TaskQueries queries,
      PrometheusMeterRegistry prometheus,
      ActivitySource activity,
      Classification classification) {
    this.server = server;
    this.executor = executor;
    this.queries = queries;
    this.prometheus = prometheus;
    this.activity = activity;
    this.classification = config.httpClassifyEnabled() ? classification : null;
    this.maxRequestBytes = config.httpMaxRequestBytes();
    this.instance = config.httpAdvertisedHost() + ":" + server.getAddress().getPort();
    this.uri = URI.create("http://" + instance + "/");
    this.client =
        HttpClient.newBuilder()
            .connectTimeout(FORWARD_TIMEOUT)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
  }

  /**
   * Binds {@code fewshot.http.bind.address}:{@code fewshot.http.port} (0 picks a free port) and
   * serves until closed.
   *
   * @param queries the stores of the running service
   * @param prometheus the registry whose scrape {@code /metrics} answers
   * @param activity this instance's recent activity, for {@code /api/dashboard}
   * @param classification classifies images for {@code POST /api/tasks/{task}/classify}; may be
   *     null when {@code fewshot.http.classify.enabled} is false
   * @throws FewShotException when HTTP is off ({@code fewshot.http.port} -1), classification is
   *     enabled but missing, or the address cannot be bound
   */
  public static HttpApi start(
      FewShotConfig config,
      TaskQueries queries,
      PrometheusMeterRegistry prometheus,
      ActivitySource activity,
      Classification classification) {
    if (config.httpPort() < 0) {
      throw new FewShotException(
          "expected an HTTP port of 0 or more, found " + config.httpPort() + " (HTTP is off)");
    }
    if (config.httpClassifyEnabled() && classification == null) {
      throw new FewShotException(
          "expected a classification for " + FewShotConfig.HTTP_CLASSIFY_ENABLED_CONFIG + "=true, found none");
    }
    HttpServer server;
    try {
      server =
          HttpServer.create(new InetSocketAddress(config.httpBindAddress(), config.httpPort()), 0);
    } catch (IOException e) {
      throw new FewShotException(
          "cannot bind the HTTP API to "
              + config.httpBindAddress()
              + ":"
              + config.httpPort()
              + ": "
              + e.getMessage(),
          e);
    }
    AtomicInteger threads = new AtomicInteger();
    ExecutorService executor =
        Executors.newFixedThreadPool(
            THREADS,
            r -> {
              Thread t = new Thread(r, "fewshot-http-" + threads.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    HttpApi api =
        new HttpApi(server, executor, config, queries, prometheus, activity, classification);
    server.createContext("/", api::handle);
    server.setExecutor(executor);
    server.start();
    log.info("HTTP API at {} (bound to {})", api.uri, server.getAddress());
    return api;
  }

  /** Where other instances and users reach this API, e.g. {@code http://127.0.0.1:8080/}. */
  public URI uri() {
    return uri;
  }

  /** This instance as {@code host:port}, as the {@code learner.host} field names it. */
  public String instance() {
    return instance;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    try {
      executor.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A response: status, content type and body. */
  private record Response(int status, String contentType, byte[] body) {}

  private void handle(HttpExchange exchange) {
    Response response;
    try {
      response = route(exchange);
    } catch (ApiError e) {
      response = error(e.status(), e.getMessage());
    } catch (TaskQueries.Unavailable e) {
      response = error(503, e.getMessage());
    } catch (RuntimeException e) {
      log.error("HTTP {} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
      response =
          error(500, "expected to answer the request, found an internal error; see the log");
    }
    try {
      exchange.getResponseHeaders().set("Content-Type", response.contentType());
      exchange.getResponseHeaders().set("Cache-Control", "no-store");
      exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
      if (response.status() == 405) {
        exchange.getResponseHeaders().set("Allow", allowed(exchange));
      }
      exchange.sendResponseHeaders(response.status(), response.body().length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(response.body());
      }
    } catch (IOException e) {
      log.debug("cannot send the answer to {}: {}", exchange.getRemoteAddress(), e.getMessage());
    } finally {
      exchange.close();
    }
  }

  private Response route(HttpExchange exchange) {
    checkDeclaredLength(exchange);
    List<String> path = PathSegments.of(exchange.getRequestURI().getRawPath());
    String method = exchange.getRequestMethod();
    String expected = expectedMethod(path);
    if (expected == null) {
      throw new ApiError(
          404, "expected a path of the HTTP API, found '" + exchange.getRequestURI().getRawPath() + "'");
    }
    if (!expected.equals(method)) {
      throw new ApiError(
          405,
          "expected "
              + expected
              + " for '"
              + exchange.getRequestURI().getRawPath()
              + "', found "
              + method);
    }
    if (path.isEmpty()) {
      return staticFile("index.html");
    }
    if (path.size() == 1) {
      return switch (path.get(0)) {
        case "health" -> health();
        case "ready" -> ready();
        case "metrics" ->
            new Response(200, PROMETHEUS_TEXT, prometheus.scrape().getBytes(StandardCharsets.UTF_8));
        default -> staticFile(path.get(0));
      };
    }
    if (path.size() == 2) {
      return path.get(1).equals("tasks") ? json(200, tasks()) : json(200, dashboard());
    }
    String task = path.get(2);
    if (path.size() == 3) {
      return json(200, task(task));
    }
    if (path.get(3).equals("learner")) {
      return json(200, localLearner(task));
    }
    return classify(exchange, task);
  }

  /** The method a path takes, or null for a path that is not part of the API. */
  private static String expectedMethod(List<String> path) {
    int n = path.size();
    if (n == 0) {
      return "GET";
    }
    if (n == 1) {
      String name = path.get(0);
      return Set.of("health", "ready", "metrics").contains(name) || STATIC_FILES.containsKey(name)
          ? "GET"
          : null;
    }
    if (!path.get(0).equals("api")) {
      return null;
    }
    if (n == 2) {
      return path.get(1).equals("tasks") || path.get(1).equals("dashboard") ? "GET" : null;
    }
    if (!path.get(1).equals("tasks") || n > 4) {
      return null;
    }
    if (n == 3) {
      return "GET";
    }
    return switch (path.get(3)) {
      case "learner" -> "GET";
      case "classify" -> "POST";
      default -> null;
    };
  }

  private static String allowed(HttpExchange exchange) {
    try {
      String method = expectedMethod(PathSegments.of(exchange.getRequestURI().getRawPath()));
      return method == null ? "GET" : method;
    } catch (ApiError e) {
      return "GET";
    }
  }

  private void checkDeclaredLength(HttpExchange exchange) {
    String declared = exchange.getRequestHeaders().getFirst("Content-Length");
    if (declared == null) {
      return;
    }
    long length;
    try {
      length = Long.parseLong(declared.strip());
    } catch (NumberFormatException e) {
      throw new ApiError(400, "expected a number as Content-Length, found '" + declared + "'");
    }
    if (length > maxRequestBytes) {
      throw tooLarge(length + " bytes declared");
    }
  }

  private ApiError tooLarge(String found) {
    return new ApiError(
        413,
        "expected a request body of at most "
            + maxRequestBytes
            + " bytes ("
            + FewShotConfig.HTTP_MAX_REQUEST_BYTES_CONFIG
            + "), found "
            + found);
  }

  /** Reads the body, counting as it goes: a chunked body has no length to check up front. */
  private byte[] body(HttpExchange exchange) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[64 * 1024];
    try (InputStream in = exchange.getRequestBody()) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        if (out.size() + (long) n > maxRequestBytes) {
          throw tooLarge("more");
        }
        out.write(buffer, 0, n);
      }
    } catch (IOException e) {
      throw new ApiError(400, "expected a complete request body, found it cut off: " + e.getMessage());
    }
    return out.toByteArray();
  }

  private Response health() {
    return queries.alive() ? status(200, "UP") : status(503, "DOWN");
  }

  private Response ready() {
    return queries.running() ? status(200, "READY") : status(503, "NOT_READY");
  }

  private Response status(int code, String status) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("status", status);
    m.put("state", queries.state());
    return json(code, m);
  }

  private Map<String, Object> tasks() {
    List<Map<String, Object>> tasks = new ArrayList<>();
    for (ModelSnapshot s : queries.snapshots()) {
      Map<String, Object> t = new LinkedHashMap<>();
      t.put("task", s.task());
      t.put("version", s.version());
      t.put("method", s.method());
      t.put("fineTuning", s.fineTuning());
      t.put("classes", s.classes().size());
      t.put("supportExamples", s.supportExamples());
      t.put("poolQueries", s.poolQueries());
      t.put("createdAt", s.createdAt());
      tasks.add(t);
    }
    return Map.of("tasks", tasks);
  }

  private Map<String, Object> task(String task) {
    ModelSnapshot snapshot =
        queries
            .snapshot(task)
            .orElseThrow(
                () ->
                    new ApiError(
                        404,
                        "expected a task with a model, found no task '"
                            + task
                            + "'; publish support examples for it first"));
    Map<String, Object> view = new LinkedHashMap<>();
    ObjectNode fields = mapper.valueToTree(snapshot);
    for (String name : SNAPSHOT_FIELDS) {
      view.put(name, fields.get(name));
    }
    // Fields added to snapshots later (e.g. a training loss) show without a change here.
    for (Map.Entry<String, JsonNode> field : fields.properties()) {
      if (!view.containsKey(field.getKey()) && !HIDDEN_SNAPSHOT_FIELDS.contains(field.getKey())) {
        view.put(field.getKey(), field.getValue());
      }
    }
    view.put("classes", classes(snapshot));
    view.put("learner", learner(task));
    return view;
  }

  private static List<Map<String, Object>> classes(ModelSnapshot snapshot) {
    List<Map<String, Object>> classes = new ArrayList<>();
    for (ModelSnapshot.ClassWeights c : snapshot.classes()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("label", c.label());
      m.put("examples", c.examples());
      classes.add(m);
    }
    return classes;
  }

  /** The learner state of a task, from this instance or forwarded from the one that owns it. */
  private Object learner(String task) {
    Optional<TaskQueries.LearnerState> local = queries.localLearner(task);
    if (local.isPresent()) {
      return learnerView(local.get());
    }
    Optional<String> owner = queries.owner(task);
    if (owner.isEmpty() || owner.get().equals(instance)) {
      throw new ApiError(
          503,
          "expected the learner state of task '"
              + task
              + "' on "
              + owner.orElse("its owner")
              + ", found none yet (the owner is starting or restoring); retry");
    }
    return forward(owner.get(), task);
  }

  private JsonNode forward(String owner, String task) {
    URI target = URI.create("http://" + owner + "/api/tasks/" + PathSegments.encode(task) + "/learner");
    HttpResponse<byte[]> answer;
    try {
      answer =
          client.send(
              HttpRequest.newBuilder(target).timeout(FORWARD_TIMEOUT).GET().build(),
              HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw new ApiError(
          502, "expected an answer from " + target + ", found " + e.getClass().getSimpleName() + ": " + e.getMessage());
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
          "expected the learner state of task '" + task + "' from " + owner + ", found: " + why);
    }
    return body;
  }

  private Map<String, Object> localLearner(String task) {
    return learnerView(
        queries
            .localLearner(task)
            .orElseThrow(
                () ->
                    new ApiError(
                        404,
                        "expected the learner state of task '"
                            + task
                            + "' on this instance ("
                            + instance
                            + "), found none; it is not a task of this instance")));
  }

  private Map<String, Object> learnerView(TaskQueries.LearnerState state) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("host", instance);
    m.put("supportChanges", state.supportChanges());
    m.put("poolAdds", state.poolAdds());
    m.put("poolCount", state.poolCount());
    m.put("pendingFineTune", state.pendingFineTune());
    return m;
  }

  private Map<String, Object> dashboard() {
    Map<String, Object> d = new LinkedHashMap<>();
    d.put("instance", instance);
    d.put("state", queries.state());
    List<Map<String, Object>> tasks = new ArrayList<>();
    try {
      for (ModelSnapshot s : queries.snapshots()) {
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("task", s.task());
        t.put("version", s.version());
        t.put("method", s.method());
        t.put("classes", classes(s));
        tasks.add(t);
      }
    } catch (TaskQueries.Unavailable e) {
      // The dashboard keeps polling through a rebalance; the state field says why tasks is empty.
      tasks = List.of();
    }
    d.put("tasks", tasks);
    d.put("predictionsPerSecond", activity.predictionsPerSecond());
    List<Map<String, Object>> bins = new ArrayList<>();
    for (ActivitySource.ConfidenceBin bin : activity.confidence()) {
      bins.add(Map.of("upTo", bin.upTo(), "count", bin.count()));
    }
    d.put("confidence", bins);
    List<Map<String, Object>> recent = new ArrayList<>();
    for (RecentActivity.RecentPrediction r : activity.predictions()) {
      Prediction p = r.prediction();
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("task", p.task());
      m.put("queryId", p.queryId());
      m.put("label", p.label());
      m.put("probability", p.probability());
      m.put("method", p.method());
      m.put("modelVersion", p.modelVersion());
      m.put("latencyMs", p.latencyMs());
      m.put("predictedAt", p.predictedAt());
      byte[] image = r.image();
      m.put(
          "thumbnail",
          image == null || r.imageContentType() == null
              ? null
              : "data:" + r.imageContentType() + ";base64," + Base64.getEncoder().encodeToString(image));
      recent.add(m);
    }
    d.put("recent", recent);
    List<Map<String, Object>> fineTunes = new ArrayList<>();
    for (RecentActivity.FineTuneEvent f : activity.fineTunes()) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("task", f.task());
      m.put("version", f.version());
      m.put("method", f.method());
      m.put("millis", f.millis());
      m.put("finalLoss", f.finalLoss());
      m.put("outcome", f.outcome());
      m.put("at", f.at());
      fineTunes.add(m);
    }
    d.put("fineTunes", fineTunes);
    d.put("deadLetters", activity.deadLettersByReason());
    return d;
  }

  private Response classify(HttpExchange exchange, String task) {
    if (classification == null) {
      throw new ApiError(
          403,
          "expected "
              + FewShotConfig.HTTP_CLASSIFY_ENABLED_CONFIG
              + "=true to classify over HTTP, found it false; publish to the queries topic instead");
    }
    Map<String, String> params = QueryParameters.of(exchange.getRequestURI().getRawQuery());
    Integer topK = null;
    if (params.containsKey("topK")) {
      try {
        topK = Integer.valueOf(params.get("topK"));
      } catch (NumberFormatException e) {
        topK = 0;
      }
      if (topK < 1) {
        throw new ApiError(400, "expected topK to be a whole number >= 1, found '" + params.get("topK") + "'");
      }
    }
    String queryId = params.getOrDefault("queryId", "http-" + UUID.randomUUID());
    byte[] image = body(exchange);
    Prediction prediction;
    try {
      prediction = classification.classify(task, queryId, image, topK);
    } catch (InvalidImageException e) {
      throw new ApiError(400, e.getMessage());
    } catch (InvalidEventException e) {
      throw new ApiError(e.reason() == DeadLetterReason.UNKNOWN_TASK ? 404 : 409, e.getMessage());
    }
    return new Response(200, JSON, codec.write(prediction));
  }

  private Response staticFile(String name) {
    String type = STATIC_FILES.get(name);
    try (InputStream in = HttpApi.class.getResourceAsStream("/dashboard/" + name)) {
      if (type == null || in == null) {
        throw new ApiError(404, "expected the dashboard file '" + name + "', found it missing from the build");
      }
      return new Response(200, type, in.readAllBytes());
    } catch (IOException e) {
      throw new ApiError(500, "expected to read the dashboard file '" + name + "', found: " + e.getMessage());
    }
  }

  private Response json(int status, Object value) {
    try {
      return new Response(status, JSON, mapper.writeValueAsBytes(value));
    } catch (IOException e) {
      throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
    }
  }

  private Response error(int status, String message) {
    return json(status, Map.of("error", message));
  }
}
