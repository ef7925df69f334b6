package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventType;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service under exactly-once on a real broker, driven like a user would: hand-written events
 * from {@code schemas/examples} sent with a plain producer, bad records, class changes, and
 * background fine-tuning; everything read back with a read-committed consumer.
 */
class ExactlyOnceIT {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final String TASK = "shoe-shop"; // the task of the hand-written examples
  private static EmbeddedKafkaBroker broker;
  private static Embedder embedder;

  @TempDir Path stateDir;

  @BeforeAll
  static void startBroker() {
    broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
    embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
  }

  @AfterAll
  static void stopBroker() {
    embedder.close();
    broker.close();
  }

  @Test
  void shouldServeHandWrittenEventsClassChangesAndFineTuningExactlyOnce() throws IOException {
    List<SampleImage> samples = SampleImages.load();
    try (LiveService live =
        new LiveService(
            broker.bootstrapServers(),
            embedder,
            stateDir,
            Map.of(
                StreamsConfig.PROCESSING_GUARANTEE_CONFIG,
                StreamsConfig.EXACTLY_ONCE_V2,
                FewShotConfig.FINETUNE_INTERVAL_MS_CONFIG,
                500L))) {
      register(live, samples, "Sneaker", "sneaker");
      register(live, samples, "Ankle boot", "ankle-boot");
      live.send(live.config.supportTopic(), TASK, example("support-add-example.json"));
      ModelSnapshot registered = snapshotWith(live, 11);
      assertThat(registered.classes())
          .extracting(ModelSnapshot.ClassWeights::label)
          .containsExactly("ankle-boot", "sneaker");

      // A hand-written query (a sneaker image) gets a schema-valid prediction.
      live.send(live.config.queriesTopic(), TASK, example("query.json"));
      byte[] json = live.await(live.config.predictionsTopic(), v -> true, 1, WAIT).get(0);
      assertThat(live.codec.violations(EventType.PREDICTION, json)).isEmpty();
      Prediction first = live.codec.readPrediction(json);
      assertThat(first.queryId()).isEqualTo("q-20261129-0001");
      assertThat(first.label()).isEqualTo("sneaker");
      assertThat(first.topK()).hasSize(2);

      // A malformed record goes to the dead letters with its reason; the next one is served.
      live.send(live.config.queriesTopic(), TASK, "{\"task\": 1".getBytes(StandardCharsets.UTF_8));
      live.send(live.config.queriesTopic(), TASK, example("query.json"));
      byte[] deadJson = live.await(live.config.deadLettersTopic(), v -> true, 1, WAIT).get(0);
      assertThat(live.codec.violations(EventType.DEAD_LETTER, deadJson)).isEmpty();
      DeadLetter dead = live.codec.readDeadLetter(deadJson);
      assertThat(dead.reason()).isEqualTo(DeadLetterReason.INVALID_JSON);
      assertThat(dead.sourceTopic()).isEqualTo(live.config.queriesTopic());
      assertThat(live.await(live.config.predictionsTopic(), v -> true, 1, WAIT)).hasSize(1);

      // Adding, removing and deleting through the support topic shows in the next predictions.
      register(live, samples, "Coat", "coat");
      snapshotWith(live, 16);
      live.send(live.config.supportTopic(), TASK, example("support-remove-example.json"));
      assertThat(snapshotWith(live, 15).classes())
          .extracting(ModelSnapshot.ClassWeights::examples)
          .containsExactly(5, 5, 5);
      live.send(live.config.supportTopic(), TASK, example("support-delete-class.json"));
      assertThat(snapshotWith(live, 10).classes())
          .extracting(ModelSnapshot.ClassWeights::label)
          .containsExactly("coat", "sneaker");
      live.send(live.config.queriesTopic(), TASK, example("query.json"));
      Prediction afterDelete =
          live.codec.readPrediction(
              live.await(live.config.predictionsTopic(), v -> true, 1, WAIT).get(0));
      assertThat(afterDelete.probabilities()).containsOnlyKeys("coat", "sneaker");

      // Queries fill the task's pool; the punctuator fine-tunes on it (robust) in the background.
      List<SampleImage> queries =
          samples.stream()
              .filter(s -> s.label().equals("Coat") || s.label().equals("Sneaker"))
              .filter(s -> !s.name().matches(".*/(" + firstIndices(samples) + ")\\.png"))
              .limit(40)
              .toList();
      for (SampleImage q : queries) {
        live.queryImage(TASK, q.name(), q.png());
      }
      List<byte[]> answers = live.await(live.config.predictionsTopic(), v -> true, 40, WAIT);
      assertThat(answers).hasSize(40);
      ModelSnapshot tuned =
          live.codec.readSnapshot(
              live.await(
                      live.config.modelsTopic(),
                      v -> {
                        ModelSnapshot s = live.codec.readSnapshot(v);
                        // robust also tunes on the support alone first; wait for the pooled one.
                        return "robust".equals(s.fineTuning()) && s.poolQueries() >= 10;
                      },
                      1,
                      WAIT)
                  .get(0));
      assertThat(tuned.method()).isEqualTo(ModelSnapshot.FINE_TUNED);
      assertThat(tuned.openSetThreshold()).as("a fine-tuned snapshot carries its threshold")
          .isNotNull();
      assertThat(tuned.version()).isGreaterThan(registered.version());
      live.send(live.config.queriesTopic(), TASK, example("query.json"));
      Prediction fineTuned =
          live.codec.readPrediction(
              live.await(
                      live.config.predictionsTopic(),
                      v -> live.codec.readPrediction(v).modelVersion() >= tuned.version(),
                      1,
                      WAIT)
                  .get(0));
      assertThat(fineTuned.method()).isEqualTo(ModelSnapshot.FINE_TUNED);
      assertThat(fineTuned.label()).isEqualTo("sneaker");
    }
  }

  /** Publishes the first five sample images of {@code sampleClass} as class {@code label}. */
  private static void register(
      LiveService live, List<SampleImage> samples, String sampleClass, String label) {
    samples.stream()
        .filter(s -> s.label().equals(sampleClass))
        .limit(5)
        .forEach(s -> live.addImage(TASK, label, s.name(), s.png()));
  }

  private static String firstIndices(List<SampleImage> samples) {
    StringBuilder out = new StringBuilder("-1");
    for (String c : List.of("Coat", "Sneaker")) {
      samples.stream()
          .filter(s -> s.label().equals(c))
          .limit(5)
          .forEach(s -> out.append('|').append(s.testIndex()));
    }
    return out.toString();
  }

  private static ModelSnapshot snapshotWith(LiveService live, int supportExamples) {
    byte[] json =
        live.await(
                live.config.modelsTopic(),
                v -> live.codec.readSnapshot(v).supportExamples() == supportExamples,
                1,
                WAIT)
            .get(0);
    assertThat(live.codec.violations(EventType.MODEL, json)).isEmpty();
    return live.codec.readSnapshot(json);
  }

  private static byte[] example(String name) throws IOException {
    return Files.readAllBytes(Path.of("schemas/examples", name));
  }
}
