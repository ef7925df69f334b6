package io.fewshotstreams.reliability;

import io.fewshotstreams.TestClients;
import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service as a separate process ({@code java -jar target/fewshot-streams.jar run}), killed
 * with SIGKILL in the middle of a stream of queries under exactly-once and started again: every
 * query has exactly one committed prediction. Half the queries carry images, which are batched
 * through the pending-queries store; the kill comes only when the store's committed changelog
 * holds queries that wait, so the restart must finish them.
 *
 * <p>{@code -Dfewshot.kill.queries=50000} runs the long version (RELIABILITY.md); CI runs 20,000.
 */
class ProcessKillIT {
  /** Queries in all: 20,000 by default keeps the test within about two minutes on two cores. */
  private static final int QUERIES = Integer.getInteger("fewshot.kill.queries", 20_000);
  /** The kill comes after a quarter of the predictions, with the rest still to send. */
  private static final int KILL_AFTER = QUERIES / 4;
  private static final String PENDING_CHANGELOG =
      "kill-nine-fewshot-pending-queries-changelog";
  private static final String[] TASKS = {"line-1", "line-2"};
  private static final int CLASSES = 3;
  private static final Path JAR = Path.of("target/fewshot-streams.jar");

  @TempDir Path dir;
  private final EventCodec codec = new EventCodec();

