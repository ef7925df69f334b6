package io.fewshotstreams.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.ImagePreprocessor;
import io.fewshotstreams.embedding.ModelCard;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.FewShotStreams;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Snapshots against the record limits of a real broker. Found by a probe: a 400-class task made a
 * snapshot of 1,042,882 bytes, the service's producer (max.request.size 1 MB) refused the next one,
 * the dead letter failed in the aborted transaction and the stream thread was replaced for ever.
 * Now the models topic and the producer are sized from the class limit, and a class whose snapshot
 * might not fit a smaller, existing topic is refused before anything is sent.
 *
 * <p>A backbone of {@value #WIDE} features (the bundled one, reporting a wider embedding; events
 * carry precomputed embeddings) makes snapshots of over 1 MB from {@value #CLASSES} classes, so the
 * test need not send 400.
 */
class SnapshotLimitIT {
  private static final Logger log = LoggerFactory.getLogger(SnapshotLimitIT.class);
  private static final int WIDE = 4096;
  private static final int CLASSES = 30; // 30 x 4096 floats: about 1.3 MB of JSON
  private static final int ONE_MEGABYTE = 1024 * 1024; // the producer's default max.request.size
  private static final int BROKER_DEFAULT = 1_048_588; // the broker's default message.max.bytes
  private static final String TASK = "wide";

  @TempDir Path state;

  // The largest task the class limit allows publishes, above the producer's default 1 MB, and
  // classifies.
  @Test
  @Timeout(value = 170, unit = TimeUnit.SECONDS)
  void shouldPublishAndClassifyTheLargestTaskTheLimitsAllow() {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        Embedder embedder = wide()) {
      String bootstrap = broker.bootstrapServers();
      Map<String, Object> settings =
          FaultRig.settings(
              bootstrap,
              "snapshot-limit-" + UUID.randomUUID(),
              state,
              Map.of(
                  StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2,
                  FewShotConfig.MAX_CLASSES_PER_TASK_CONFIG, CLASSES,
                  FewShotConfig.FINETUNE_METHOD_CONFIG, "prototypes"));
      try (FewShotStreams service = FaultRig.start(embedder, settings);
          FaultRig.Client client = new FaultRig.Client(settings, Map.of(), CLASSES)) {
        for (int c = 0; c < CLASSES; c++) {
          add(client, c, "e-" + c, c);
        }
        client.flush();
        ConsumerRecord<String, byte[]> largest = awaitSnapshot(client, bootstrap, CLASSES);
        query(client, 7, "q-7", 99);
        Prediction p = awaitPrediction(client, bootstrap, "q-7");
        log.info(
            "fault outcome: largest task: {} classes of {} features, snapshot of {} bytes"
                + " published; query answered {} by v{}",
            CLASSES,
            WIDE,
            largest.value().length,
            p.label(),
            p.modelVersion());

        assertThat(largest.value().length).isGreaterThan(ONE_MEGABYTE);
        assertThat(p.label()).isEqualTo(FaultRig.label(7));
        assertThat(p.modelVersion()).isEqualTo(CLASSES);
        assertThat(FaultRig.deadLetterReasons(client, bootstrap, Map.of())).isEmpty();
        assertThat(service.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
      }
    }
  }

  // The models topic already exists with the broker's default limit (as made by an older version,
  // or by hand): the class that might not fit is refused with a dead letter that says so, and the
  // records after it are served.
  @Test
  @Timeout(value = 170, unit = TimeUnit.SECONDS)
  void shouldRefuseAClassWhoseSnapshotMightNotFitAnExistingTopicAndServeTheNextRecord()
      throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        Embedder embedder = wide()) {
      String bootstrap = broker.bootstrapServers();
      Map<String, Object> settings =
          FaultRig.settings(
              bootstrap,
              "snapshot-limit-" + UUID.randomUUID(),
              state,
              Map.of(
                  StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2,
                  FewShotConfig.FINETUNE_METHOD_CONFIG, "prototypes"));
      FewShotConfig config = new FewShotConfig(settings);
      try (Admin admin =
          Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
        admin
            .createTopics(
                List.of(
                    new NewTopic(config.modelsTopic(), Optional.of(3), Optional.empty())
                        .configs(
                            Map.of(
                                TopicConfig.CLEANUP_POLICY_CONFIG,
                                TopicConfig.CLEANUP_POLICY_COMPACT,
                                TopicConfig.MAX_MESSAGE_BYTES_CONFIG,
                                String.valueOf(BROKER_DEFAULT)))))
            .all()
            .get(30, TimeUnit.SECONDS);
      }
      try (FewShotStreams service = FaultRig.start(embedder, settings);
          FaultRig.Client client = new FaultRig.Client(settings, Map.of(), CLASSES)) {
        for (int c = 0; c < CLASSES; c++) {
          add(client, c, "e-" + c, c);
        }
        add(client, 0, "after", 1_000); // the next record, to a class that exists
        client.flush();
        List<ModelSnapshot> snapshots = awaitExamples(client, bootstrap, 16);
        query(client, 3, "q-3", 98); // after the last snapshot, so that it meets it
        Prediction p = awaitPrediction(client, bootstrap, "q-3");
        List<DeadLetter> dead = deadLetters(client, bootstrap);
        int fitted = snapshots.stream().mapToInt(s -> s.classes().size()).max().orElse(0);
        ModelSnapshot last = snapshots.get(snapshots.size() - 1);
        log.info(
            "fault outcome: existing models topic of {} bytes: {} classes fit, {} refused"
                + " ({}); next example made v{}; query answered {} by v{}",
            BROKER_DEFAULT,
            fitted,
            dead.size(),
            dead.isEmpty() ? "none" : dead.get(0).message(),
            last.version(),
            p.label(),
            p.modelVersion());

        // 66 KB per class at most (4096 floats of up to 16 bytes): 15 classes within 1 MB; the
        // 16th example ("after") makes the 16th snapshot.
        assertThat(fitted).isEqualTo(15);
        assertThat(dead).hasSize(CLASSES - fitted);
        assertThat(dead)
            .allSatisfy(
                d -> {
                  assertThat(d.reason()).isEqualTo(DeadLetterReason.TASK_FULL);
                  assertThat(d.message())
                      .contains("to fit in " + (BROKER_DEFAULT - 2048) + " bytes")
                      .contains("was not added");
                });
        assertThat(last.supportExamples()).as("the next example was served").isEqualTo(fitted + 1);
        assertThat(last.version()).isEqualTo(fitted + 1);
        assertThat(p.label()).isEqualTo(FaultRig.label(3));
        assertThat(p.modelVersion()).isEqualTo(fitted + 1);
        assertThat(service.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
      }
    }
  }

  /** The snapshots of the task until one of {@code examples} examples arrives. */
  private static List<ModelSnapshot> awaitExamples(
      FaultRig.Client client, String bootstrap, int examples) {
    try (FaultRig.Tail models =
        new FaultRig.Tail(bootstrap, Map.of(), client.config.modelsTopic())) {
      assertThat(
              models.pollUntil(
                  rs -> rs.stream().anyMatch(r -> examplesOf(client, r) == examples),
                  Duration.ofSeconds(120)))
          .as("a snapshot of %d examples", examples)
          .isTrue();
      return models.records().stream().map(r -> client.codec.readSnapshot(r.value())).toList();
    }
  }

  private static void add(FaultRig.Client client, int c, String exampleId, long seed) {
    client.send(
        client.config.supportTopic(),
        TASK,
        client.codec.write(
            new SupportEvent.AddExample(
                1, TASK, FaultRig.label(c), exampleId, null, axis(c, 0.3f, seed))));
  }

  private static void query(FaultRig.Client client, int c, String queryId, long seed) {
    client.send(
        client.config.queriesTopic(),
        TASK,
        client.codec.write(new QueryEvent(1, TASK, queryId, null, axis(c, 0.5f, seed), null)));
    client.flush();
  }

  private static float[] axis(int axis, float noise, long seed) {
    Random random = new Random(seed);
    float[] v = new float[WIDE];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (noise * random.nextGaussian() / Math.sqrt(v.length));
    }
    v[axis] += 1f;
    return v;
  }

  private static ConsumerRecord<String, byte[]> awaitSnapshot(
      FaultRig.Client client, String bootstrap, int classes) {
    try (FaultRig.Tail models =
        new FaultRig.Tail(bootstrap, Map.of(), client.config.modelsTopic())) {
      assertThat(
              models.pollUntil(
                  rs -> rs.stream().anyMatch(r -> classesOf(client, r) == classes),
                  Duration.ofSeconds(120)))
          .as("a snapshot of %d classes", classes)
          .isTrue();
      return models.records().stream()
          .filter(r -> classesOf(client, r) == classes)
          .findFirst()
          .orElseThrow();
    }
  }

  private static int examplesOf(FaultRig.Client client, ConsumerRecord<String, byte[]> r) {
    return client.codec.readSnapshot(r.value()).supportExamples();
  }

  private static int classesOf(FaultRig.Client client, ConsumerRecord<String, byte[]> r) {
    return client.codec.readSnapshot(r.value()).classes().size();
  }

  private static Prediction awaitPrediction(FaultRig.Client client, String bootstrap, String id) {
    try (FaultRig.Tail predictions =
        new FaultRig.Tail(bootstrap, Map.of(), client.config.predictionsTopic())) {
      assertThat(
              predictions.pollUntil(
                  rs ->
                      FaultRig.predictions(client.codec, rs).stream()
                          .anyMatch(p -> p.queryId().equals(id)),
                  Duration.ofSeconds(120)))
          .as("a prediction of " + id)
          .isTrue();
      return FaultRig.predictions(client.codec, predictions.records()).stream()
          .filter(p -> p.queryId().equals(id))
          .findFirst()
          .orElseThrow();
    }
  }

  private static List<DeadLetter> deadLetters(FaultRig.Client client, String bootstrap) {
    try (FaultRig.Tail dead =
        new FaultRig.Tail(bootstrap, Map.of(), client.config.deadLettersTopic())) {
      dead.poll(Duration.ofSeconds(3));
      return dead.records().stream().map(r -> client.codec.readDeadLetter(r.value())).toList();
    }
  }

  /** The bundled backbone, reporting {@value #WIDE} features: only embeddings are sent. */
  private static Embedder wide() {
    Embedder bundled = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
    return new Embedder() {
      @Override
      public ModelCard card() {
        return bundled.card();
      }

      @Override
      public ImagePreprocessor preprocessor() {
        return bundled.preprocessor();
      }

      @Override
      public int featureSize() {
        return WIDE;
      }

      @Override
      public float[] embed(byte[] encodedImage) {
        throw new AssertionError("this test sends embeddings only");
      }

      @Override
      public float[][] embedBatch(List<byte[]> encodedImages) {
        throw new AssertionError("this test sends embeddings only");
      }

      @Override
      public float[][] embedImages(List<BufferedImage> images) {
        throw new AssertionError("this test sends embeddings only");
      }

      @Override
      public float[][] embedPreprocessed(float[] batchTensor, int batchSize) {
        throw new AssertionError("this test sends embeddings only");
      }

      @Override
      public void close() {
        bundled.close();
      }
    };
  }
}
