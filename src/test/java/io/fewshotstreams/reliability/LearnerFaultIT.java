package io.fewshotstreams.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.FewShotStreams;
import io.fewshotstreams.streaming.TaskQueries;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker is away for longer than the service's commit and transaction timeouts, so Kafka
 * Streams gives up on the tasks, closes them as corrupted and revives them, re-initialising the
 * same learner objects. Found by a probe: on the revived tasks fine-tuning never came back (the
 * learner kept its closed flag and in-flight set). Here every task must fine-tune again after the
 * outage. The timeouts are shrunk so that a 25 s outage outlasts them.
 */
class LearnerFaultIT {
  private static final Logger log = LoggerFactory.getLogger(LearnerFaultIT.class);
  private static final int TASKS = 4;
  private static final int CLASSES = 3;
  private static final int SHOTS = 3;
  private static final long OUTAGE_MS = 25_000; // 5 x task.timeout.ms, 2.5 x transaction timeout
  private static final Duration AWAIT = Duration.ofSeconds(90);
  /** Queries pooled a task before the outage of the evicted variant. */
  private static final int POOLED = 2_000;

  @TempDir Path brokerData;
  @TempDir Path state;

  @Test
  @Timeout(value = 280, unit = TimeUnit.SECONDS)
  void shouldFineTuneAgainOnEveryTaskAfterAnOutageLongerThanTheTimeouts() throws Exception {
    outage(false);
  }

  /**
   * The same outage, but the group moves on without the service meanwhile, as a coordinator does
   * once a member's session has timed out: the broker comes up on another port, out of the
   * service's reach, the group's members are removed there, and the broker comes back on its own
   * port. The stream thread's first commit after the outage is refused ({@code
   * CommitFailedException}: consumer group metadata mismatch), so Kafka Streams closes every task
   * as lost and rejoins, often while the tasks it revived from the corruption are still
   * restoring; each task's pool of {@link #POOLED} queries makes that restore long enough. Kafka
   * Streams then resumes their restores at the offsets their changelogs had been written to, and
   * without the two checks of RELIABILITY.md the learner ran on empty stores and published every
   * task as v1 of one example (the snapshot-version assertion). With them the damaged stream task
   * is handed back; when the hand-back was a {@code TaskCorruptedException}, the example it refused
   * was not processed again in three of four runs, so two tasks did not fine-tune again within
   * {@link #AWAIT} (the fine-tune assertion). The path is taken in about half the runs; a run
   * that did not take it checks the same assertions, then reports itself skipped.
   */
  @Test
  @Timeout(value = 280, unit = TimeUnit.SECONDS)
  void shouldKeepEveryTaskAndFineTuneAgainWhenTheGroupMovedOnDuringTheOutage() throws Exception {
    outage(true);
  }

