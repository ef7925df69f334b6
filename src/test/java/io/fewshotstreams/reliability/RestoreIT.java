package io.fewshotstreams.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.FewShotStreams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A new instance of the application with an empty state directory restores everything from the
 * changelogs and the models topic: it answers the same queries with the same labels,
 * probabilities and model versions as the instance before it, and the next support change
 * continues the version sequence.
 */
class RestoreIT {
  private static final Logger log = LoggerFactory.getLogger(RestoreIT.class);
  private static final int TASKS = 6;
  private static final int CLASSES = 3;
  private static final int SHOTS = 4;
  private static final int QUERIES = 60; // ten per task, every class
  private static final double SAME = 1e-6; // same floats, through JSON and back

  @TempDir Path firstState;
  @TempDir Path secondState;

  @Test
  @Timeout(value = 110, unit = TimeUnit.SECONDS)
  void shouldGiveTheSamePredictionsAfterRestoringFromAnEmptyStateDir() throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      String bootstrap = broker.bootstrapServers();
      String app = "restore-" + UUID.randomUUID();
      Map<String, Object> extra =
          Map.of(
              StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2,
              // Snapshots change only with support: the same model before and after the restart.
              FewShotConfig.FINETUNE_METHOD_CONFIG, "prototypes");
      Map<String, Object> first = FaultRig.settings(bootstrap, app, firstState, extra);
      Map<String, Object> second = FaultRig.settings(bootstrap, app, secondState, extra);

