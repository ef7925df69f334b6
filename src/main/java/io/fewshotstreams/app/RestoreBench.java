package io.fewshotstreams.app;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.serving.ServiceInstance;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.TaskQueries;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.function.IntPredicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.StreamsConfig;

/**
 * Restore at scale: one service instance takes in {@code tasks} tasks of {@code classes} classes of
 * {@code shots} support embeddings each, then a pool's worth of query embeddings per task, so every
 * learner store and the global snapshot store hold real data; it is closed, and a fresh instance
 * with the same application id and an empty state directory is started and timed.
 *
 * <p>Figures: the time from start to RUNNING; the time until every task's learner state and
 * snapshot can be read through the service's interactive queries; the time until one query per task
 * is answered; the changelog records Kafka Streams restored and the offsets of every changelog and
 * of the models topic; and the heap that stays after the restore (used heap after {@code
 * System.gc()}, from {@link java.lang.management.MemoryMXBean}, minus the same before the start),
 * per task. The embedder is opened once, before either heap reading, so its share cancels.
 */
final class RestoreBench {
  private static final Duration POLL = Duration.ofMillis(200);

  private final String bootstrap;
  private final Embedder embedder;
  private final Path stateDir;
  private final Map<String, String> serviceSettings;
  private final Duration wait;
  private final EventCodec codec = new EventCodec();

  /**
   * @param wait the longest any one phase (filling, restoring, answering) may take
   */
  RestoreBench(
      String bootstrap,
      Embedder embedder,
      Path stateDir,
      Map<String, String> serviceSettings,
      Duration wait) {
    this.bootstrap = bootstrap;
    this.embedder = embedder;
    this.stateDir = stateDir;
    this.serviceSettings = Map.copyOf(serviceSettings);
    this.wait = wait;
  }

  /**
   * What a topic holds: its offsets (records and, under exactly-once, commit markers) and its
   * committed records, counted with a {@code read_committed} consumer as a restore reads them.
   */
  record TopicRecords(String topic, long offsets, long records) {}

  /**
   * One run's figures; times in seconds from the second instance's start.
   *
   * @param fillSeconds how long the first instance took to take in the support and the queries
   * @param runningSeconds start to RUNNING
   * @param readableSeconds start until every task's learner state and snapshot were readable
   * @param answeredSeconds start until one query per task, sent at RUNNING, was answered
   * @param changelogs each changelog topic, which a restore from nothing reads
   * @param models the models topic, which the global store reads
   * @param heapBeforeBytes used heap after collecting garbage, before the second instance started
   * @param heapRestoredBytes the same once every task was readable, before any query
   * @param heapAnsweredBytes the same once one query per task was answered
   * @param stateDirBytes the second instance's state directory on disk, once restored
   */
  record Report(
      int tasks,
      int classes,
      int shots,
      int poolQueries,
      double fillSeconds,
      double runningSeconds,
      double readableSeconds,
      double answeredSeconds,
      List<TopicRecords> changelogs,
      TopicRecords models,
      long heapBeforeBytes,
      long heapRestoredBytes,
      long heapAnsweredBytes,
      long stateDirBytes) {

    /** The heap the restored service keeps per task, before it answers queries. */
    double restoredBytesPerTask() {
      return (double) (heapRestoredBytes - heapBeforeBytes) / tasks;
    }

    /** The heap per task once each task has answered a query (classifier caches filled). */
    double answeredBytesPerTask() {
      return (double) (heapAnsweredBytes - heapBeforeBytes) / tasks;
    }

    long changelogOffsets() {
      return changelogs.stream().mapToLong(TopicRecords::offsets).sum();
    }

    /** The changelog records a restore from nothing applies to the stores. */
    long restoredRecords() {
      return changelogs.stream().mapToLong(TopicRecords::records).sum();
    }
  }

