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
import java.util.List;
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
 * /api/dashboard} with a fixture (tools/fixtures/make_dashboard_fixture.py) and {@code GET
 * /api/tasks/fashion-demo/accuracy} with {@link #ACCURACY}; the fixture's other task has no
 * feedback (404, as the service answers). Skips when Chromium or ChromeDriver is not installed.
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

  /**
   * The live accuracy of fashion-demo after four outcomes, trimmed to the fields the page reads
   * (LiveAccuracyTest covers the full view): v6 prototypes answered Coat for a Coat (confidence
   * 0.6) and Shirt for a Coat (0.45), v7 fine-tuned Sneaker and Ankle boot rightly (0.92, 0.97).
   * So 3 of 4 right, v6 1 of 2, v7 2 of 2, and ECE (|1 - 0.6| + |0 - 0.45| + |2 - 1.89|) / 4.
   */
  static final String ACCURACY =
      """
{"host": "127.0.0.1:8080", "task": "fashion-demo",
 "sinceStart": {"overall": {"outcomes": 4, "correct": 3, "accuracy": 0.75, "results": {"correct": 3, "wrong": 1},
  "unknownAnswers": 0, "unknownRight": 0, "ece": 0.24, "reliability": [
   {"lower": 0.0, "upper": 0.1, "outcomes": 0, "correct": 0, "accuracy": null, "meanConfidence": null},
   {"lower": 0.1, "upper": 0.2, "outcomes": 0, "correct": 0, "accuracy": null, "meanConfidence": null},
   {"lower": 0.2, "upper": 0.3, "outcomes": 0, "correct": 0, "accuracy": null, "meanConfidence": null},
   {"lower": 0.3, "upper": 0.4, "outcomes": 0, "correct": 0, "accuracy": null, "meanConfidence": null},
   {"lower": 0.4, "upper": 0.5, "outcomes": 1, "correct": 0, "accuracy": 0.0, "meanConfidence": 0.45},
   {"lower": 0.5, "upper": 0.6, "outcomes": 0, "correct": 0, "accuracy": null, "meanConfidence": null},
   {"lower": 0.6, "upper": 0.7, "outcomes": 1, "correct": 1, "accuracy": 1.0, "meanConfidence": 0.6},
   {"lower": 0.7, "upper": 0.8, "outcomes": 0, "correct": 0, "accuracy": null, "meanConfidence": null},
   {"lower": 0.8, "upper": 0.9, "outcomes": 0, "correct": 0, "accuracy": null, "meanConfidence": null},
   {"lower": 0.9, "upper": 1.0, "outcomes": 2, "correct": 2, "accuracy": 1.0, "meanConfidence": 0.945}],
  "confusion": {"Ankle boot": {"Ankle boot": 1}, "Coat": {"Coat": 1}, "Shirt": {"Coat": 1},
   "Sneaker": {"Sneaker": 1}}},
  "byMethod": {},
  "byVersion": [
   {"version": 6, "method": "prototypes", "outcomes": 2, "correct": 1, "accuracy": 0.5},
   {"version": 7, "method": "fine-tuned", "outcomes": 2, "correct": 2, "accuracy": 1.0}]},
 "window": {"overall": {"outcomes": 4, "correct": 3, "accuracy": 0.75}, "byMethod": {},
  "byVersion": [], "size": 200}}
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
    assertThat(pageErrors(page)).isEmpty();
    page.screenshot(Path.of("target", "dashboard", "dashboard.png"));
  }

  @Test
  void shouldShowTheLiveAccuracyOfATaskAndNoFeedbackYetForAnother() throws IOException {
    page.navigate(uri);
    String demo = "#accuracy [data-task='fashion-demo'] ";
    page.waitFor(demo + ".window-accuracy", WAIT);

    // catches: a panel that shows nothing, the wrong breakdown or a count left out
    assertThat(page.text(demo + ".window-accuracy")).isEqualTo("75.0 %");
    assertThat(page.text(demo + ".window-counts")).isEqualTo("3 of 4");
    assertThat(page.text(demo + ".window-size")).isEqualTo("200");
    assertThat(page.text(demo + ".since-counts")).isEqualTo("3 of 4");
    assertThat(page.texts(demo + "tr.version"))
        .containsExactly("v6 prototypes 50.0 % 1 of 2 –", "v7 fine-tuned 100.0 % 2 of 2 ▲ +50.0 pts");
    assertThat(page.script("return document.querySelector(arguments[0]).className;",
            demo + "tr.version[data-version='7'] .change"))
        .isEqualTo("num change up");
    assertThat(page.text(demo + ".ece")).as("(0.4 + 0.45 + 0.11) / 4").isEqualTo("0.240");
    assertThat(page.texts(demo + ".bin .count"))
        .containsExactly("0", "0", "0", "0", "1", "0", "1", "0", "0", "2");
    Map<String, String> cells = cells(page, demo);
    assertThat(cells).as("4 answers (rows) x 3 true labels (columns)").hasSize(12);
    assertThat(cells)
        .containsAllEntriesOf(
            Map.of(
                "Ankle boot|Ankle boot", "1",
                "Coat|Coat", "1",
                "Shirt|Coat", "1",
                "Sneaker|Sneaker", "1"));
    assertThat(cells.values().stream().filter(v -> !v.equals("0")))
        .as("every other cell is 0")
        .hasSize(4);
    assertThat(page.script("return document.querySelector(arguments[0]).dataset.samples;",
            demo + ".trend polyline"))
        .as("one window accuracy seen so far")
        .isEqualTo("1");
    page.waitUntil(
        "the calm note of the task without feedback",
        () -> page.text("#accuracy [data-task='shoes']").equals("shoes\nno feedback yet"),
        WAIT);
    assertThat(pageErrors(page)).isEmpty();
    page.script("document.getElementById('accuracy-section').scrollIntoView();");
    page.screenshot(Path.of("target", "dashboard", "dashboard-accuracy.png"));
  }

  /**
   * The confusion table of a task as "answer|truth" to the cell's text, read from the page.
   */
  @SuppressWarnings("unchecked")
  static Map<String, String> cells(BrowserPage page, String taskSelector) {
    return (Map<String, String>)
        page.script(
            "const out = {};"
                + " for (const td of document.querySelectorAll(arguments[0] + 'table.confusion td'))"
                + " out[td.dataset.predicted + '|' + td.dataset.true] = td.textContent;"
                + " return out;",
            taskSelector);
  }

  /**
   * The page's SEVERE console messages, less the browser's own report of each 404 from {@code
   * /api/tasks/{task}/accuracy}: a task without feedback answers 404, which the page shows as "no
   * feedback yet" but the browser logs as a failed load whatever the page does.
   */
  static List<String> pageErrors(BrowserPage page) {
    return page.severeConsoleMessages().stream()
        .filter(m -> !(m.contains("/accuracy - Failed to load resource") && m.contains(" 404 ")))
        .toList();
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
    assertThat(page.text("#accuracy")).isEqualTo("No tasks yet.");
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
      if (path.equals("/api/tasks/fashion-demo/accuracy")) {
        respond(exchange, 200, "application/json", ACCURACY);
      } else if (path.startsWith("/api/tasks/") && path.endsWith("/accuracy")) {
        String task = path.substring("/api/tasks/".length(), path.length() - "/accuracy".length());
        respond(
            exchange,
            404,
            "application/json",
            "{\"error\":\"expected outcomes of task '" + task
                + "', found none yet (no feedback joined)\"}");
      } else if (path.equals("/api/dashboard")) {
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
