package io.fewshotstreams.streaming;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.streaming.learner.FineTuneScheduler;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running service: checks (or creates) its topics, then runs the topology of {@link
 * FewShotTopology} with its fine-tuning threads until closed.
 */
public final class FewShotStreams implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(FewShotStreams.class);
  private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(30);

  private final KafkaStreams streams;
  private final FineTuneScheduler scheduler;
  private final Telemetry telemetry;
  private final KafkaStreamsMetrics streamsMetrics;

  private FewShotStreams(
      KafkaStreams streams,
      FineTuneScheduler scheduler,
      Telemetry telemetry,
      KafkaStreamsMetrics streamsMetrics) {
    this.streams = streams;
    this.scheduler = scheduler;
    this.telemetry = telemetry;
    this.streamsMetrics = streamsMetrics;
  }

  /**
   * Starts the service and waits until it runs.
   *
   * @param createTopics whether to create missing topics; when false a missing topic is an error
   *     that names it
   * @param telemetry where the service's metrics go; Kafka Streams' own metrics are bound to its
   *     registry too
   * @throws FewShotException when topics are missing, the cluster cannot be reached, or the
   *     application does not reach RUNNING within {@code startTimeout}
   */
  public static FewShotStreams start(
      FewShotConfig config,
      Embedder embedder,
      boolean createTopics,
      Duration startTimeout,
      Telemetry telemetry) {
    FewShotStreams service = launch(config, embedder, createTopics, telemetry);
    service.awaitRunning(startTimeout);
    return service;
  }

  /**
   * Starts the service without waiting for it to run, so that its state can be served (health,
   * readiness) while it restores; {@link #awaitRunning} waits.
   *
   * @throws FewShotException when topics are missing or the cluster cannot be reached
   */
  public static FewShotStreams launch(
      FewShotConfig config, Embedder embedder, boolean createTopics, Telemetry telemetry) {
    int wanted = config.modelsMaxMessageBytes(embedder.featureSize());
    int models = ensureTopics(config, createTopics, wanted);
    if (models < wanted) {
      // An existing topic with a smaller limit: the learner keeps tasks within it.
      config = config.with(FewShotConfig.MODELS_MAX_MESSAGE_BYTES_CONFIG, models);
    }
    FineTuneScheduler scheduler = new FineTuneScheduler(config.fineTuneThreads());
    KafkaStreams streams;
    try {
      streams =
          new KafkaStreams(
              FewShotTopology.build(config, embedder, scheduler, telemetry),
              withProducerLimits(config.streamsProperties(), models));
    } catch (RuntimeException e) {
      scheduler.close();
      throw new FewShotException("cannot create the Kafka Streams application: " + e.getMessage(), e);
    }
    streams.setUncaughtExceptionHandler(threadFailures(config));
    streams.setGlobalStateRestoreListener(telemetry.restoreGuard());
    streams.setStandbyUpdateListener(telemetry.restoreGuard());
    KafkaStreamsMetrics streamsMetrics = new KafkaStreamsMetrics(streams);
    streamsMetrics.bindTo(telemetry.registry());
    FewShotStreams service = new FewShotStreams(streams, scheduler, telemetry, streamsMetrics);
    streams.start();
    return service;
  }

  /**
   * Waits until the application runs.
   *
   * @throws FewShotException, after closing the service, when it does not reach RUNNING within
   *     {@code timeout} or fails on the way
   */
  public void awaitRunning(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (streams.state() != KafkaStreams.State.RUNNING) {
      if (!streams.state().isRunningOrRebalancing() || System.nanoTime() > deadline) {
        KafkaStreams.State state = streams.state();
        close();
        throw new FewShotException(
            "expected the application to be RUNNING within "
                + timeout.toSeconds()
                + " s, found it "
                + state);
      }
      sleep(50);
    }
  }


  /** The Kafka Streams instance, for state queries. */
  public KafkaStreams streams() {
    return streams;
  }

  /** The service's metrics and recent activity. */
  public Telemetry telemetry() {
    return telemetry;
  }

  /** The fine-tuning threads (tests wait on them). */
  public FineTuneScheduler scheduler() {
    return scheduler;
  }

  @Override
  public void close() {
    streamsMetrics.close();
    // Leaving the group hands this instance's tasks over at once; without it the others wait for
    // the session to time out (45 s by default) before taking them.
    streams.close(
        CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
            .withTimeout(Duration.ofSeconds(30)));
    scheduler.close();
  }

  /**
   * The producer's {@code max.request.size} (and {@code buffer.memory}, which must hold a record)
   * raised to the models topic's record limit, unless set: a snapshot the topic takes must not be
   * refused by the service's own producer, whose default is 1 MB.
   */
  static Properties withProducerLimits(Properties props, int modelsMaxMessageBytes) {
    String request = StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
    if (!props.containsKey(request)
        && !props.containsKey(ProducerConfig.MAX_REQUEST_SIZE_CONFIG)) {
      props.put(request, String.valueOf(Math.max(1024 * 1024, modelsMaxMessageBytes)));
    }
    String buffer = StreamsConfig.producerPrefix(ProducerConfig.BUFFER_MEMORY_CONFIG);
    long defaultBuffer = 32L * 1024 * 1024;
    if (2L * modelsMaxMessageBytes > defaultBuffer
        && !props.containsKey(buffer)
        && !props.containsKey(ProducerConfig.BUFFER_MEMORY_CONFIG)) {
      props.put(buffer, String.valueOf(2L * modelsMaxMessageBytes));
    }
    return props;
  }

  /**
   * Makes sure the service's topics exist. The models topic is compacted: it keeps the latest
   * snapshot of every task; created, its record limit is {@code modelsMaxMessageBytes}.
   *
   * @return the record limit ({@code max.message.bytes}) the models topic has
   */
  static int ensureTopics(FewShotConfig config, boolean create, int modelsMaxMessageBytes) {
    Properties props = adminProperties(config);
    if (!props.containsKey(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG)) {
      throw new FewShotException("expected bootstrap.servers to be set, found it missing");
    }
    try (Admin admin = Admin.create(props)) {
      Set<String> existing =
          admin.listTopics().names().get(ADMIN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      List<String> missing = new ArrayList<>();
      List<String> wanted = new ArrayList<>(config.topics());
      wanted.addAll(config.feedbackTopics());
      for (String topic : wanted) {
        if (!existing.contains(topic)) {
          missing.add(topic);
        }
      }
      if (missing.isEmpty()) {
        return modelsLimit(admin, config.modelsTopic(), modelsMaxMessageBytes);
      }
      if (!create) {
        throw new FewShotException(
            "expected the topics "
                + wanted
                + " to exist, found "
                + missing
                + " missing; create them, or allow the service to create them");
      }
      List<NewTopic> topics = new ArrayList<>();
      for (String topic : missing) {
        NewTopic t =
            new NewTopic(
                topic,
                Optional.of(config.topicPartitions()),
                Optional.of(config.topicReplicationFactor()));
        if (topic.equals(config.modelsTopic())) {
          t.configs(
              Map.of(
                  TopicConfig.CLEANUP_POLICY_CONFIG,
                  TopicConfig.CLEANUP_POLICY_COMPACT,
                  TopicConfig.MAX_MESSAGE_BYTES_CONFIG,
                  String.valueOf(modelsMaxMessageBytes)));
        }
        topics.add(t);
      }
      try {
        admin.createTopics(topics).all().get(ADMIN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        log.info("created topics {}", missing);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw new FewShotException(
              "cannot create the missing topics " + missing + ": " + e.getCause().getMessage(), e);
        }
      }
      // the controller answers before the brokers' metadata has the new topics
      whileUnknownTopic(
          () ->
              admin
                  .describeTopics(missing)
                  .allTopicNames()
                  .get(ADMIN_TIMEOUT.toSeconds(), TimeUnit.SECONDS),
          ADMIN_TIMEOUT,
          System::nanoTime);
      return modelsLimit(admin, config.modelsTopic(), modelsMaxMessageBytes);
    } catch (ExecutionException e) {
      throw new FewShotException(
          "cannot list the topics of the cluster at "
              + props.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG)
              + ": "
              + e.getCause().getMessage(),
          e);
    } catch (TimeoutException e) {
      throw new FewShotException(
          "expected the cluster at "
              + props.get(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG)
              + " to answer within "
              + ADMIN_TIMEOUT.toSeconds()
              + " s, found no answer",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FewShotException("interrupted while checking the topics", e);
    }
  }

  /**
   * The settings of the admin client that checks and creates the topics, as Kafka Streams builds its
   * own: every admin client setting of the configuration, then the {@code admin.}-prefixed ones
   * over them (so {@code admin.sasl.jaas.config} gives topic creation its own principal), and this
   * client's timeouts where none is set.
   */
  static Properties adminProperties(FewShotConfig config) {
    Properties streamsProps = config.streamsProperties();
    Properties props = new Properties();
    for (String key : streamsProps.stringPropertyNames()) {
      if (AdminClientConfig.configNames().contains(key)) {
        props.put(key, streamsProps.get(key));
      }
    }
    for (String key : streamsProps.stringPropertyNames()) {
      String name = key.substring(Math.min(key.length(), StreamsConfig.ADMIN_CLIENT_PREFIX.length()));
      if (key.startsWith(StreamsConfig.ADMIN_CLIENT_PREFIX)
          && AdminClientConfig.configNames().contains(name)) {
        props.put(name, streamsProps.get(key));
      }
    }
    props.putIfAbsent(
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) ADMIN_TIMEOUT.toMillis());
    props.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
    return props;
  }

  /** What becomes of a failed stream thread: replaced, up to the configured limit in the window. */
  static StreamThreadFailures threadFailures(FewShotConfig config) {
    return new StreamThreadFailures(
        config.threadReplacementsMax(),
        Duration.ofMillis(config.threadReplacementsWindowMs()),
        System::nanoTime);
  }

  /** The models topic's {@code max.message.bytes}; a smaller one than wanted is logged. */
  private static int modelsLimit(Admin admin, String topic, int wanted)
      throws ExecutionException, InterruptedException, TimeoutException {
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
    Config described =
        whileUnknownTopic(
                () ->
                    admin
                        .describeConfigs(List.of(resource))
                        .all()
                        .get(ADMIN_TIMEOUT.toSeconds(), TimeUnit.SECONDS),
                ADMIN_TIMEOUT,
                System::nanoTime)
            .get(resource);
    ConfigEntry entry =
        described == null ? null : described.get(TopicConfig.MAX_MESSAGE_BYTES_CONFIG);
    if (entry == null || entry.value() == null) {
      return wanted;
    }
    int has = Integer.parseInt(entry.value());
    if (has < wanted) {
      log.warn(
          "the models topic {} takes records of at most {} bytes (max.message.bytes), less than"
              + " the {} bytes the largest task allowed by fewshot.max.classes.per.task may need;"
              + " tasks are kept within {} bytes (a new class beyond goes to the dead-letter topic"
              + " as TASK_FULL). To allow the full class limit: kafka-configs --alter --entity-type"
              + " topics --entity-name {} --add-config max.message.bytes={}",
          topic,
          has,
          wanted,
          has,
          topic,
          wanted);
    }
    return has;
  }

  /** A call to the cluster through the admin client. */
  @FunctionalInterface
  interface AdminCall<T> {
    T call() throws ExecutionException, InterruptedException, TimeoutException;
  }

  /**
   * Makes {@code call} again, after a growing pause (50 ms doubling to 1 s), for as long as the
   * cluster answers that it does not know a topic and {@code within} has not passed since the first
   * try; any other answer, and the last one at the end, is the caller's. A topic that was just
   * created, by this service or another, reaches the brokers' metadata a moment after the controller
   * said it exists: on a busy machine, seconds after.
   */
  static <T> T whileUnknownTopic(AdminCall<T> call, Duration within, LongSupplier nanos)
      throws ExecutionException, InterruptedException, TimeoutException {
    long deadline = nanos.getAsLong() + within.toNanos();
    long pauseMs = 50;
    while (true) {
      try {
        return call.call();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException)
            || nanos.getAsLong() - deadline >= 0) {
          throw e;
        }
        log.debug("the cluster does not know a topic yet; asking again in {} ms", pauseMs);
        Thread.sleep(pauseMs);
        pauseMs = Math.min(1_000, pauseMs * 2);
      }
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FewShotException("interrupted while starting", e);
    }
  }
}