      Map<String, Prediction> before;
      try (FewShotStreams service = FaultRig.start(embedder, first);
          FaultRig.Client client = new FaultRig.Client(first, Map.of(), CLASSES)) {
        client.register(TASKS, SHOTS);
        FaultRig.awaitReady(client, bootstrap, Map.of(), TASKS, SHOTS);
        before = classify(client, bootstrap, "before-");
        assertThat(service.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
      }
      try (var files = Files.list(secondState)) {
        assertThat(files).as("the second instance starts with nothing on disk").isEmpty();
      }

      long restartAt = System.currentTimeMillis();
      try (FewShotStreams service = FaultRig.start(embedder, second);
          FaultRig.Client client = new FaultRig.Client(second, Map.of(), CLASSES)) {
        long runningAfter = System.currentTimeMillis() - restartAt;
        Map<String, Prediction> after = classify(client, bootstrap, "after-");
        assertThat(service.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);

        int differing = 0;
        for (int i = 0; i < QUERIES; i++) {
          Prediction b = before.get("before-" + i);
          Prediction a = after.get("after-" + i);
          assertThat(a.label()).as("label of query %d", i).isEqualTo(b.label());
          assertThat(a.modelVersion())
              .as("model version of query %d", i)
              .isEqualTo(b.modelVersion());
          assertThat(a.method()).isEqualTo(b.method());
          assertThat(a.probabilities()).containsOnlyKeys(b.probabilities().keySet());
          for (var e : b.probabilities().entrySet()) {
            double p = a.probabilities().get(e.getKey());
            if (Math.abs(p - e.getValue()) > SAME) {
              differing++;
            }
            assertThat(p)
                .as("p(%s) of query %d", e.getKey(), i)
                .isCloseTo(e.getValue(), Offset.offset(SAME));
          }
        }

        // The learner's own state came back too: the next example continues each task's count
        // and version instead of starting a new task.
        long lastVersion = before.get("before-0").modelVersion();
        client.addExample(0, 1, "after-restart", 99);
        client.flush();
        ModelSnapshot next = nextSnapshot(client, bootstrap, lastVersion);
        log.info(
            "fault outcome: restore from empty state dir: {} queries, {} labels differ, {}"
                + " probabilities differ by more than 1e-6; RUNNING {} ms after start; next"
                + " snapshot of {} is v{} with {} examples (was v{})",
            QUERIES,
            0,
            differing,
            runningAfter,
            next.task(),
            next.version(),
            next.supportExamples(),
            lastVersion);
        assertThat(next.version()).isEqualTo(lastVersion + 1);
        assertThat(next.supportExamples()).isEqualTo(CLASSES * SHOTS + 1);
      }
    }
  }

  // Bug class: no test restored a learner that fine-tunes. A second instance with an empty state
  // directory must pick fine-tuning up again: the next example of each task is held for the
  // fine-tuned snapshot (the restored task state knows its snapshot is fine-tuned) and the next
  // fine-tuned snapshot takes it in, continuing the version sequence of the first instance.
  @Test
  @Timeout(value = 170, unit = TimeUnit.SECONDS)
  void shouldFineTuneAgainAfterRestoringFromAnEmptyStateDir() throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      String bootstrap = broker.bootstrapServers();
      String app = "restore-tuned-" + UUID.randomUUID();
      Map<String, Object> extra =
          Map.of(
              StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2,
              FewShotConfig.FINETUNE_METHOD_CONFIG, "inductive",
              FewShotConfig.FINETUNE_INTERVAL_MS_CONFIG, 1_000L);
      Map<String, Object> first = FaultRig.settings(bootstrap, app, firstState, extra);
      Map<String, Object> second = FaultRig.settings(bootstrap, app, secondState, extra);
      int registered = CLASSES * SHOTS;

      Map<String, ModelSnapshot> before;
      try (FewShotStreams service = FaultRig.start(embedder, first);
          FaultRig.Client client = new FaultRig.Client(first, Map.of(), CLASSES)) {
        client.register(TASKS, SHOTS);
        before = awaitFineTuned(client, bootstrap, registered);
        assertThat(service.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
      }

      try (FewShotStreams service = FaultRig.start(embedder, second);
          FaultRig.Client client = new FaultRig.Client(second, Map.of(), CLASSES)) {
        for (int t = 0; t < TASKS; t++) {
          client.addExample(t, 1, "after-restore", 88_000L + t);
        }
        client.flush();
        Map<String, ModelSnapshot> after = awaitFineTuned(client, bootstrap, registered + 1);
        log.info(
            "fault outcome: restore with fine-tuning: fine-tuned snapshot of {} of {} tasks after"
                + " the restore; versions before {}, after {}",
            after.size(),
            TASKS,
            before.values().stream().map(ModelSnapshot::version).toList(),
            after.values().stream().map(ModelSnapshot::version).toList());
        for (int t = 0; t < TASKS; t++) {
          String task = FaultRig.task(t);
          // No prototype snapshot for the held example: the fine-tuned one is the next version.
          assertThat(after.get(task).version())
              .as("version of %s's fine-tuned snapshot after the restore", task)
              .isEqualTo(before.get(task).version() + 1);
        }
        assertThat(service.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
      }
    }
  }

  /** Waits for a fine-tuned snapshot of {@code examples} examples of every task; the last ones. */
  private static Map<String, ModelSnapshot> awaitFineTuned(
      FaultRig.Client client, String bootstrap, int examples) {
    try (FaultRig.Tail models =
        new FaultRig.Tail(bootstrap, Map.of(), client.config.modelsTopic())) {
      assertThat(
              models.pollUntil(
                  rs -> fineTuned(client, rs, examples).size() == TASKS, Duration.ofSeconds(90)))
          .as("a fine-tuned snapshot of %d examples of every task", examples)
          .isTrue();
      return fineTuned(client, models.records(), examples);
    }
  }

  private static Map<String, ModelSnapshot> fineTuned(
      FaultRig.Client client, List<ConsumerRecord<String, byte[]>> rs, int examples) {
    return rs.stream()
        .map(r -> client.codec.readSnapshot(r.value()))
        .filter(s -> s.method().equals(ModelSnapshot.FINE_TUNED))
        .filter(s -> s.supportExamples() == examples)
        .collect(Collectors.toMap(ModelSnapshot::task, Function.identity(), (a, b) -> b));
  }

  /** Sends the fixed query set under {@code prefix} and returns the predictions by query id. */
  private static Map<String, Prediction> classify(
      FaultRig.Client client, String bootstrap, String prefix) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < QUERIES; i++) {
      // Same task, class and seed under both prefixes: the same embedding.
      client.query(i % TASKS, (i / TASKS) % CLASSES, prefix + i, 5_000L + i);
      ids.add(prefix + i);
    }
    client.flush();
    try (FaultRig.Tail predictions =
        new FaultRig.Tail(bootstrap, Map.of(), client.config.predictionsTopic())) {
      assertThat(
              predictions.pollUntil(
                  rs ->
                      FaultRig.Ledger.of(ids, FaultRig.predictions(client.codec, rs))
                          .missing()
                          .isEmpty(),
                  Duration.ofSeconds(60)))
          .as("a prediction of every query " + prefix + "*")
          .isTrue();
      return FaultRig.predictions(client.codec, predictions.records()).stream()
          .filter(p -> p.queryId().startsWith(prefix))
          .collect(Collectors.toMap(Prediction::queryId, Function.identity()));
    }
  }

  private static ModelSnapshot nextSnapshot(
      FaultRig.Client client, String bootstrap, long lastVersion) {
    try (FaultRig.Tail models =
        new FaultRig.Tail(bootstrap, Map.of(), client.config.modelsTopic())) {
      String task = FaultRig.task(0);
      assertThat(
              models.pollUntil(
                  rs -> rs.stream().anyMatch(r -> isAfter(client, r, task, lastVersion)),
                  Duration.ofSeconds(60)))
          .as("a snapshot of " + task + " after v" + lastVersion)
          .isTrue();
      return models.records().stream()
          .filter(r -> isAfter(client, r, task, lastVersion))
          .map(r -> client.codec.readSnapshot(r.value()))
          .findFirst()
          .orElseThrow();
    }
  }

  private static boolean isAfter(
      FaultRig.Client client, ConsumerRecord<String, byte[]> r, String task, long version) {
    ModelSnapshot s = client.codec.readSnapshot(r.value());
    return s.task().equals(task) && s.version() > version;
  }
}
