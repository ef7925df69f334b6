package io.fewshotstreams.serving;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.fewshotstreams.FewShotException;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.TaskQueries;
import io.fewshotstreams.streaming.feedback.FeedbackQueries;
import io.fewshotstreams.streaming.query.Classification;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API of one instance (see docs/http-api.md): JSON everywhere, errors as {@code
 * {"error": "..."}} with a 4xx or 5xx status and never a stack trace. Only GET is served, besides
 * POST to classify an image when {@code fewshot.http.classify.enabled}.
 *
 * <p>Every path and method is in one table ({@link #routes}); unknown paths (404) and wrong methods
 * (405) follow from it. The learner state of a task lives on the instance that owns the task's
 * partition; asked elsewhere, this API forwards the question to that instance (found through Kafka
 * Streams' {@code application.server}) and embeds the answer.
 */
public final class HttpApi implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
  /** Requests worked on at once; the API is light and must not starve the stream threads. */
  static final int WORKERS = 4;
  /**
   * Connections read at once. The JDK server reads a request's line and headers on an executor
   * thread, so a client that trickles its request holds a thread for as long as it trickles; with
   * room for many more readers than workers, a few slow clients cannot keep the probes out. A
   * connection beyond this is closed at once.
   */
  static final int READERS = 64;
  /** Longest wait of a request for one of the {@link #WORKERS} before it gets a 503. */
  private static final long WORKER_WAIT_MS = 10_000;

  static {
    // Read once per JVM, when the JDK server's classes load, so set before the first server starts
    // (and only where the user set nothing). A request whose line, headers and body have not come
    // within maxReqTime seconds is closed, which also frees the reader thread of a slow client.
    setIfAbsent("sun.net.httpserver.maxReqTime", "30");
    setIfAbsent("sun.net.httpserver.maxRspTime", "60");
  }
  private static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final HttpServer server;
  private final ExecutorService executor;
  private final RequestBody body;
  private final Router router;
  private final Access access;
  private final Semaphore workers = new Semaphore(WORKERS, true);
  private final String instance;
  private final URI uri;

  private HttpApi(
      HttpServer server,
      ExecutorService executor,
      FewShotConfig config,
      TaskQueries queries,
      PrometheusMeterRegistry prometheus,
      ActivitySource activity,
      Classification classification,
      StaticFiles files,
      Access access) {
    this.server = server;
    this.access = access;
    this.executor = executor;
    this.instance = config.httpAdvertisedHost() + ":" + server.getAddress().getPort();
    this.uri = URI.create("http://" + instance + "/");
    this.body = new RequestBody(config.httpMaxRequestBytes());
    Forwarder forwarder = new Forwarder(access.guarded() ? config.httpAuthToken() : null);
    JsonViews views =
        new JsonViews(queries, activity, forwarder, instance, config.dashboardThumbnails());
    ClassifyHandler classify =
        new ClassifyHandler(config.httpClassifyEnabled() ? classification : null, body);
    List<Router.Route> routes = routes(views, classify, prometheus, files);
    if (config.feedbackEnabled()) {
      AccuracyView accuracy =
          new AccuracyView(new FeedbackQueries(queries, config), forwarder, instance);
      routes.add(
          Router.Route.get("/api/tasks/{task}/accuracy", r -> accuracy.accuracy(r.variable("task"))));
      routes.add(
          Router.Route.get(
              "/api/tasks/{task}/accuracy/local", r -> accuracy.localAccuracy(r.variable("task"))));
    }
    this.router = new Router(routes);
  }

  /** Every path of the API with its method and handler; nothing is served that is not here. */
  private static List<Router.Route> routes(
      JsonViews views,
      ClassifyHandler classify,
      PrometheusMeterRegistry prometheus,
      StaticFiles files) {
    List<Router.Route> routes = new ArrayList<>();
    routes.add(Router.Route.get("/health", r -> views.health()));
    routes.add(Router.Route.get("/ready", r -> views.ready()));
    routes.add(
        Router.Route.get(
            "/metrics",
            r ->
                new Response(
                    200, PROMETHEUS_TEXT, prometheus.scrape().getBytes(StandardCharsets.UTF_8))));
    routes.add(Router.Route.get("/api/tasks", r -> views.tasks()));
    routes.add(Router.Route.get("/api/dashboard", r -> views.dashboard()));
    routes.add(Router.Route.get("/api/tasks/{task}", r -> views.task(r.variable("task"))));
    routes.add(
        Router.Route.get(
            "/api/tasks/{task}/learner", r -> views.localLearner(r.variable("task"))));
    routes.add(Router.Route.post("/api/tasks/{task}/classify", classify::classify));
    routes.add(Router.Route.get("/", r -> files.serve("index.html")));
    for (String name : StaticFiles.names()) {
      routes.add(Router.Route.get("/" + name, r -> files.serve(name)));
    }
    return routes;
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
    return start(config, queries, prometheus, activity, classification, StaticFiles.dashboard());
  }

  /**
   * As {@link #start(FewShotConfig, TaskQueries, PrometheusMeterRegistry, ActivitySource,
   * Classification) start}, serving the dashboard's files from {@code files}.
   */
  static HttpApi start(
      FewShotConfig config,
      TaskQueries queries,
      PrometheusMeterRegistry prometheus,
      ActivitySource activity,
      Classification classification,
      StaticFiles files) {
    if (config.httpPort() < 0) {
      throw new FewShotException(
          "expected an HTTP port of 0 or more, found " + config.httpPort() + " (HTTP is off)");
    }
    if (config.httpClassifyEnabled() && classification == null) {
      throw new FewShotException(
          "expected a classification for "
              + FewShotConfig.HTTP_CLASSIFY_ENABLED_CONFIG
              + "=true, found none");
    }
    Access access = Access.of(config);
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
        new ThreadPoolExecutor(
            0,
            READERS,
            30,
            TimeUnit.SECONDS,
            new SynchronousQueue<>(),
            r -> {
              Thread t = new Thread(r, "fewshot-http-" + threads.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    HttpApi api =
        new HttpApi(
            server,
            executor,
            config,
            queries,
            prometheus,
            activity,
            classification,
            files,
            access);
    server.createContext("/", api::handle);
    server.setExecutor(executor);
    server.start();
    log.info(
        "HTTP API at {} (bound to {}; /api/ {})",
        api.uri,
        server.getAddress(),
        access.guarded() ? "wants the bearer token" : "open to every reader of the port");
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

  private void handle(HttpExchange exchange) {
    Response response;
    String path = exchange.getRequestURI().getRawPath();
    boolean probe = path.equals("/health") || path.equals("/ready");
    boolean working = false;
    try {
      if (Access.isGuardedPath(path)
          && !access.admits(exchange.getRequestHeaders().getFirst("Authorization"))) {
        response =
            Response.error(
                    401,
                    "expected 'Authorization: Bearer <token>' with the token of "
                        + FewShotConfig.HTTP_AUTH_TOKEN_CONFIG
                        + ", found "
                        + (exchange.getRequestHeaders().containsKey("Authorization")
                            ? "another token"
                            : "no Authorization header"))
                .withHeader("WWW-Authenticate", "Bearer realm=\"fewshot-streams\"");
      } else {
        // The probes are cheap and must answer while the workers are busy.
        working = !probe && acquireWorker();
        if (!probe && !working) {
          response =
              Response.error(
                  503,
                  "expected a free worker within "
                      + WORKER_WAIT_MS
                      + " ms, found all "
                      + WORKERS
                      + " busy; retry");
        } else {
          body.checkDeclaredLength(exchange);
          response = router.dispatch(exchange);
        }
      }
    } catch (ApiError e) {
      response = Response.error(e.status(), e.getMessage());
    } catch (TaskQueries.Unavailable e) {
      response = Response.error(503, e.getMessage());
    } catch (RuntimeException e) {
      log.error("HTTP {} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
      response =
          Response.error(
              500, "expected to answer the request, found an internal error; see the log");
    }
    try {
      exchange.getResponseHeaders().set("Content-Type", response.contentType());
      exchange.getResponseHeaders().set("Cache-Control", "no-store");
      exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
      for (Map.Entry<String, String> header : response.headers().entrySet()) {
        exchange.getResponseHeaders().set(header.getKey(), header.getValue());
      }
      exchange.sendResponseHeaders(response.status(), response.body().length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(response.body());
      }
    } catch (IOException e) {
      log.debug("cannot send the answer to {}: {}", exchange.getRemoteAddress(), e.getMessage());
    } finally {
      if (working) {
        workers.release();
      }
      exchange.close();
    }
  }

  private boolean acquireWorker() {
    try {
      return workers.tryAcquire(WORKER_WAIT_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static void setIfAbsent(String property, String value) {
    if (System.getProperty(property) == null) {
      System.setProperty(property, value);
    }
  }
}