  /**
   * Fills, closes and restores; {@code poolQueriesOrNull} query embeddings are sent per task (the
   * pool keeps the newest {@code fewshot.query.pool.size} of them; null sends that many).
   */
  @SuppressWarnings("try") // each instance runs while the block measures it
  Report run(
      int tasks, int classes, int shots, Integer poolQueriesOrNull, long seed, PrintWriter out) {
    String app = "restore-" + Long.toHexString(System.nanoTime());
    FewShotConfig first = config(app, stateDir.resolve("first"));
    FewShotConfig second = config(app, stateDir.resolve("second"));
    int poolQueries = poolQueriesOrNull != null ? poolQueriesOrNull : first.queryPoolSize();
    if (tasks < 1 || classes < 1 || shots < 1 || poolQueries < 0) {
      throw new FewShotException(
          String.format(
              "expected tasks >= 1, classes >= 1, shots >= 1, pool queries >= 0, found %d, %d,"
                  + " %d, %d",
              tasks, classes, shots, poolQueries));
    }
    int pooled = Math.min(poolQueries, first.queryPoolSize());
    int examples = classes * shots;
    Embeddings embeddings = new Embeddings(seed, classes, embedder.featureSize());

    long fillStart = System.nanoTime();
    try (ServiceInstance service = ServiceInstance.start(first, embedder, true, wait);
        KafkaProducer<String, byte[]> producer = Clients.producer(bootstrap, fastProducer())) {
      TaskQueries queries = new TaskQueries(service.service().streams());
      for (int t = 0; t < tasks; t++) {
        for (int c = 0; c < classes; c++) {
          for (int s = 0; s < shots; s++) {
            String id = "e" + c + "-" + s;
            SupportEvent.AddExample add =
                new SupportEvent.AddExample(
                    1, task(t), label(c), id, null, embeddings.example(t, c));
            producer.send(new ProducerRecord<>(first.supportTopic(), task(t), codec.write(add)));
          }
        }
      }
      producer.flush();
      // The query path classifies with the global store: queries wait until every task's last
      // snapshot has reached it, or they would be dead letters (UNKNOWN_TASK) and never pooled.
      awaitAll(
          "support: a snapshot of all " + examples + " examples in the global store",
          tasks,
          t -> snapshotExamples(queries, t) == examples,
          out);
      for (int t = 0; t < tasks; t++) {
        for (int q = 0; q < poolQueries; q++) {
          QueryEvent query =
              new QueryEvent(
                  1, task(t), "p-" + t + "-" + q, null, embeddings.example(t, q % classes), null);
          producer.send(new ProducerRecord<>(first.queriesTopic(), task(t), codec.write(query)));
        }
      }
      producer.flush();
      awaitAll(
          "pool: " + poolQueries + " queries pooled per task",
          tasks,
          t -> learner(queries, t).map(l -> l.poolAdds() == poolQueries).orElse(false),
          out);
    }
    double fillSeconds = (System.nanoTime() - fillStart) / 1e9;
    out.printf("filled in %.1f s; first instance closed%n", fillSeconds);
    out.flush();

    List<TopicRecords> changelogs = new ArrayList<>();
    TopicRecords models = count(app, first.modelsTopic(), changelogs);

    long heapBefore = usedHeapAfterGc();
    long start = System.nanoTime();
    try (ServiceInstance service = ServiceInstance.start(second, embedder, false, wait);
        KafkaProducer<String, byte[]> producer = Clients.producer(bootstrap, fastProducer());
        KafkaConsumer<String, byte[]> predictions =
            Clients.readCommittedConsumer(bootstrap, app + "-reader")) {
      double running = (System.nanoTime() - start) / 1e9;
      out.printf("second instance RUNNING after %.1f s%n", running);
      out.flush();
      TaskQueries queries = new TaskQueries(service.service().streams());
      awaitAll(
          "restored: learner state and snapshot of every task readable",
          tasks,
          t ->
              snapshotExamples(queries, t) == examples
                  && learner(queries, t)
                      .map(l -> l.supportChanges() == examples && l.poolCount() == pooled)
                      .orElse(false),
          out);
      double readable = (System.nanoTime() - start) / 1e9;
      long heapRestored = usedHeapAfterGc();

      List<TopicPartition> parts = new ArrayList<>();
      predictions.partitionsFor(second.predictionsTopic())
          .forEach(p -> parts.add(new TopicPartition(p.topic(), p.partition())));
      predictions.assign(parts);
      predictions.seekToEnd(parts);
      parts.forEach(predictions::position);
      Embeddings fresh = new Embeddings(seed, classes, embedder.featureSize());
      for (int t = 0; t < tasks; t++) {
        QueryEvent query =
            new QueryEvent(1, task(t), "after-" + t, null, fresh.example(t, t % classes), null);
        producer.send(new ProducerRecord<>(second.queriesTopic(), task(t), codec.write(query)));
      }
      producer.flush();
      awaitAnswers(predictions, tasks);
      double answered = (System.nanoTime() - start) / 1e9;
      long heapAnswered = usedHeapAfterGc();
      return new Report(
          tasks,
          classes,
          shots,
          poolQueries,
          fillSeconds,
          running,
          readable,
          answered,
          changelogs,
          models,
          heapBefore,
          heapRestored,
          heapAnswered,
          sizeOf(stateDir.resolve("second")));
    }
  }

