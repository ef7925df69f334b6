package io.fewshotstreams.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.FewShotStreams;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Two instances share the work under exactly-once; one goes away in the middle of a stream of
 * queries. The other takes over its tasks (from its standby replicas) and every query gets exactly
 * one committed prediction, while no task's snapshot version ever goes down.
 */
class FailoverIT {
  private static final Logger log = LoggerFactory.getLogger(FailoverIT.class);
  private static final int TASKS = 8; // two tasks per partition on average, so both instances own some
  private static final int CLASSES = 3;
  private static final int SHOTS = 3;
  private static final int PARTITIONS = 4; // enough for the two instances to split the work
  private static final int QUERIES = 2_000; // about 10 s of stream at the pace below
  private static final long PACE_EVERY = 20; // queries between 100 ms pauses: about 200 per second
  private static final Duration DRAIN = Duration.ofSeconds(60);
  /** The consumer session of both instances (the broker's smallest). */
  private static final int SESSION_MS = 6_000;
  /**
   * Longest a task may go without a prediction after A starts closing. A leaves the group as it
   * closes, so B takes A's tasks over from its standby replicas at once; a pause as long as the
   * session would mean the hand-over waited the session out instead, which is the fault this bound
   * catches. Measured: about 1.1 s on an idle machine, so the bound leaves room for this shared,
   * slow one.
   */
  private static final long MAX_PAUSE_MS = SESSION_MS;

  @TempDir Path stateA;
  @TempDir Path stateB;

  @Test
  @Timeout(value = 110, unit = TimeUnit.SECONDS)
  void shouldAnswerEveryQueryExactlyOnceWhenOneOfTwoInstancesGoesAway() throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      String app = "failover-" + UUID.randomUUID();
      Map<String, Object> common =
          Map.of(
              StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2,
              StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, 1,
              FewShotConfig.TOPIC_PARTITIONS_CONFIG, PARTITIONS,
              FewShotConfig.FINETUNE_INTERVAL_MS_CONFIG, 1_000L,
              // The broker's smallest session: a vanished member's tasks move after 6 s, not 45.
              ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, SESSION_MS,
              ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_500);
      Map<String, Object> settingsA =
          FaultRig.settings(broker.bootstrapServers(), app, stateA, common);
      Map<String, Object> settingsB =
          FaultRig.settings(broker.bootstrapServers(), app, stateB, common);
      FewShotStreams a = FaultRig.start(embedder, settingsA);
      FewShotStreams b = null;
      try (FaultRig.Client client = new FaultRig.Client(settingsA, Map.of(), CLASSES);
          FaultRig.Tail models =
              new FaultRig.Tail(broker.bootstrapServers(), Map.of(), client.config.modelsTopic());
          FaultRig.Tail predictions =
              new FaultRig.Tail(
                  broker.bootstrapServers(), Map.of(), client.config.predictionsTopic())) {
        b = FaultRig.start(embedder, settingsB);
        awaitRunning(a, b);

        client.register(TASKS, SHOTS);
        List<String> sent =
            new ArrayList<>(
                FaultRig.awaitReady(client, broker.bootstrapServers(), Map.of(), TASKS, SHOTS));
        CompletableFuture<Long> closed = null;
        long streamStart = System.currentTimeMillis();
        for (int i = 0; i < QUERIES; i++) {
          int t = i % TASKS;
          String id = "q-" + i;
          client.query(t, i % CLASSES, id, 100_000L + i);
          sent.add(id);
          if (i == QUERIES / 3) {
            // A goes away with work in flight; the stream goes on meanwhile.
            closed =
                CompletableFuture.supplyAsync(
                    () -> {
                      long t0 = System.currentTimeMillis();
                      a.close();
                      return t0;
                    });
          }
          if (i == QUERIES / 2) {
            // Support changes while B takes over: new versions from the new owner of each task.
            for (int task = 0; task < TASKS; task++) {
              client.addExample(task, 0, "late-" + task, 7L * task);
            }
          }
          if (i % PACE_EVERY == 0) {
            client.flush();
            FaultRig.sleep(100);
          }
        }
        client.flush();
        long closeStart = closed.get(60, TimeUnit.SECONDS);

        boolean all =
            predictions.pollUntil(
                rs -> FaultRig.Ledger.of(sent, FaultRig.predictions(client.codec, rs)).missing().isEmpty(),
                DRAIN);
        predictions.poll(Duration.ofSeconds(2)); // a duplicate would come within the same commits
        models.poll(Duration.ofSeconds(2));
        List<Prediction> answers = FaultRig.predictions(client.codec, predictions.records());
        FaultRig.Ledger ledger = FaultRig.Ledger.of(sent, answers);
        List<String> regressions = FaultRig.versionRegressions(client.codec, models.records());
        int repeated = FaultRig.repeatedVersions(client.codec, models.records());
        long longestGap = longestGap(answers, closeStart);
        log.info(
            "fault outcome: failover: {}; all answered: {}; snapshots {}, version regressions {},"
                + " repeated versions {}; longest pause of a task's predictions after the close {} ms;"
                + " stream of {} ms",
            ledger,
            all,
            models.records().size(),
            regressions.size(),
            repeated,
            longestGap,
            System.currentTimeMillis() - streamStart);

        assertThat(ledger.missing()).as("queries without a prediction").isEmpty();
        assertThat(ledger.duplicates()).as("queries with more than one prediction").isEmpty();
        assertThat(regressions).as("snapshot versions that went down").isEmpty();
        // Under exactly-once a committed snapshot is never published twice: the new owner restores
        // the task's committed state and publishes the next version.
        assertThat(repeated).as("snapshots that repeat the version before them").isZero();
        assertThat(models.records()).as("snapshots seen, so the two checks above saw some").isNotEmpty();
        assertThat(longestGap)
            .as("longest pause of a task's predictions after A started closing, in ms")
            .isLessThan(MAX_PAUSE_MS);
        assertThat(b.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
      } finally {
        a.close();
        if (b != null) {
          b.close();
        }
      }
    }
  }

  private static void awaitRunning(FewShotStreams a, FewShotStreams b) {
    long deadline = System.nanoTime() + FaultRig.START_TIMEOUT.toNanos();
    while (a.streams().state() != KafkaStreams.State.RUNNING
        || b.streams().state() != KafkaStreams.State.RUNNING) {
      assertThat(System.nanoTime()).as("both instances RUNNING in time").isLessThan(deadline);
      FaultRig.sleep(100);
    }
  }

  /**
   * The longest time a task went without a new prediction after {@code since}, by predictedAt:
   * for a task that moved, how long the takeover took.
   */
  private static long longestGap(List<Prediction> answers, long since) {
    long gap = 0;
    for (String task : answers.stream().map(Prediction::task).distinct().toList()) {
      long previous = since;
      long[] times =
          answers.stream()
              .filter(p -> p.task().equals(task))
              .mapToLong(Prediction::predictedAt)
              .filter(t -> t >= since)
              .sorted()
              .toArray();
      for (long t : times) {
        gap = Math.max(gap, t - previous);
        previous = t;
      }
    }
    return gap;
  }
}
