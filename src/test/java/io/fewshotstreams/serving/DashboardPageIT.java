package io.fewshotstreams.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The dashboard page in a real headless browser, against a stand-in for the HTTP API that serves
 * the page from the classpath exactly as the application does and answers {@code GET
 * /api/dashboard} with a fixture (tools/fixtures/make_dashboard_fixture.py). Skips when Chromium or
 * ChromeDriver is not installed.
 */
class DashboardPageIT {
  /** The page polls every second; a few polls is plenty even on a loaded machine. */
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static final String EMPTY_DASHBOARD =
      """
{"instance":"127.0.0.1:8080","state":"REBALANCING","tasks":[],"predictionsPerSecond":0.0,
 "confidence":[{"upTo":0.1,"count":0},{"upTo":0.2,"count":0},{"upTo":0.3,"count":0},
   {"upTo":0.4,"count":0},{"upTo":0.5,"count":0},{"upTo":0.6,"count":0},{"upTo":0.7,"count":0},
   {"upTo":0.8,"count":0},{"upTo":0.9,"count":0},{"upTo":1.0,"count":0}],
 "recent":[],"fineTunes":[],"deadLetters":{}}
""";

  private final AtomicReference<String> dashboard = new AtomicReference<>();
  private final AtomicInteger dashboardStatus = new AtomicInteger(200);
  private static BrowserPage page;
  private HttpServer server;
  private URI uri;

  @BeforeAll
  static void startBrowser() throws IOException {
    assumeTrue(BrowserPage.isAvailable(), "needs Debian's chromium and chromium-driver");
    page = BrowserPage.open(URI.create("about:blank"), 1280, 900);
  }

  @AfterAll
  static void stopBrowser() {
    if (page != null) {
      page.close();
    }
  }

  @BeforeEach
  void startServer() throws IOException {
    dashboard.set(resource("/dashboard/dashboard.json"));
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::serve);
    server.start();
    uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
  }

  @AfterEach
  void stopServer() {
    if (server != null) {
      server.stop(0);
    }
  }

  @Test
  void shouldShowTheTasksARecentPredictionWithItsImageAndTheConfidenceBars() throws IOException {
    page.navigate(uri);
    page.waitFor("#recent img", WAIT);

    assertThat(page.text("#status")).contains("127.0.0.1:8080", "RUNNING", "live");
    assertThat(page.texts("[data-task='fashion-demo'] .classes .label"))
        .containsExactly("Pullover", "Coat", "Shirt", "Sneaker", "Ankle boot");
    assertThat(page.text("[data-task='fashion-demo']")).contains("v7", "fine-tuned");
    assertThat(page.text("#rate")).isEqualTo("4.2");
    // the fixture's 6 recent predictions, newest first; the last is an embedding query, no image
    assertThat(page.texts("#recent tr.prediction")).hasSize(6);
    assertThat(page.text("#recent tr.prediction")).contains("q-0120", "Ankle boot", "97.0 %");
    page.waitUntil(
        "the first thumbnail decoded",
        () ->
            ((Number) page.script("return document.querySelector('#recent img').naturalWidth;"))
                    .intValue()
                > 0,
        WAIT);
    assertThat(page.script("return document.querySelector('#recent img').naturalWidth;"))
        .as("the fixture's thumbnails are 28x28 Fashion-MNIST images")
        .isEqualTo(28L);
    assertThat(page.script("return document.querySelector('#recent img').alt;"))
        .isEqualTo("query q-0120");
    assertThat(page.texts("#confidence .bar")).as("one bar per tenth of probability").hasSize(10);
    assertThat(page.texts("#fine-tunes tr.fine-tune"))
        .as("the fixture's three fine-tunes")
        .hasSize(3);
    assertThat(page.text("#fine-tunes")).contains("transductive", "1.84 s", "0.212", "installed");
    assertThat(page.text("#dead-letters")).contains("INVALID_JSON", "3", "UNKNOWN_TASK");
    assertThat(page.severeConsoleMessages()).isEmpty();
    page.screenshot(Path.of("target", "dashboard", "dashboard.png"));
  }

  @Test
  void shouldSayDisconnectedWhileTheApiFailsOrIsUnreachable() throws IOException {
    dashboardStatus.set(503);
    page.navigate(uri);
    page.waitUntil(
        "the disconnected note",
        () -> page.text("#connection").equals("disconnected, retrying"),
        WAIT);

    dashboardStatus.set(200);
    page.waitUntil("the live note", () -> page.text("#connection").equals("live"), WAIT);
    assertThat(page.texts("#tasks .task")).as("the fixture's two tasks").hasSize(2);

    server.stop(0);
    server = null;
    page.waitUntil(
        "the disconnected note once nothing listens",
        () -> page.text("#connection").equals("disconnected, retrying"),
        WAIT);
    assertThat(page.texts("#tasks .task")).as("the last data stays on screen").hasSize(2);
    // The browser itself reports each failed request; anything else would be the page's fault.
    assertThat(page.severeConsoleMessages())
        .filteredOn(message -> !message.contains("Failed to load resource"))
        .isEmpty();
  }

  @Test
  void shouldSaySoWhenTheAnswerIsNotADashboard() {
    dashboard.set("null");
    page.navigate(uri);
    page.waitUntil(
        "the unexpected-answer note",
        () -> page.text("#connection").equals("unexpected answer, retrying"),
        WAIT);

    assertThat(page.severeConsoleMessages()).isEmpty();
  }

  @Test
  void shouldShowAnEmptyServiceWithoutErrors() throws IOException {
    dashboard.set(EMPTY_DASHBOARD);
    page.navigate(uri);
    page.waitUntil("the live note", () -> page.text("#connection").equals("live"), WAIT);

    assertThat(page.text("#state")).isEqualTo("REBALANCING");
    assertThat(page.text("#tasks")).isEqualTo("No tasks yet.");
    assertThat(page.text("#recent")).isEqualTo("No predictions yet.");
    assertThat(page.text("#fine-tunes")).isEqualTo("No fine-tunes yet.");
    assertThat(page.texts("#confidence .bar")).hasSize(10);
    assertThat(page.severeConsoleMessages()).isEmpty();
  }

  private void serve(HttpExchange exchange) throws IOException {
    try {
      String path = exchange.getRequestURI().getPath();
      Map<String, String> pages =
          Map.of(
              "/", "/dashboard/index.html",
              "/app.js", "/dashboard/app.js",
              "/style.css", "/dashboard/style.css");
      if (path.equals("/api/dashboard")) {
        int status = dashboardStatus.get();
        respond(
            exchange,
            status,
            "application/json",
            status == 200
                ? dashboard.get()
                : "{\"error\":\"expected RUNNING, found PENDING_SHUTDOWN\"}");
      } else if (pages.containsKey(path)) {
        String resource = pages.get(path);
        String type =
            resource.endsWith(".html")
                ? "text/html; charset=utf-8"
                : resource.endsWith(".js")
                    ? "text/javascript; charset=utf-8"
                    : "text/css; charset=utf-8";
        respond(exchange, 200, type, resource(resource));
      } else {
        respond(exchange, 404, "application/json", "{\"error\":\"no such path: " + path + "\"}");
      }
    } finally {
      exchange.close();
    }
  }

  private static void respond(HttpExchange exchange, int status, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = DashboardPageIT.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException("expected " + name + " on the classpath, found none");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }
}