  @Test
  void shouldGiveEveryQueryExactlyOnePredictionAcrossAKillNine() throws Exception {
    assertThat(JAR).as("built by mvn package before the integration tests").exists();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        KafkaProducer<String, byte[]> producer =
            TestClients.producer(
                broker.bootstrapServers(), Map.of(ProducerConfig.LINGER_MS_CONFIG, 5));
        KafkaConsumer<String, byte[]> consumer =
            TestClients.readCommittedConsumer(broker.bootstrapServers(), "kill-nine-reader-")) {
      String bootstrap = broker.bootstrapServers();
      Process first = startService(bootstrap, "first");
      try {
        for (String task : TASKS) {
          for (int c = 0; c < CLASSES; c++) {
            producer.send(
                new ProducerRecord<>(
                    "fewshot-support",
                    task,
                    codec.write(
                        new SupportEvent.AddExample(
                            1, task, "class-" + c, "e" + c, null, axis(c, 0)))));
          }
        }
        producer.flush();
        consumer.subscribe(List.of("fewshot-predictions", "fewshot-models", "fewshot-dead-letters"));
        // Queries sent before a task's first snapshot lands would be UNKNOWN_TASK dead letters.
        long ready = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (models < TASKS.length * CLASSES && System.nanoTime() < ready) {
          poll(consumer, new HashMap<>(), Duration.ofMillis(200));
        }
        assertThat(models).as("snapshots of the registered tasks").isEqualTo(TASKS.length * CLASSES);
        Map<String, Integer> seen = new HashMap<>();
        long started = System.nanoTime();
        int sent = 0;
        // Send in chunks while reading, so that the kill lands mid-stream with work in flight.
        while (countAll(seen) < KILL_AFTER) {
          for (int i = 0; i < 500 && sent < QUERIES; i++, sent++) {
            send(producer, sent);
          }
          producer.flush();
          poll(consumer, seen, Duration.ofMillis(200));
          assertThat(System.nanoTime() - started)
              .as("predictions before the kill")
              .isLessThan(TimeUnit.MINUTES.toNanos(3));
        }
        // Frozen (SIGSTOP) so that no commit moves on, the pending store's committed changelog
        // is read; the kill comes when it holds waiting queries, else the process goes on
        // (SIGCONT) with more queries sent and the check is repeated.
        int waitingAtKill = 0;
        for (int attempt = 0; attempt < 50 && waitingAtKill == 0; attempt++) {
          FaultRig.signal(first, "STOP");
          waitingAtKill = committedPending(bootstrap);
          if (waitingAtKill == 0) {
            FaultRig.signal(first, "CONT");
            for (int i = 0; i < 200 && sent < QUERIES; i++, sent++) {
              send(producer, sent);
            }
            producer.flush();
            poll(consumer, seen, Duration.ofMillis(100));
          }
        }
        // SIGKILL: no shutdown hook, no commit, an open transaction left behind.
        first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        assertThat(waitingAtKill)
            .as("queries waiting in the committed pending store at the kill")
            .isPositive();
        int beforeKill = countAll(seen);
        while (sent < QUERIES) {
          send(producer, sent++);
        }
        producer.flush();

        Process second = startService(bootstrap, "second");
        try {
          long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4 + QUERIES / 20_000);
          while (seen.size() < QUERIES && System.nanoTime() < deadline) {
            poll(consumer, seen, Duration.ofMillis(500));
          }
          // A while longer, so that a late duplicate would show.
          poll(consumer, seen, Duration.ofSeconds(5));
          long duplicates = seen.values().stream().filter(n -> n > 1).count();
          List<String> missing = new ArrayList<>();
          for (int i = 0; i < QUERIES && missing.size() < 20; i++) {
            if (!seen.containsKey("q" + i)) {
              missing.add("q" + i);
            }
          }
          System.out.printf(
              "kill -9 after %d committed predictions with %d queries waiting in the pending"
                  + " store; after the restart %d of %d queries have a prediction, %d duplicates,"
                  + " %d dead letters, %.1f s in all%n",
              beforeKill,
              waitingAtKill,
              seen.size(),
              QUERIES,
              duplicates,
              deadLetters,
              (System.nanoTime() - started) / 1e9);
          assertThat(deadLetters).as("dead letters").isZero();
          assertThat(missing).as("queries without a prediction (first 20)").isEmpty();
          assertThat(seen).hasSize(QUERIES);
          assertThat(duplicates).isZero();
        } finally {
          second.destroy();
          second.waitFor(60, TimeUnit.SECONDS);
        }
      } finally {
        first.destroyForcibly();
      }
    }
  }

  private Process startService(String bootstrap, String name)
      throws IOException, InterruptedException {
    return FaultRig.startProcess(
        JAR,
        bootstrap,
        List.of(
            "application.id=kill-nine",
            "processing.guarantee=exactly_once_v2",
            "commit.interval.ms=100",
            "state.dir=" + dir.resolve("state"),
            "fewshot.http.port=-1",
            "fewshot.topic.partitions=2",
            // With the default linger (5 ms) the punctuator runs just before nearly every commit
            // and empties the pending store; batches that span commits, the case the store is
            // there for, need a linger longer than the commit interval and room in the batch.
            "fewshot.query.batch.linger.ms=2000",
            "fewshot.query.batch.size=256"),
        // Kept after the test, for a look when it fails.
        Path.of("target", "process-kill-it", name + ".log"),
        name);
  }

  /** Odd queries carry a sample image (batched), even ones an embedding (answered alone). */
  private void send(KafkaProducer<String, byte[]> producer, int i) {
    String task = TASKS[i % TASKS.length];
    QueryEvent query =
        i % 2 == 1
            ? new QueryEvent(
                1, task, "q" + i, new Image(Image.PNG, SAMPLES.get(i % SAMPLES.size()).png()),
                null, null)
            : new QueryEvent(1, task, "q" + i, null, axis(i % CLASSES, i), null);
    producer.send(new ProducerRecord<>("fewshot-queries", task, codec.write(query)));
  }

  private static final List<SampleImage> SAMPLES = SampleImages.load();

  /**
   * Queries waiting in the pending store as its changelog has them committed: the keys whose last
   * committed record is a value, not a tombstone, read up to the last stable offset.
   */
  private static int committedPending(String bootstrap) {
    Map<String, Object> c = new HashMap<>();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    try (KafkaConsumer<byte[], byte[]> changelog = new KafkaConsumer<>(c)) {
      List<TopicPartition> partitions =
          changelog.partitionsFor(PENDING_CHANGELOG, Duration.ofSeconds(30)).stream()
              .map(p -> new TopicPartition(PENDING_CHANGELOG, p.partition()))
              .toList();
      changelog.assign(partitions);
      changelog.seekToBeginning(partitions);
      // Under read_committed the end offsets are the last stable offsets: the frozen process's
      // open transaction, which the kill aborts, starts there.
      Map<TopicPartition, Long> ends = changelog.endOffsets(partitions);
      Map<String, Boolean> live = new HashMap<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (partitions.stream().anyMatch(p -> changelog.position(p) < ends.get(p))) {
        assertThat(System.nanoTime()).as("the changelog read in 30 s").isLessThan(deadline);
        for (ConsumerRecord<byte[], byte[]> r : changelog.poll(Duration.ofMillis(200))) {
          live.put(r.partition() + "/" + ByteBuffer.wrap(r.key()).getLong(), r.value() != null);
        }
      }
      return (int) live.values().stream().filter(v -> v).count();
    }
  }

  private int models;
  private int deadLetters;

  private void poll(KafkaConsumer<String, byte[]> consumer, Map<String, Integer> seen, Duration d) {
    for (ConsumerRecord<String, byte[]> r : consumer.poll(d)) {
      switch (r.topic()) {
        case "fewshot-predictions" -> {
          Prediction p = codec.readPrediction(r.value());
          seen.merge(p.queryId(), 1, Integer::sum);
        }
        case "fewshot-models" -> models++;
        default -> {
          deadLetters++;
          System.out.println("dead letter: " + new String(r.value(), java.nio.charset.StandardCharsets.UTF_8));
        }
      }
    }
  }

  private static int countAll(Map<String, Integer> seen) {
    return seen.values().stream().mapToInt(Integer::intValue).sum();
  }

  /** A unit vector near axis {@code c}, varied by {@code seed}. */
  private static float[] axis(int c, int seed) {
    float[] v = new float[256];
    v[c] = 1f;
    v[CLASSES + seed % 7] += 0.1f;
    return v;
  }
}
