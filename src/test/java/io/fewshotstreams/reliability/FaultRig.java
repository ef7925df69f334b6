package io.fewshotstreams.reliability;

import io.fewshotstreams.TestClients;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.FewShotStreams;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.StreamsConfig;

/**
 * What the fault tests share: the service's settings, a producer of synthetic tasks and queries
 * with precomputed embeddings (class {@code c} of task {@code t} lies along basis vector {@code
 * t * classes + c}, so embedding costs nothing and every answer is known), and read-committed
 * readers that count predictions by query id and check snapshot versions.
 */
final class FaultRig {
  /** Feature size of the bundled backbone; the embeddings in events must have it. */
  static final int FEATURES = 256;

  /** How long the service may take to reach RUNNING (exactly-once start-up on two cores). */
  static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  private FaultRig() {}

  /**
   * The service's settings: {@code extra} on top of a fast commit interval (so predictions show
   * within a fraction of a second under exactly-once), no HTTP server, and the given application
   * id and state directory.
   */
  static Map<String, Object> settings(
      String bootstrap, String applicationId, Path stateDir, Map<String, Object> extra) {
    Map<String, Object> settings = new HashMap<>();
    settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    settings.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    settings.put(FewShotConfig.HTTP_PORT_CONFIG, -1);
    settings.putAll(extra);
    return settings;
  }

  static FewShotStreams start(Embedder embedder, Map<String, Object> settings) {
    return FewShotStreams.start(
        new FewShotConfig(settings),
        embedder,
        true,
        START_TIMEOUT,
        new Telemetry(new SimpleMeterRegistry(), 0));
  }

  static String task(int t) {
    return "task-" + t;
  }

  static String label(int c) {
    return "class-" + c;
  }

