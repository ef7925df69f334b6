package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.TestClients;
import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.ForwardingEmbedder;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventType;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service under exactly-once on a real broker, driven like a user would: hand-written events
 * from {@code schemas/examples} sent with a plain producer, bad records, class changes, and
 * background fine-tuning; everything read back with a read-committed consumer.
 */
class ExactlyOnceIT {
  private static final Logger log = LoggerFactory.getLogger(ExactlyOnceIT.class);
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
      live.await(live.config.predictionsTopic(), v -> true, 40, WAIT);
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

  /**
   * A real fault under exactly-once: the stream thread dies in the middle of a stream of image
   * queries (an {@link Error} from the embedder, once, mid-transaction, with queries waiting in the
   * pending-queries store) and is replaced. Every query id is then counted on the predictions topic,
   * read committed, and reading goes on for {@link #AFTER_ALL} after the last expected answer, so a
   * duplicate would be seen. Run with {@code at_least_once}, the same fault shows duplicates (the
   * replaced thread answers again what the dead one had answered since the last commit).
   */
  @Test
  void shouldAnswerEveryQueryOnceWhenTheStreamThreadDiesMidStream() {
    List<SampleImage> samples = SampleImages.load();
    FaultyEmbedder faulty = new FaultyEmbedder(embedder, FAULT_AT_BATCH);
    try (LiveService live =
            new LiveService(
                broker.bootstrapServers(),
                faulty,
                stateDir,
                faultSettings());
        KafkaConsumer<String, byte[]> reader =
            TestClients.readCommittedConsumer(broker.bootstrapServers(), "eos-fault-reader-")) {
      register(live, samples, "Sneaker", "sneaker");
      register(live, samples, "Coat", "coat");
      snapshotWith(live, 10);
      reader.subscribe(List.of(live.config.predictionsTopic()));

      faulty.arm();
      List<String> sent = new ArrayList<>();
      for (int i = 0; i < QUERIES; i++) {
        SampleImage q = samples.get(i % samples.size());
        String id = "eos-q-" + i;
        live.queryImage(TASK, id, q.png());
        sent.add(id);
      }

      Map<String, Integer> answers = new HashMap<>();
      long deadline = System.nanoTime() + FAULT_WAIT.toNanos();
      long allAnsweredAt = 0;
      while (true) {
        for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(200))) {
          answers.merge(live.codec.readPrediction(r.value()).queryId(), 1, Integer::sum);
        }
        long now = System.nanoTime();
        if (allAnsweredAt == 0 && answers.keySet().containsAll(sent)) {
          allAnsweredAt = now;
        }
        if (allAnsweredAt != 0 && now - allAnsweredAt > AFTER_ALL.toNanos()) {
          break;
        }
        if (allAnsweredAt == 0 && now > deadline) {
          break;
        }
      }
      List<String> missing = sent.stream().filter(id -> !answers.containsKey(id)).toList();
      Map<String, Integer> duplicates = new TreeMap<>();
      answers.forEach(
          (id, n) -> {
            if (n > 1) {
              duplicates.put(id, n);
            }
          });
      log.info(
          "fault outcome: thread killed mid-stream under {}: sent {}, answered {}, missing {},"
              + " duplicated {}",
          live.config.streamsProperties().get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG),
          sent.size(),
          answers.size(),
          missing.size(),
          duplicates.size());
      assertThat(faulty.fired()).as("the fault was injected mid-stream").isTrue();
      assertThat(live.service.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
      assertThat(missing).as("queries without a committed prediction").isEmpty();
      assertThat(duplicates).as("queries with more than one committed prediction").isEmpty();
      assertThat(answers.keySet()).as("no answer to a query never sent").isEqualTo(Set.copyOf(sent));
    }
  }

  /**
   * Settings of the fault test: its own topics (the other test's records must not reach it), and
   * the broker's smallest consumer session, since the replacement thread joins only after the dead
   * thread's session expired (6 s instead of 45 s).
   */
  private static Map<String, Object> faultSettings() {
    Map<String, Object> settings = new HashMap<>();
    settings.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    settings.put(FewShotConfig.FINETUNE_METHOD_CONFIG, "prototypes");
    settings.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 6_000);
    settings.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_500);
    settings.put(FewShotConfig.SUPPORT_TOPIC_CONFIG, "fault-support");
    settings.put(FewShotConfig.QUERIES_TOPIC_CONFIG, "fault-queries");
    settings.put(FewShotConfig.PREDICTIONS_TOPIC_CONFIG, "fault-predictions");
    settings.put(FewShotConfig.MODELS_TOPIC_CONFIG, "fault-models");
    settings.put(FewShotConfig.DEAD_LETTERS_TOPIC_CONFIG, "fault-dead-letters");
    return settings;
  }

  /**
   * How long the fault test waits for every answer: a session timeout, a transaction timeout
   * (10 s under exactly-once) and the stream on this slow shared machine.
   */
  private static final Duration FAULT_WAIT = Duration.ofSeconds(120);

  /** Queries of the fault test: a few seconds of stream on this machine. */
  private static final int QUERIES = 300;
  /** The embedding batch that fails: after some answers, with more queries still to come. */
  private static final int FAULT_AT_BATCH = 4;
  /** How long the fault test goes on reading after the last expected answer. */
  private static final Duration AFTER_ALL = Duration.ofSeconds(5);

  /**
   * The ONNX embedder, which throws an {@link Error} once, on the n-th batch of query images after
   * {@link #arm}.
   */
  private static final class FaultyEmbedder extends ForwardingEmbedder {
    private final int failAt;
    private final AtomicInteger batches = new AtomicInteger();
    private final AtomicBoolean armed = new AtomicBoolean();
    private final AtomicBoolean fired = new AtomicBoolean();

    FaultyEmbedder(Embedder delegate, int failAt) {
      super(delegate);
      this.failAt = failAt;
    }

    void arm() {
      armed.set(true);
    }

    boolean fired() {
      return fired.get();
    }

    private void maybeFail() {
      if (armed.get() && batches.incrementAndGet() == failAt && fired.compareAndSet(false, true)) {
        throw new Error("injected fault: the stream thread dies in the middle of a transaction");
      }
    }

    @Override
    public float[] embed(byte[] encodedImage) {
      return delegate.embed(encodedImage); // support images: the fault is on the query path
    }

    @Override
    public float[][] embedBatch(List<byte[]> encodedImages) {
      maybeFail();
      return delegate.embedBatch(encodedImages);
    }

    @Override
    public float[][] embedImages(List<BufferedImage> images) {
      maybeFail();
      return delegate.embedImages(images);
    }

    @Override
    public void close() {
      // the shared embedder is closed after all tests
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