  private FewShotConfig config(String app, Path state) {
    Map<String, Object> settings = new HashMap<>();
    settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    settings.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
    settings.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    settings.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    settings.put(FewShotConfig.TOPIC_PARTITIONS_CONFIG, 1);
    settings.put(FewShotConfig.HTTP_PORT_CONFIG, -1);
    // The stores' contents, not the fits, are measured: no fine-tuning unless asked for.
    settings.put(FewShotConfig.FINETUNE_METHOD_CONFIG, "prototypes");
    settings.put(FewShotConfig.SUPPORT_TOPIC_CONFIG, app + "-support");
    settings.put(FewShotConfig.QUERIES_TOPIC_CONFIG, app + "-queries");
    settings.put(FewShotConfig.PREDICTIONS_TOPIC_CONFIG, app + "-predictions");
    settings.put(FewShotConfig.MODELS_TOPIC_CONFIG, app + "-models");
    settings.put(FewShotConfig.DEAD_LETTERS_TOPIC_CONFIG, app + "-dead-letters");
    settings.putAll(serviceSettings);
    // The fill waits for every query to be pooled: none is sampled out, none held back by the
    // pool's per-interval cap (the fill sends them all within one interval).
    settings.put(FewShotConfig.QUERY_POOL_SAMPLE_RATE_CONFIG, 1.0);
    settings.put(FewShotConfig.QUERY_POOL_PER_INTERVAL_CONFIG, Integer.MAX_VALUE);
    return new FewShotConfig(settings);
  }

  private static Map<String, Object> fastProducer() {
    return Map.of(ProducerConfig.LINGER_MS_CONFIG, 20, ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024);
  }

  static String task(int t) {
    return String.format("task-%06d", t);
  }

  private static String label(int c) {
    return "class-" + c;
  }

  /** Support examples of the task's snapshot in the global store; -1 when none or unreadable. */
  private static int snapshotExamples(TaskQueries queries, int t) {
    try {
      return queries.snapshot(task(t)).map(ModelSnapshot::supportExamples).orElse(-1);
    } catch (TaskQueries.Unavailable e) {
      return -1;
    }
  }

  private static Optional<TaskQueries.LearnerState> learner(TaskQueries queries, int t) {
    try {
      return queries.localLearner(task(t));
    } catch (TaskQueries.Unavailable e) {
      return Optional.empty();
    }
  }

  /**
   * Waits until {@code done} holds for every task. One partition takes tasks in order, so the
   * wait walks forward from the first task not yet done instead of asking about every task.
   */
  private void awaitAll(String what, int tasks, IntPredicate done, PrintWriter out) {
    long began = System.nanoTime();
    long deadline = began + wait.toNanos();
    long nextReport = began + 10_000_000_000L;
    int next = 0;
    while (true) {
      while (next < tasks && done.test(next)) {
        next++;
      }
      if (next == tasks) {
        // A task passed early may not be final: check all once more.
        int missing = -1;
        for (int t = 0; t < tasks && missing < 0; t++) {
          if (!done.test(t)) {
            missing = t;
          }
        }
        if (missing < 0) {
          out.printf("%s: done in %.1f s%n", what, (System.nanoTime() - began) / 1e9);
          out.flush();
          return;
        }
        next = missing;
      }
      long now = System.nanoTime();
      if (now > deadline) {
        throw new FewShotException(
            "expected " + what + " within " + wait.toSeconds() + " s, found " + next + " of "
                + tasks + " tasks done");
      }
      if (now > nextReport) {
        out.printf("%s: %d of %d tasks after %.0f s%n", what, next, tasks, (now - began) / 1e9);
        out.flush();
        nextReport = now + 10_000_000_000L;
      }
      sleep(POLL.toMillis());
    }
  }

