package io.fewshotstreams.streaming.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.deploy.DeployFilesTest;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.EventType;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.TopologyHarness;
import io.fewshotstreams.streaming.learner.FineTuneScheduler;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.distribution.CountAtBucket;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The metrics and recent activity of the topology, on Kafka's TopologyTestDriver. */
class TelemetryTest {
  private static final String TASK = "parts";
  private static final long INTERVAL_MS = TopologyHarness.INTERVAL_MS;
  /** The driver's wall clock at start; queries are stamped before it to give a known latency. */
  private static final long NOW_MS = 100_000;
  private static Embedder embedder;

  private final EventCodec codec = new EventCodec();
  @TempDir Path stateDir;
  private FewShotConfig config;
  private Telemetry telemetry;
  private TopologyHarness harness;
  private FineTuneScheduler scheduler;
  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> support;
  private TestInputTopic<String, byte[]> queries;
  private TestInputTopic<String, byte[]> modelsIn;
  private TestOutputTopic<String, byte[]> models;

  @BeforeAll
  static void openEmbedder() {
    embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
  }

  @AfterAll
  static void closeEmbedder() {
    embedder.close();
  }

  private void start(MeterRegistry registry, int recentPredictions) {
    harness =
        new TopologyHarness(
            TopologyHarness.settings("telemetry-test", stateDir, Map.of()),
            embedder,
            new Telemetry(registry, recentPredictions),
            NOW_MS);
    config = harness.config;
    telemetry = harness.telemetry;
    scheduler = harness.scheduler;
    driver = harness.driver;
    support = harness.support;
    queries = harness.queries;
    modelsIn = harness.input(config.modelsTopic());
    models = harness.models;
  }

  @AfterEach
  void stop() {
    if (harness != null) {
      harness.close();
    }
  }

  @Test
  void shouldCountEventsByTopicAndOutcomeAndDeadLettersByReason() {
    MeterRegistry registry = new SimpleMeterRegistry();
    start(registry, 10);
    add("A", "a1", axis(0, 1));
    add("B", "b1", axis(1, 2));
    support.pipeInput(TASK, "{not json".getBytes(StandardCharsets.UTF_8));
    query("q1", axis(0, 3), NOW_MS);
    queries.pipeInput(TASK, "[]".getBytes(StandardCharsets.UTF_8));
    queries.pipeInput(
        "elsewhere",
        codec.write(new QueryEvent(1, "elsewhere", "q2", null, axis(0, 4), null)));

    assertThat(count(registry, "fewshot.events", "topic", "support", "outcome", "ok")).isEqualTo(2);
    assertThat(count(registry, "fewshot.events", "topic", "support", "outcome", "dead_letter"))
        .isEqualTo(1);
    assertThat(count(registry, "fewshot.events", "topic", "queries", "outcome", "ok")).isEqualTo(1);
    assertThat(count(registry, "fewshot.events", "topic", "queries", "outcome", "dead_letter"))
        .isEqualTo(2);
    assertThat(
            count(
                registry,
                "fewshot.dead.letters",
                "reason",
                "INVALID_JSON",
                "topic",
                config.supportTopic()))
        .isEqualTo(1);
    assertThat(
            count(
                registry,
                "fewshot.dead.letters",
                "reason",
                "UNKNOWN_TASK",
                "topic",
                config.queriesTopic()))
        .isEqualTo(1);
    // "[]" is JSON but no query: a schema violation.
    assertThat(telemetry.activity().deadLettersByReason())
        .containsExactly(
            Map.entry("INVALID_JSON", 1L),
            Map.entry("SCHEMA_VIOLATION", 1L),
            Map.entry("UNKNOWN_TASK", 1L));
    assertThat(registry.get("fewshot.snapshots").tag("method", "prototypes").counter().count())
        .isEqualTo(2);
    assertThat(registry.get("fewshot.predictions").tag("method", "prototypes").counter().count())
        .isEqualTo(1);

    assertThat(gauge(registry, "fewshot.tasks")).isEqualTo(1);
    assertThat(gauge(registry, "fewshot.classes")).isEqualTo(2);
    assertThat(gauge(registry, "fewshot.snapshot.version.max")).isEqualTo(2);
    modelsIn.pipeInput(TASK, (byte[]) null);
    assertThat(gauge(registry, "fewshot.tasks")).as("the task's snapshot was deleted").isZero();
    assertThat(gauge(registry, "fewshot.classes")).isZero();
  }

