package io.fewshotstreams.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.FewShotStreams;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker stops in the middle of a stream of queries and comes back a few seconds later on the
 * same port and data: the running service rides it out without a restart, and under exactly-once
 * every query still gets exactly one committed prediction.
 */
class BrokerRestartIT {
  private static final Logger log = LoggerFactory.getLogger(BrokerRestartIT.class);
  private static final int TASKS = 4;
  private static final int CLASSES = 3;
  private static final int SHOTS = 3;
  private static final int BEFORE = 500; // queries before the broker stops
  private static final int AFTER = 500; // queries sent once it is back
  private static final long OUTAGE_MS = 5_000; // "a few seconds" of broker absence
  private static final Duration DRAIN = Duration.ofSeconds(60);

  @TempDir Path brokerData;
  @TempDir Path state;

  @Test
  @Timeout(value = 110, unit = TimeUnit.SECONDS)
  void shouldAnswerEveryQueryExactlyOnceAcrossABrokerRestart() throws IOException {
    BrokerOptions options = BrokerOptions.defaults().withDataDir(brokerData).withPort(freePort());
    EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(options);
    String bootstrap = broker.bootstrapServers();
    Map<String, Object> settings =
        FaultRig.settings(
            bootstrap,
            "broker-restart-" + UUID.randomUUID(),
            state,
            Map.of(
                StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2,
                // Kafka Streams' default: a task waits this long for the broker before its
                // thread fails; far longer than the outage, so the threads wait instead.
                StreamsConfig.TASK_TIMEOUT_MS_CONFIG, 300_000L));
    try (Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
        FewShotStreams service = FaultRig.start(embedder, settings);
        FaultRig.Client client = new FaultRig.Client(settings, Map.of(), CLASSES)) {
      client.register(TASKS, SHOTS);
      List<String> sent =
          new ArrayList<>(FaultRig.awaitReady(client, bootstrap, Map.of(), TASKS, SHOTS));
      stream(client, sent, 0, BEFORE);
      try (FaultRig.Tail predictions =
          new FaultRig.Tail(bootstrap, Map.of(), client.config.predictionsTopic())) {
        predictions.pollUntil(rs -> rs.size() >= BEFORE / 2, Duration.ofSeconds(60));
      }

      long stopAt = System.currentTimeMillis();
      broker.close();
      FaultRig.sleep(OUTAGE_MS);
      broker = EmbeddedKafkaBroker.start(options);
      long backAt = System.currentTimeMillis();
      stream(client, sent, BEFORE, BEFORE + AFTER);

      try (FaultRig.Tail predictions =
          new FaultRig.Tail(bootstrap, Map.of(), client.config.predictionsTopic())) {
        boolean all =
            predictions.pollUntil(
                rs ->
                    FaultRig.Ledger.of(sent, FaultRig.predictions(client.codec, rs))
                        .missing()
                        .isEmpty(),
                DRAIN);
        predictions.poll(Duration.ofSeconds(2)); // a duplicate would come within the same commits
        List<Prediction> answers = FaultRig.predictions(client.codec, predictions.records());
        FaultRig.Ledger ledger = FaultRig.Ledger.of(sent, answers);
        long firstAfter =
            answers.stream()
                .mapToLong(Prediction::predictedAt)
                .filter(t -> t >= backAt)
                .min()
                .orElse(-1);
        log.info(
            "fault outcome: broker restart: {}; all answered: {}; broker down {} ms; first"
                + " prediction {} ms after it was back; service state {}; dead letters {}",
            ledger,
            all,
            backAt - stopAt,
            firstAfter < 0 ? -1 : firstAfter - backAt,
            service.streams().state(),
            FaultRig.deadLetterReasons(client, bootstrap, Map.of()));

        assertThat(ledger.missing()).as("queries without a prediction").isEmpty();
        assertThat(ledger.duplicates()).as("queries with more than one prediction").isEmpty();
        assertThat(service.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
      }
    } finally {
      broker.close();
    }
  }

  /** Sends queries {@code from} (inclusive) to {@code to}, about 200 per second. */
  private static void stream(FaultRig.Client client, List<String> sent, int from, int to) {
    for (int i = from; i < to; i++) {
      String id = "q-" + i;
      client.query(i % TASKS, i % CLASSES, id, i);
      sent.add(id);
      if (i % 20 == 0) {
        client.flush();
        FaultRig.sleep(100);
      }
    }
    client.flush();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