  /**
   * Stops the broker for {@link #OUTAGE_MS}, then sends a new example to every task and waits for
   * a fine-tuned snapshot of each; with {@code evicted}, the service's group members are removed
   * while the broker is out of the service's reach.
   */
  private void outage(boolean evicted) throws Exception {
    BrokerOptions options = BrokerOptions.defaults().withDataDir(brokerData).withPort(freePort());
    EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(options);
    String bootstrap = broker.bootstrapServers();
    Map<String, Object> extra = new HashMap<>();
    extra.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    extra.put(FewShotConfig.FINETUNE_METHOD_CONFIG, "inductive");
    extra.put(FewShotConfig.FINETUNE_INTERVAL_MS_CONFIG, 1_000L);
    // Shrunk from minutes to seconds, so that the outage outlasts them.
    extra.put(StreamsConfig.TASK_TIMEOUT_MS_CONFIG, 5_000L);
    extra.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG), 10_000);
    extra.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_BLOCK_MS_CONFIG), 5_000);
    extra.put(StreamsConfig.producerPrefix(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG), 5_000);
    extra.put(StreamsConfig.producerPrefix(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG), 10_000);
    extra.put(StreamsConfig.consumerPrefix(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG), 5_000);
    extra.put(StreamsConfig.consumerPrefix(ConsumerConfig.REQUEST_TIMEOUT_MS_CONFIG), 5_000);
    if (evicted) {
      // A pool of POOLED queries a task, so that restoring the learner's stores takes a while.
      extra.put(FewShotConfig.QUERY_POOL_SIZE_CONFIG, POOLED);
      extra.put(FewShotConfig.QUERY_POOL_PER_INTERVAL_CONFIG, POOLED);
    }
    Map<String, Object> settings =
        FaultRig.settings(bootstrap, "learner-fault-" + UUID.randomUUID(), state, extra);
    try (Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
        FewShotStreams service = FaultRig.start(embedder, settings);
        FaultRig.Client client = new FaultRig.Client(settings, Map.of(), CLASSES)) {
      client.register(TASKS, SHOTS);
      assertThat(awaitFineTuned(client, bootstrap, CLASSES * SHOTS))
          .as("every task fine-tuned before the outage")
          .isTrue();
      if (evicted) {
        fillPools(service, client);
      }
      double before = fineTunes(service);

      long stopAt = System.currentTimeMillis();
      broker.close();
      FaultRig.sleep(OUTAGE_MS);
      if (evicted) {
        try (EmbeddedKafkaBroker aside = EmbeddedKafkaBroker.start(options.withPort(freePort()));
            Admin admin =
                Admin.create(
                    Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, aside.bootstrapServers()))) {
          admin
              .removeMembersFromConsumerGroup(
                  (String) settings.get(StreamsConfig.APPLICATION_ID_CONFIG),
                  new RemoveMembersFromConsumerGroupOptions())
              .all()
              .get(30, TimeUnit.SECONDS);
        }
      }
      broker = EmbeddedKafkaBroker.start(options);
      long backAt = System.currentTimeMillis();

      for (int t = 0; t < TASKS; t++) {
        client.addExample(t, t % CLASSES, "after-outage", 77_000L + t);
      }
      client.flush();
      boolean all = awaitFineTuned(client, bootstrap, CLASSES * SHOTS + 1);
      List<String> regressions;
      try (FaultRig.Tail models =
          new FaultRig.Tail(bootstrap, Map.of(), client.config.modelsTopic())) {
        models.poll(Duration.ofSeconds(2));
        regressions = FaultRig.versionRegressions(client.codec, models.records());
      }
      log.info(
          "fault outcome: broker away {} ms (task timeout 5 s, transaction timeout 10 s):"
              + " fine-tuned snapshot of every task after it: {}; fine-tunes installed {} before,"
              + " {} after; snapshot version regressions {}; restores resumed beyond what they"
              + " restored {}, tasks restored again for it {}; service state {}",
          backAt - stopAt,
          all,
          before,
          fineTunes(service),
          regressions,
          restoreCount(service, "skipped"),
          restoreCount(service, "repaired"),
          service.streams().state());

      assertThat(regressions).as("snapshot versions going down: learner state lost").isEmpty();
      assertThat(all).as("a fine-tuned snapshot of every task after the outage").isTrue();
      assertThat(service.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
      if (evicted) {
        // Checked above either way; reported as skipped when the faulty path was not taken.
        assumeTrue(
            restoreCount(service, "skipped") > 0 || restoreCount(service, "repaired") > 0,
            "no restore resumed beyond what it restored and nothing was handed back in this run:"
                + " the path this test is for was not taken (about half the runs)");
      }
    } finally {
      broker.close();
    }
  }

  /** Whether every task gets a fine-tuned snapshot of {@code examples} examples in time. */
  private static boolean awaitFineTuned(FaultRig.Client client, String bootstrap, int examples) {
    try (FaultRig.Tail models =
        new FaultRig.Tail(bootstrap, Map.of(), client.config.modelsTopic())) {
      return models.pollUntil(rs -> fineTunedTasks(client, rs, examples) == TASKS, AWAIT);
    }
  }

  private static long fineTunedTasks(
      FaultRig.Client client, List<ConsumerRecord<String, byte[]>> rs, int examples) {
    return rs.stream()
        .map(r -> client.codec.readSnapshot(r.value()))
        .filter(s -> s.method().equals(ModelSnapshot.FINE_TUNED))
        .filter(s -> s.supportExamples() == examples)
        .map(ModelSnapshot::task)
        .distinct()
        .count();
  }

  /**
   * Sends {@link #POOLED} queries to every task and waits until each task's pool holds them all:
   * about 2 x 4 x 2,000 learner changelog records, which take the revived learner tasks longer to
   * restore than the stream thread takes to reach its refused commit.
   */
  private static void fillPools(FewShotStreams service, FaultRig.Client client) {
    for (int t = 0; t < TASKS; t++) {
      for (int q = 0; q < POOLED; q++) {
        client.query(t, q % CLASSES, "pool-" + q, 50_000L + q);
      }
    }
    client.flush();
    TaskQueries queries = new TaskQueries(service.streams());
    long deadline = System.currentTimeMillis() + AWAIT.toMillis();
    int full = 0;
    while (full < TASKS && System.currentTimeMillis() < deadline) {
      full = 0;
      for (int t = 0; t < TASKS; t++) {
        full +=
            queries.localLearner(FaultRig.task(t)).filter(l -> l.poolCount() == POOLED).isPresent()
                ? 1
                : 0;
      }
      FaultRig.sleep(200);
    }
    assertThat(full).as("tasks whose pool holds all %d queries", POOLED).isEqualTo(TASKS);
  }

  private static double restoreCount(FewShotStreams service, String outcome) {
    return service.telemetry().registry().get("fewshot.state.restore." + outcome).counter().count();
  }

  private static double fineTunes(FewShotStreams service) {
    return service.telemetry().registry().find("fewshot.finetunes").tag("outcome", "installed")
        .counters().stream()
        .mapToDouble(c -> c.count())
        .sum();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }
}