  @Test
  void shouldTimeEmbeddingsAndPredictionsAndKeepTheNewestWithTheirImages() {
    MeterRegistry registry = new SimpleMeterRegistry();
    start(registry, 2);
    List<SampleImage> samples = SampleImages.load();
    SampleImage first = samples.get(0);
    SampleImage other =
        samples.stream().filter(s -> !s.label().equals(first.label())).findFirst().orElseThrow();
    addImage(first);
    addImage(other);
    // Stamped 250 ms before the driver's wall clock, which stands still while records flow.
    queries.pipeInput(
        TASK,
        codec.write(new QueryEvent(1, TASK, "q-image", new Image(Image.PNG, first.png()), null, null)),
        NOW_MS - 250);
    query("q-embedding", axis(0, 5), NOW_MS);
    // A producer clock ahead of ours: no end-to-end latency to record.
    query("q-future", axis(1, 6), NOW_MS + 60_000);

    assertThat(registry.get("fewshot.embedding").timer().count())
        .as("two support images and one query image")
        .isEqualTo(3);
    assertThat(registry.get("fewshot.query.latency").timer().count()).isEqualTo(3);
    assertThat(registry.get("fewshot.end.to.end.latency").timer().count()).isEqualTo(2);
    assertThat(registry.get("fewshot.end.to.end.latency").timer().max(TimeUnit.MILLISECONDS))
        .isEqualTo(250);

    List<RecentActivity.RecentPrediction> recent = telemetry.activity().predictions();
    assertThat(recent)
        .as("two kept, newest first")
        .extracting(r -> r.prediction().queryId())
        .containsExactly("q-future", "q-embedding");
    assertThat(recent.get(0).image()).isNull();
    assertThat(recent.get(0).imageContentType()).isNull();

    query("q-last", axis(0, 7), NOW_MS);
    queries.pipeInput(
        TASK,
        codec.write(new QueryEvent(1, TASK, "q-png", new Image(Image.PNG, first.png()), null, null)),
        NOW_MS);
    RecentActivity.RecentPrediction newest = telemetry.activity().predictions().get(0);
    assertThat(newest.prediction().queryId()).isEqualTo("q-png");
    assertThat(newest.imageContentType()).isEqualTo(Image.PNG);
    assertThat(newest.image()).isEqualTo(first.png());

    assertThat(registry.get("fewshot.prediction.confidence").summary().count()).isEqualTo(5);
    CountAtBucket[] buckets =
        registry.get("fewshot.prediction.confidence").summary().takeSnapshot().histogramCounts();
    assertThat(buckets).extracting(CountAtBucket::bucket)
        .as("in percent")
        .containsExactly(10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0);
    // Each prediction lands in the bin of its own top probability (the ring keeps two of five).
    long[] bins = telemetry.confidenceBins();
    assertThat(java.util.Arrays.stream(bins).sum()).isEqualTo(5);
    for (RecentActivity.RecentPrediction r : telemetry.activity().predictions()) {
      int bin = Math.max(0, (int) Math.ceil(r.prediction().probability() * 10) - 1);
      assertThat(bins[bin]).as("bin of %s", r.prediction().probability()).isPositive();
    }
    // Two classes: the top probability is at least a half, so nothing falls below 0.5.
    assertThat(telemetry.confidenceBins()[3]).isZero();
  }

  @Test
  void shouldLeaveOutImagesOverTheLimitFromRecentPredictions() {
    Telemetry standalone = new Telemetry(new SimpleMeterRegistry(), 5);
    Prediction prediction =
        new Prediction(1, TASK, "q", "A", 1.0, Map.of("A", 1.0), null, 1, "prototypes", "b", 2.0,
            NOW_MS, NOW_MS + 5);
    standalone.predicted(prediction, new Image(Image.PNG, new byte[RecentActivity.MAX_IMAGE_BYTES]));
    standalone.predicted(
        prediction, new Image(Image.JPEG, new byte[RecentActivity.MAX_IMAGE_BYTES + 1]));
    List<RecentActivity.RecentPrediction> recent = standalone.activity().predictions();
    assertThat(recent.get(0).image()).as("one byte over 64 KiB").isNull();
    assertThat(recent.get(1).image()).hasSize(RecentActivity.MAX_IMAGE_BYTES);
  }