  private void awaitAnswers(KafkaConsumer<String, byte[]> predictions, int tasks) {
    Set<String> answered = new HashSet<>();
    long deadline = System.nanoTime() + wait.toNanos();
    while (answered.size() < tasks) {
      if (System.nanoTime() > deadline) {
        throw new FewShotException(
            "expected a prediction for each of " + tasks + " queries within " + wait.toSeconds()
                + " s, found " + answered.size());
      }
      for (ConsumerRecord<String, byte[]> r : predictions.poll(POLL)) {
        String id = codec.readPrediction(r.value()).queryId();
        if (id.startsWith("after-")) {
          answered.add(id);
        }
      }
    }
  }

  /** Fills {@code changelogs} with each changelog topic of {@code app}; returns the models topic. */
  private TopicRecords count(String app, String modelsTopic, List<TopicRecords> changelogs) {
    List<String> topics = new ArrayList<>();
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      for (String name : admin.listTopics().names().get()) {
        if (name.startsWith(app + "-") && name.endsWith("-changelog")) {
          topics.add(name);
        }
      }
    } catch (ExecutionException e) {
      throw new FewShotException("cannot list the changelogs: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FewShotException("interrupted while listing the changelogs", e);
    }
    topics.sort(null);
    try (KafkaConsumer<String, byte[]> consumer =
        Clients.readCommittedConsumer(bootstrap, app + "-counter")) {
      for (String topic : topics) {
        changelogs.add(count(consumer, topic));
      }
      return count(consumer, modelsTopic);
    }
  }

  /** Reads {@code topic} from its start to its last committed offset and counts the records. */
  private TopicRecords count(KafkaConsumer<String, byte[]> consumer, String topic) {
    List<TopicPartition> parts = new ArrayList<>();
    consumer.partitionsFor(topic).forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
    Map<TopicPartition, Long> begin = consumer.beginningOffsets(parts);
    Map<TopicPartition, Long> end = consumer.endOffsets(parts);
    long offsets = 0;
    for (TopicPartition tp : parts) {
      offsets += end.get(tp) - begin.get(tp);
    }
    long records = 0;
    long deadline = System.nanoTime() + wait.toNanos();
    while (parts.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
      if (System.nanoTime() > deadline) {
        throw new FewShotException("expected to read " + topic + " to its end within " + wait.toSeconds() + " s, found it unfinished");
      }
      records += consumer.poll(POLL).count();
    }
    return new TopicRecords(topic, offsets, records);
  }

  /** Used heap after collecting garbage until it stops shrinking (at most a few rounds). */
  static long usedHeapAfterGc() {
    var memory = ManagementFactory.getMemoryMXBean();
    long used = Long.MAX_VALUE;
    for (int round = 0; round < 5; round++) {
      memory.gc();
      long now = memory.getHeapMemoryUsage().getUsed();
      if (now >= used) {
        return Math.min(now, used);
      }
      used = now;
    }
    return used;
  }

  private static long sizeOf(Path dir) {
    try (var paths = Files.walk(dir)) {
      return paths
          .filter(Files::isRegularFile)
          .mapToLong(
              p -> {
                try {
                  return Files.size(p);
                } catch (IOException e) {
                  return 0; // a file RocksDB removed meanwhile
                }
              })
          .sum();
    } catch (IOException e) {
      return -1;
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FewShotException("interrupted while waiting", e);
    }
  }

  /**
   * Embeddings clustered by class: each (task, class) has a random unit centre, and an example is
   * the centre plus Gaussian noise, so snapshots and pools hold plausible, distinct values.
   */
  static final class Embeddings {
    private final long seed;
    private final int classes;
    private final int dim;
    private final Random noise;

    Embeddings(long seed, int classes, int dim) {
      this.seed = seed;
      this.classes = classes;
      this.dim = dim;
      this.noise = new Random(seed ^ 0x5DEECE66DL);
    }

    float[] example(int task, int c) {
      Random centre = new Random(seed * 31 + (long) task * classes + c);
      float[] e = new float[dim];
      for (int k = 0; k < dim; k++) {
        e[k] = (float) (centre.nextGaussian() + 0.5 * noise.nextGaussian());
      }
      return e;
    }
  }
}
