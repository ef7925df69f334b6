package io.fewshotstreams.serving;

import io.fewshotstreams.TestClients;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.deploy.DeployFilesTest;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.FeedbackEvent;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.FewShotConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard of a real running instance, as the demo serves it, in headless Chromium: it shows
 * the task's classes and the predictions with their images as they arrive, then the live accuracy
 * of the feedback sent for some of those predictions, exactly as computed here from the
 * predictions and the labels sent, without console errors.
 */
class DashboardLiveIT {
  private static final String TASK = "fashion-demo";
  private static final Duration WAIT = Duration.ofSeconds(30);
  /**
   * Queries and their feedback go in two batches of five, a new snapshot version between the
   * batches, so the versions table has two rows to compare and the trend two points at least. The
   * first batch's second and fourth labels sent are wrong ones, the rest say the answer was right
   * (an unknown answer is wrong whatever the label: a false unknown).
   */
  private static final int BATCH = 5;

  @TempDir Path stateDir;

  @Test
  void shouldShowTheLiveClassesAndPredictionsOfARunningService() throws Exception {
    assumeTrue(BrowserPage.isAvailable(), "needs Debian's chromium and chromium-driver");
    SampleImages.Split split = SampleImages.split(5);
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
        ServiceInstance service =
            ServiceInstance.start(config(broker.bootstrapServers()), embedder, true, WAIT);
        KafkaProducer<String, byte[]> producer = TestClients.producer(broker.bootstrapServers())) {
      URI dashboard = service.http().orElseThrow();
      EventCodec codec = new EventCodec();
      for (SampleImage s : split.support()) {
        producer.send(
            new ProducerRecord<>(
                "fewshot-support",
                TASK,
                codec.write(
                    new SupportEvent.AddExample(
                        1, TASK, s.label(), s.name(), new Image(Image.PNG, s.png()), null))));
      }
      producer.flush();
      try (BrowserPage page = BrowserPage.open(dashboard, 1280, 900)) {
        page.waitUntil(
            "the task's five classes",
            () -> page.texts("[data-task='" + TASK + "'] .classes .label").size() == 5,
            WAIT);
        assertThat(page.texts("[data-task='" + TASK + "'] .classes .label"))
            .containsExactlyInAnyOrderElementsOf(split.labels());

        String panel = "#accuracy [data-task='" + TASK + "'] ";
        List<Prediction> answers = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> predictions =
            TestClients.readCommittedConsumer(broker.bootstrapServers(), "dashboard-live-it-")) {
          predictions.subscribe(List.of("fewshot-predictions"));
          sendQueries(producer, split.queries().subList(0, BATCH));
          page.waitUntil(
              "a prediction row with its image loaded",
              () ->
                  Boolean.TRUE.equals(
                      page.script(
                          "const img = document.querySelector('#recent img');"
                              + " return img !== null && img.complete && img.naturalWidth > 0;")),
              WAIT);
          answers.addAll(read(predictions, BATCH));
          // One more support example makes a new snapshot version, so the second half of the
          // queries is answered by another version than the first: the versions table compares.
          long first = answers.stream().mapToLong(Prediction::modelVersion).max().getAsLong();
          SampleImage extra = split.queries().get(2 * BATCH);
          producer.send(
              new ProducerRecord<>(
                  "fewshot-support",
                  TASK,
                  codec.write(
                      new SupportEvent.AddExample(
                          1,
                          TASK,
                          extra.label(),
                          extra.name(),
                          new Image(Image.PNG, extra.png()),
                          null))));
          producer.flush();
          page.waitUntil(
              "a snapshot version after v" + first,
              () -> {
                String shown = page.text("#tasks [data-task='" + TASK + "'] .version");
                return shown.matches("\\d+") && Long.parseLong(shown) > first;
              },
              WAIT);
          sendQueries(producer, split.queries().subList(BATCH, 2 * BATCH));
          answers.addAll(read(predictions, BATCH));
        }
        page.waitUntil(
            "all ten predictions", () -> page.texts("#recent tr.prediction").size() == 10, WAIT);
        page.screenshot(Path.of("target", "dashboard", "dashboard-live.png"));
        assertThat(page.text(panel + ".no-feedback")).isEqualTo("no feedback yet");
        assertThat(answers.stream().map(Prediction::modelVersion).distinct())
            .as("versions that answered")
            .hasSizeGreaterThanOrEqualTo(2);

        List<Outcome> outcomes = new ArrayList<>();
        for (int from = 0; from < answers.size(); from += BATCH) {
          // The truth comes later than the answer (the join needs the kept prediction).
          Thread.sleep(500);
          for (Prediction p : answers.subList(from, from + BATCH)) {
            String truth =
                outcomes.size() == 1 || outcomes.size() == 3
                    ? split.labels().stream().filter(l -> !l.equals(p.label())).findFirst().get()
                    : p.label();
            producer.send(
                new ProducerRecord<>(
                    "fewshot-feedback",
                    TASK,
                    codec.write(new FeedbackEvent(1, TASK, p.queryId(), truth, null))));
            outcomes.add(new Outcome(p, truth));
          }
          producer.flush();
          long sent = outcomes.size();
          String shown = outcomes.stream().filter(Outcome::right).count() + " of " + sent;
          page.waitUntil(
              "the live accuracy of the " + sent + " outcomes so far",
              () -> page.text(panel + ".since-counts").equals(shown),
              WAIT);
        }
        long right = outcomes.stream().filter(Outcome::right).count();
        int total = outcomes.size();
        assertThat(right).as("some answers right, so the counts can differ").isPositive();
        String counts = right + " of " + total;

        // catches: a panel that shows nothing, a count off by one, the wrong breakdown
        assertThat(page.text(panel + ".window-counts")).isEqualTo(counts);
        assertThat(page.text(panel + ".window-accuracy")).isEqualTo(percent(right, total));
        assertThat(page.text(panel + ".since-accuracy")).isEqualTo(percent(right, total));
        assertThat(page.text(panel + ".window-size")).as("the default window").isEqualTo("200");
        assertThat(page.texts(panel + "tr.version")).containsExactlyElementsOf(versionRows(outcomes));
        Map<String, String> cells = DashboardPageIT.cells(page, panel);
        Map<String, String> expected = confusion(outcomes);
        assertThat(cells).containsAllEntriesOf(expected);
        assertThat(cells.values().stream().filter(v -> !v.equals("0")))
            .as("every cell not counted here is 0")
            .hasSize(expected.size());
        assertThat(page.texts(panel + ".bin .count")).containsExactlyElementsOf(bins(outcomes));
        assertThat(Double.parseDouble(page.text(panel + ".ece")))
            .as("shown with 3 decimals")
            .isCloseTo(ece(outcomes), within(0.0005 + 1e-12));
        String trend =
            (String)
                page.script(
                    "return document.querySelector(arguments[0]).getAttribute('points');",
                    panel + ".trend polyline");
        assertThat(trend)
            .as("the trend ends at the window accuracy (y = 100 - 100 x accuracy)")
            .endsWith("," + String.format(Locale.ROOT, "%.1f", 100 - 100.0 * right / total));
        assertThat(
                Integer.parseInt(
                    (String)
                        page.script(
                            "return document.querySelector(arguments[0]).dataset.samples;",
                            panel + ".trend polyline")))
            .as("a window accuracy for each batch at least: the page keeps the history")
            .isGreaterThanOrEqualTo(2);

        String metrics = get(dashboard.resolve("/metrics"));
        // The names the Grafana dashboard's feedback row queries are really exported.
        DeployFilesTest.FEEDBACK_METRICS.forEach(
            (name, kind) ->
                kind.suffixes.forEach(
                    suffix -> assertThat(metrics).contains("\n" + name + suffix + "{")));
        page.script("document.getElementById('accuracy-section').scrollIntoView();");
        page.screenshot(Path.of("target", "dashboard", "dashboard-live-accuracy.png"));
        assertThat(DashboardPageIT.pageErrors(page)).isEmpty();
      }
    }
  }

  /** What the feedback room makes of a prediction and its true label (docs/feedback.md). */
  private record Outcome(Prediction prediction, String truth) {
    boolean right() {
      return !prediction.unknown() && prediction.label().equals(truth);
    }

    String row() {
      return prediction.unknown() ? "<unknown>" : prediction.label();
    }
  }

  /** The next {@code n} predictions, in the order they were written. */
  private static List<Prediction> read(KafkaConsumer<String, byte[]> consumer, int n) {
    EventCodec codec = new EventCodec();
    List<Prediction> out = new ArrayList<>();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (out.size() < n && System.nanoTime() < deadline) {
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
        out.add(codec.readPrediction(r.value()));
      }
    }
    assertThat(out).as("predictions read within " + WAIT).hasSize(n);
    return out;
  }

  private static void sendQueries(KafkaProducer<String, byte[]> producer, List<SampleImage> queries) {
    EventCodec codec = new EventCodec();
    for (SampleImage q : queries) {
      producer.send(
          new ProducerRecord<>(
              "fewshot-queries",
              TASK,
              codec.write(
                  new QueryEvent(1, TASK, q.name(), new Image(Image.PNG, q.png()), null, null))));
    }
    producer.flush();
  }

  /** As the page writes a share: one decimal, then " %". */
  private static String percent(long part, long whole) {
    return String.format(Locale.ROOT, "%.1f %%", 100.0 * part / whole);
  }

  /** The rows of the versions table: version, method, accuracy, counts, change to the one before. */
  private static List<String> versionRows(List<Outcome> outcomes) {
    TreeMap<Long, List<Outcome>> byVersion = new TreeMap<>();
    outcomes.forEach(
        o -> byVersion.computeIfAbsent(o.prediction().modelVersion(), v -> new ArrayList<>()).add(o));
    List<String> rows = new ArrayList<>();
    Double previous = null;
    for (Map.Entry<Long, List<Outcome>> e : byVersion.entrySet()) {
      long right = e.getValue().stream().filter(Outcome::right).count();
      int n = e.getValue().size();
      double accuracy = (double) right / n;
      String change = "–";
      if (previous != null) {
        double points = 100 * (accuracy - previous);
        String sign = points > 0 ? "▲ +" : points < 0 ? "▼ −" : "= ";
        change = sign + String.format(Locale.ROOT, "%.1f", Math.abs(points)) + " pts";
      }
      rows.add(
          "v" + e.getKey() + " " + e.getValue().get(0).prediction().method() + " "
              + percent(right, n) + " " + right + " of " + n + " " + change);
      previous = accuracy;
    }
    return rows;
  }

  /** "answer|truth" to count, for the cells that count something. */
  private static Map<String, String> confusion(List<Outcome> outcomes) {
    Map<String, Long> counts = new TreeMap<>();
    outcomes.forEach(o -> counts.merge(o.row() + "|" + o.truth(), 1L, Long::sum));
    Map<String, String> cells = new TreeMap<>();
    counts.forEach((cell, n) -> cells.put(cell, String.valueOf(n)));
    return cells;
  }

  /** Outcomes per confidence bin [0, 0.1) ... [0.9, 1], as the bars' counts. */
  private static List<String> bins(List<Outcome> outcomes) {
    long[] bins = new long[10];
    outcomes.forEach(o -> bins[bin(o.prediction().probability())]++);
    return Arrays.stream(bins).mapToObj(String::valueOf).toList();
  }

  private static int bin(double probability) {
    return Math.max(0, Math.min(9, (int) Math.floor(probability * 10)));
  }

  /** Expected calibration error: per bin |right - sum of confidences|, over all outcomes. */
  private static double ece(List<Outcome> outcomes) {
    double[] gap = new double[10];
    for (Outcome o : outcomes) {
      int b = bin(o.prediction().probability());
      gap[b] += (o.right() ? 1 : 0) - o.prediction().probability();
    }
    return Arrays.stream(gap).map(Math::abs).sum() / outcomes.size();
  }

  private static String get(URI uri) throws Exception {
    HttpResponse<String> answer =
        HttpClient.newHttpClient()
            .send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).as(uri + ": " + answer.body()).isEqualTo(200);
    return answer.body();
  }

  private FewShotConfig config(String bootstrap) {
    Map<String, Object> settings = new HashMap<>();
    settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    settings.put(StreamsConfig.APPLICATION_ID_CONFIG, "dashboard-live-it");
    settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    settings.put(FewShotConfig.HTTP_PORT_CONFIG, 0);
    settings.put(FewShotConfig.TOPIC_PARTITIONS_CONFIG, 1);
    // Every answer below certainty goes to review, so the review counter is exported too.
    settings.put(FewShotConfig.REVIEW_THRESHOLD_CONFIG, "*=1.0");
    return new FewShotConfig(settings);
  }
}