  @Test
  void shouldRecordAFineTuneWithItsLossAndExportTheContractNames() throws InterruptedException {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    start(registry, 10);
    // Two shots per class and no pool: auto chooses inductive fine-tuning. The classes lie close
    // together, so the prototypes leave a loss that training can lower (far apart, it is 0 in float).
    add("A", "a1", close(0, 1, 1));
    add("A", "a2", close(0, 1, 2));
    add("B", "b1", close(1, 0, 3));
    add("B", "b2", close(1, 0, 4));
    models.readValuesToList();
    driver.advanceWallClockTime(Duration.ofMillis(INTERVAL_MS));
    assertThat(scheduler.awaitIdle(10_000)).isTrue();
    driver.advanceWallClockTime(Duration.ofMillis(200));

    List<RecentActivity.FineTuneEvent> tunes = telemetry.activity().fineTunes();
    assertThat(tunes).hasSize(1);
    RecentActivity.FineTuneEvent tune = tunes.get(0);
    assertThat(tune.outcome()).isEqualTo(FineTuneOutcome.INSTALLED);
    assertThat(tune.method()).isEqualTo("inductive");
    assertThat(tune.version()).as("four prototype snapshots came before").isEqualTo(5);
    assertThat(tune.supportExamples()).isEqualTo(4);
    assertThat(tune.finalLoss()).isLessThan(tune.initialLoss());
    assertThat(tune.millis()).isPositive();

    byte[] json = models.readValue();
    assertThat(codec.violations(EventType.MODEL, json)).isEmpty();
    ModelSnapshot snapshot = codec.readSnapshot(json);
    assertThat(snapshot.trainingLoss()).isEqualTo(tune.finalLoss());
    assertThat(snapshot.fineTuneMillis()).isEqualTo(tune.millis());
    assertThat(registry.get("fewshot.finetunes").tags("method", "inductive", "outcome", "installed")
            .counter().count())
        .isEqualTo(1);
    assertThat(registry.get("fewshot.finetune").tag("method", "inductive").timer()
            .totalTime(TimeUnit.MILLISECONDS))
        .isCloseTo(tune.millis(), Offset.offset(1e-3));
    assertThat(registry.get("fewshot.snapshots").tag("method", "fine-tuned").counter().count())
        .isEqualTo(1);

    query("q1", axis(1, 5), NOW_MS);
    addImage(SampleImages.load().get(0));
    support.pipeInput(TASK, "{not json".getBytes(StandardCharsets.UTF_8));
    String scrape = registry.scrape();
    // The names the Grafana dashboard in deploy/ may query are the names really exported.
    DeployFilesTest.SERVICE_METRICS.forEach(
        (name, kind) ->
            kind.suffixes.forEach(
                suffix -> assertThat(scrape).contains("\n" + name + suffix)));
    assertThat(scrape)
        .contains(
            "fewshot_events_total{outcome=\"ok\",topic=\"support\"}",
            "fewshot_events_total{outcome=\"dead_letter\",topic=\"support\"}",
            "fewshot_dead_letters_total{reason=\"INVALID_JSON\",topic=\"" + config.supportTopic(),
            "fewshot_embedding_seconds_bucket{",
            "fewshot_query_latency_seconds_bucket{",
            "fewshot_end_to_end_latency_seconds_bucket{",
            "fewshot_predictions_total{method=\"fine-tuned\"}",
            "fewshot_prediction_confidence_bucket{le=\"10.0\"}",
            "fewshot_finetune_seconds_bucket{method=\"inductive\"",
            "fewshot_finetunes_total{method=\"inductive\",outcome=\"installed\"}",
            "fewshot_snapshots_total{method=\"prototypes\"}",
            "fewshot_snapshot_version_max ",
            "fewshot_tasks ",
            "fewshot_classes ");
  }

  @Test
  void shouldCountAFineTuneDroppedBecauseTheSupportChanged() throws InterruptedException {
    MeterRegistry registry = new SimpleMeterRegistry();
    start(registry, 10);
    add("A", "a1", axis(0, 1));
    add("A", "a2", axis(0, 2));
    add("B", "b1", axis(1, 3));
    add("B", "b2", axis(1, 4));
    driver.advanceWallClockTime(Duration.ofMillis(INTERVAL_MS));
    assertThat(scheduler.awaitIdle(10_000)).isTrue();
    add("C", "c1", axis(2, 5));
    driver.advanceWallClockTime(Duration.ofMillis(200));

    RecentActivity.FineTuneEvent tune = telemetry.activity().fineTunes().get(0);
    assertThat(tune.outcome()).isEqualTo(FineTuneOutcome.STALE);
    assertThat(tune.version()).as("the prototype snapshot of class C").isEqualTo(5);
    assertThat(registry.get("fewshot.finetunes").tags("method", "inductive", "outcome", "stale")
            .counter().count())
        .isEqualTo(1);
    assertThat(registry.find("fewshot.snapshots").tag("method", "fine-tuned").counter()).isNull();
  }

  private static double count(MeterRegistry registry, String name, String... tags) {
    return registry.get(name).tags(tags).counter().count();
  }

  private static double gauge(MeterRegistry registry, String name) {
    return registry.get(name).gauge().value();
  }

  private void add(String label, String id, float[] embedding) {
    support.pipeInput(
        TASK, codec.write(new SupportEvent.AddExample(1, TASK, label, id, null, embedding)));
  }

  private void addImage(SampleImage s) {
    support.pipeInput(
        TASK,
        codec.write(
            new SupportEvent.AddExample(
                1, TASK, s.label(), s.name(), new Image(Image.PNG, s.png()), null)));
  }

  private void query(String id, float[] embedding, long timestamp) {
    queries.pipeInput(
        TASK, codec.write(new QueryEvent(1, TASK, id, null, embedding, null)), timestamp);
  }

  /** A vector along {@code axis} leaning towards {@code towards}: cosine about 0.95 to it. */
  private static float[] close(int axis, int towards, long seed) {
    float[] v = axis(axis, seed);
    v[towards] += 3f;
    return v;
  }

  /** A vector along basis axis {@code axis} of the backbone's feature space, plus noise. */
  private static float[] axis(int axis, long seed) {
    Random random = new Random(seed);
    float[] v = new float[embedder.featureSize()];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (0.2 * random.nextGaussian() / Math.sqrt(v.length));
    }
    v[axis] += 1f;
    return v;
  }
}