  /** A unit basis vector {@code axis} plus seeded Gaussian noise of about {@code noise} in norm. */
  static float[] axis(int axis, float noise, long seed) {
    Random random = new Random(seed);
    float[] v = new float[FEATURES];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (noise * random.nextGaussian() / Math.sqrt(v.length));
    }
    v[axis] += 1f;
    return v;
  }

  /** Produces support events and queries as a user's application would: idempotent, acks=all. */
  static final class Client implements AutoCloseable {
    final EventCodec codec = new EventCodec();
    final FewShotConfig config;
    final int classes;
    private final KafkaProducer<String, byte[]> producer;

    Client(Map<String, Object> settings, Map<String, Object> clientSecurity, int classes) {
      this.config = new FewShotConfig(settings);
      this.classes = classes;
      producer =
          TestClients.producer(
              (String) settings.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG), clientSecurity);
    }

    /** Adds {@code shots} examples of each class to each of {@code tasks} tasks, then flushes. */
    void register(int tasks, int shots) {
      for (int t = 0; t < tasks; t++) {
        for (int c = 0; c < classes; c++) {
          for (int k = 0; k < shots; k++) {
            addExample(t, c, "e-" + c + "-" + k, 1000L * t + 10L * c + k);
          }
        }
      }
      producer.flush();
    }

    void addExample(int t, int c, String exampleId, long seed) {
      float[] embedding = axis(t * classes + c, 0.3f, seed);
      send(
          config.supportTopic(),
          task(t),
          codec.write(new SupportEvent.AddExample(1, task(t), label(c), exampleId, null, embedding)));
    }

    /** A query of class {@code c} of task {@code t}; the same seed gives the same embedding. */
    void query(int t, int c, String queryId, long seed) {
      float[] embedding = axis(t * classes + c, 0.5f, seed);
      send(
          config.queriesTopic(),
          task(t),
          codec.write(new QueryEvent(1, task(t), queryId, null, embedding, null)));
    }

    void send(String topic, String key, byte[] value) {
      producer.send(new ProducerRecord<>(topic, key, value));
    }

    void flush() {
      producer.flush();
    }

    @Override
    public void close() {
      producer.close(Duration.ofSeconds(10));
    }
  }

  /**
   * A read-committed reader of one topic from its beginning, all partitions, outside any group.
   * Keeps every record it has seen, in each partition's offset order.
   */
  static final class Tail implements AutoCloseable {
    private final KafkaConsumer<String, byte[]> consumer;
    private final List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();

    Tail(String bootstrap, Map<String, Object> clientSecurity, String topic) {
      Map<String, Object> c = new HashMap<>(clientSecurity);
      c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      consumer = TestClients.readCommittedConsumer(bootstrap, "fault-reader-", c);
      List<TopicPartition> partitions =
          consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
    }

    /** Polls until {@code done} holds for everything seen so far; false on timeout. */
    boolean pollUntil(Predicate<List<ConsumerRecord<String, byte[]>>> done, Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!done.test(records)) {
        if (System.nanoTime() > deadline) {
          return false;
        }
        poll(Duration.ofMillis(200));
      }
      return true;
    }

    /** Reads whatever arrives for the whole of {@code d}. */
    void poll(Duration d) {
      long deadline = System.nanoTime() + d.toNanos();
      do {
        consumer.poll(Duration.ofMillis(100)).forEach(records::add);
      } while (System.nanoTime() < deadline);
    }

    List<ConsumerRecord<String, byte[]>> records() {
      return List.copyOf(records);
    }

    @Override
    public void close() {
      consumer.close();
    }
  }

  /** Predictions counted by query id against the ids that were sent. */
  record Ledger(int sent, int answered, List<String> missing, Map<String, Integer> duplicates) {
    static Ledger of(Collection<String> sentIds, List<Prediction> predictions) {
      Map<String, Integer> counts = new LinkedHashMap<>();
      for (Prediction p : predictions) {
        counts.merge(p.queryId(), 1, Integer::sum);
      }
      List<String> missing = sentIds.stream().filter(id -> !counts.containsKey(id)).toList();
      Map<String, Integer> duplicates = new LinkedHashMap<>();
      counts.forEach(
          (id, n) -> {
            if (n > 1) {
              duplicates.put(id, n);
            }
          });
      int answered = (int) sentIds.stream().filter(counts::containsKey).count();
      return new Ledger(sentIds.size(), answered, missing, duplicates);
    }

    @Override
    public String toString() {
      return "sent " + sent + ", answered " + answered + ", missing " + missing.size()
          + (missing.isEmpty() ? "" : " " + missing.subList(0, Math.min(10, missing.size())))
          + ", duplicated " + duplicates.size()
          + (duplicates.isEmpty() ? "" : " " + duplicates.entrySet().stream().limit(10).toList());
    }
  }

  static List<Prediction> predictions(EventCodec codec, List<ConsumerRecord<String, byte[]>> rs) {
    return rs.stream().map(r -> codec.readPrediction(r.value())).toList();
  }

  /**
   * Every place where a task's snapshot version went down from one record of the models topic to
   * the next (records of a task share a partition, since the key is the task).
   */
  static List<String> versionRegressions(
      EventCodec codec, List<ConsumerRecord<String, byte[]>> models) {
    Map<String, Long> last = new HashMap<>();
    List<String> regressions = new ArrayList<>();
    for (ConsumerRecord<String, byte[]> r : models) {
      ModelSnapshot s = codec.readSnapshot(r.value());
      Long before = last.put(s.task(), s.version());
      if (before != null && s.version() < before) {
        regressions.add(
            s.task() + ": version " + before + " then " + s.version() + " at offset " + r.offset());
      }
    }
    return regressions;
  }

  /** Snapshots of a task that repeat the version of the one before (the same version twice). */
  static int repeatedVersions(EventCodec codec, List<ConsumerRecord<String, byte[]>> models) {
    Map<String, Long> last = new HashMap<>();
    int repeated = 0;
    for (ConsumerRecord<String, byte[]> r : models) {
      ModelSnapshot s = codec.readSnapshot(r.value());
      Long before = last.put(s.task(), s.version());
      if (before != null && s.version() == before) {
        repeated++;
      }
    }
    return repeated;
  }

  /** Whether every one of {@code tasks} tasks has a snapshot holding {@code examples} examples. */
  static boolean allRegistered(
      EventCodec codec, List<ConsumerRecord<String, byte[]>> models, int tasks, int examples) {
    return models.stream()
            .map(r -> codec.readSnapshot(r.value()))
            .filter(s -> s.supportExamples() == examples)
            .map(ModelSnapshot::task)
            .distinct()
            .count()
        == tasks;
  }

  /**
   * Waits until every task has its registered snapshot and has answered one warm-up query {@code
   * warm-<t>}, so that the queries that follow meet a model (a query that comes before its task's
   * first snapshot gets UNKNOWN_TASK by design). Returns the warm-up query ids.
   */
  static List<String> awaitReady(
      Client client, String bootstrap, Map<String, Object> security, int tasks, int shots) {
    try (Tail models = new Tail(bootstrap, security, client.config.modelsTopic());
        Tail predictions = new Tail(bootstrap, security, client.config.predictionsTopic())) {
      if (!models.pollUntil(
          rs -> allRegistered(client.codec, rs, tasks, client.classes * shots),
          Duration.ofSeconds(60))) {
        throw new AssertionError("expected a snapshot of every one of " + tasks + " tasks");
      }
      List<String> ids = new ArrayList<>();
      for (int t = 0; t < tasks; t++) {
        client.query(t, 0, "warm-" + t, t);
        ids.add("warm-" + t);
      }
      client.flush();
      if (!predictions.pollUntil(
          rs -> Ledger.of(ids, predictions(client.codec, rs)).missing().isEmpty(),
          Duration.ofSeconds(60))) {
        throw new AssertionError("expected a prediction of every warm-up query " + ids);
      }
      return ids;
    }
  }

  /** The dead letters of the run, counted by reason (to explain a missing prediction). */
  static Map<String, Long> deadLetterReasons(
      Client client, String bootstrap, Map<String, Object> security) {
    try (Tail dead = new Tail(bootstrap, security, client.config.deadLettersTopic())) {
      dead.poll(Duration.ofSeconds(2));
      Map<String, Long> reasons = new LinkedHashMap<>();
      for (ConsumerRecord<String, byte[]> r : dead.records()) {
        reasons.merge(client.codec.readDeadLetter(r.value()).reason().name(), 1L, Long::sum);
      }
      return reasons;
    }
  }

  /**
   * Starts the service as a separate process, {@code java -jar jar run --bootstrap-servers
   * bootstrap -p setting ...}, its output in {@code log}, and waits (at most 120 s) until it logs
   * that it runs; fails with the log otherwise. {@code name} names it in that message.
   */
  static Process startProcess(
      Path jar, String bootstrap, List<String> settings, Path log, String name)
      throws IOException, InterruptedException {
    Files.createDirectories(log.getParent());
    Files.deleteIfExists(log);
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-jar", jar.toString(), "run", "--bootstrap-servers", bootstrap));
    for (String setting : settings) {
      command.add("-p");
      command.add(setting);
    }
    Process process =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    boolean running = false;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline && process.isAlive()) {
      if (Files.exists(log) && Files.readString(log).contains("running as application")) {
        running = true;
        break;
      }
      Thread.sleep(200);
    }
    if (!running) {
      process.destroyForcibly();
      throw new AssertionError(
          "expected service '" + name + "' to start within 120 s; its log:\n"
              + (Files.exists(log) ? Files.readString(log) : ""));
    }
    return process;
  }

  /** Sends {@code signal} ({@code STOP}, {@code CONT}, ...) to {@code process} with kill(1). */
  static void signal(Process process, String signal) throws IOException, InterruptedException {
    Process kill =
        new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid()))
            .redirectErrorStream(true)
            .start();
    int rc = kill.waitFor();
    if (rc != 0) {
      throw new AssertionError(
          "expected kill -" + signal + " " + process.pid() + " to exit 0, found " + rc);
    }
  }

  /**
   * The records of {@code topic} that open transactions hold: on each partition, the data records
   * between the last stable offset (where the earliest open transaction starts: the end offset a
   * read_committed consumer sees) and the high watermark (a read_uncommitted consumer's end),
   * read read_uncommitted. Meant for a frozen writer, whose transaction cannot move meanwhile;
   * a kill then aborts exactly these.
   */
  static List<ConsumerRecord<byte[], byte[]>> openTransactionRecords(
      String bootstrap, String topic) {
    Map<String, Object> c = new HashMap<>();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    Map<String, Object> committed = new HashMap<>(c);
    committed.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    Map<String, Object> uncommitted = new HashMap<>(c);
    uncommitted.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted");
    try (KafkaConsumer<byte[], byte[]> stable = new KafkaConsumer<>(committed);
        KafkaConsumer<byte[], byte[]> all = new KafkaConsumer<>(uncommitted)) {
      List<TopicPartition> partitions =
          all.partitionsFor(topic, Duration.ofSeconds(30)).stream()
              .map(p -> new TopicPartition(topic, p.partition()))
              .toList();
      Map<TopicPartition, Long> lastStable = stable.endOffsets(partitions);
      Map<TopicPartition, Long> highWatermark = all.endOffsets(partitions);
      all.assign(partitions);
      for (TopicPartition p : partitions) {
        all.seek(p, lastStable.get(p));
      }
      List<ConsumerRecord<byte[], byte[]>> open = new ArrayList<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (partitions.stream().anyMatch(p -> all.position(p) < highWatermark.get(p))) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("expected to read " + topic + " up to " + highWatermark
              + " within 30 s, found positions short of it");
        }
        for (ConsumerRecord<byte[], byte[]> r : all.poll(Duration.ofMillis(200))) {
          if (r.offset() < highWatermark.get(new TopicPartition(topic, r.partition()))) {
            open.add(r);
          }
        }
      }
      return open;
    }
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
