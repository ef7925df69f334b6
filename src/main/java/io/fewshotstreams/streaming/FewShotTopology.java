package io.fewshotstreams.streaming;

import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.events.EventCodec;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;

/**
 * Builds the topology of ARCHITECTURE.md:
 *
 * <pre>
 * support ──► support-intake ──┐                      ┌──► models (snapshots)
 *                              ├─► learner-input ─► learner
 * queries ──► query-classifier ┘   (repartition       └──► dead letters
 *               │   ▲               by task)
 *               │   └── global snapshot store ◄── models
 *               └──► predictions, dead letters
 * </pre>
 *
 * Support events are read, embedded and re-keyed by task, so one stream task owns all writes of a
 * task; queries are classified where they land, against the global store of snapshots.
 */
public final class FewShotTopology {
  /** Global store: task to its latest model snapshot, on every instance. */
  public static final String SNAPSHOT_STORE = "fewshot-model-snapshots";
  /** Learner store: task NUL example id to the example's class and feature. */
  public static final String EXAMPLES_STORE = "fewshot-examples";
  /** Learner store: task NUL label to the class's feature sum and count. */
  public static final String CLASSES_STORE = "fewshot-classes";
  /** Learner store: task to its bookkeeping (snapshot version, changes, pool ring position). */
  public static final String TASKS_STORE = "fewshot-tasks";
  /** Learner store: task NUL slot to a recent query feature. */
  public static final String POOL_STORE = "fewshot-query-pool";
  /** Query path store: input offset to a query waiting for its image batch. */
  public static final String PENDING_QUERIES_STORE = "fewshot-pending-queries";
  /** Name of the repartition topic (prefixed by the application id, suffixed -repartition). */
  public static final String LEARNER_INPUT = "fewshot-learner-input";

  private FewShotTopology() {}

  /**
   * The topology for these settings. The embedder, scheduler and telemetry are shared by every
   * stream thread and must outlive the {@code KafkaStreams} that runs the topology.
   */
  public static Topology build(
      FewShotConfig config, Embedder embedder, FineTuneScheduler scheduler, Telemetry telemetry) {
    EventCodec codec = new EventCodec(config.maxRecordBytes());
    Features features = new Features(embedder, telemetry);
    DeadLetters deadLetters = new DeadLetters(config.deadLetterMaxValueBytes(), telemetry);
    Learner.Settings learnerSettings =
        new Learner.Settings(
            features.backboneId(),
            features.size(),
            config.maxExamplesPerClass(),
            config.maxClassesPerTask(),
            config.queryPoolSize(),
            config.fineTuneMethod(),
            config.fineTuneIntervalMs());

    TaskCount taskCount = new TaskCount(config.maxTasks());
    StreamsBuilder builder = new StreamsBuilder();
    builder.addGlobalStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(SNAPSHOT_STORE),
                Serdes.String(),
                InternalSerdes.snapshot())
            .withLoggingDisabled(),
        config.modelsTopic(),
        Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("models-source"),
        () -> new SnapshotUpdater(codec, telemetry));
    builder.addStateStore(store(EXAMPLES_STORE, InternalSerdes.storedExample()));
    builder.addStateStore(store(CLASSES_STORE, InternalSerdes.classSums()));
    builder.addStateStore(store(TASKS_STORE, InternalSerdes.taskState()));
    builder.addStateStore(store(POOL_STORE, InternalSerdes.floats()));
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
            Stores.persistentKeyValueStore(PENDING_QUERIES_STORE),
            Serdes.Long(),
            InternalSerdes.pendingQuery()));

    KStream<String, Routed> support =
        builder
            .stream(
                config.supportTopic(),
                Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("support-source"))
            .process(
                () -> new SupportIntake(codec, features, deadLetters, telemetry), Named.as("support-intake"));
    KStream<String, Routed> queries =
        builder
            .stream(
                config.queriesTopic(),
                Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("queries-source"))
            .process(
                () ->
                    new QueryClassifier(
                        codec,
                        features,
                        deadLetters,
                        telemetry,
                        config.queryPoolSize(),
                        config.queryPoolSampleRate(),
                        config.queryBatchSize(),
                        config.queryBatchLingerMs()),
                Named.as("query-classifier"),
                PENDING_QUERIES_STORE);

    KStream<String, Routed> learned =
        support
            .merge(queries, Named.as("learner-inputs"))
            .filter((task, routed) -> routed instanceof Routed.ToLearner, Named.as("to-learner"))
            .mapValues(routed -> ((Routed.ToLearner) routed).input(), Named.as("learner-input"))
            .repartition(
                Repartitioned.with(Serdes.String(), InternalSerdes.learnerInput())
                    .withName(LEARNER_INPUT))
            .process(
                () -> new Learner(learnerSettings, scheduler, deadLetters, telemetry, taskCount),
                Named.as("learner"),
                EXAMPLES_STORE,
                CLASSES_STORE,
                TASKS_STORE,
                POOL_STORE);

    Produced<String, byte[]> json = Produced.with(Serdes.String(), Serdes.ByteArray());
    queries
        .filter((task, routed) -> routed instanceof Routed.ToPredictions, Named.as("predictions"))
        .mapValues(
            routed -> codec.write(((Routed.ToPredictions) routed).prediction()),
            Named.as("prediction-json"))
        .to(config.predictionsTopic(), json.withName("predictions-sink"));
    learned
        .filter((task, routed) -> routed instanceof Routed.ToModels, Named.as("snapshots"))
        .mapValues(
            routed -> codec.write(((Routed.ToModels) routed).snapshot()),
            Named.as("snapshot-json"))
        .to(config.modelsTopic(), json.withName("models-sink"));
    support
        .merge(queries, Named.as("intake-outputs"))
        .merge(learned, Named.as("all-outputs"))
        .filter((key, routed) -> routed instanceof Routed.ToDeadLetters, Named.as("dead-letters"))
        .mapValues(
            routed -> codec.write(((Routed.ToDeadLetters) routed).deadLetter()),
            Named.as("dead-letter-json"))
        .to(config.deadLettersTopic(), json.withName("dead-letters-sink"));
    return builder.build(config.streamsProperties());
  }

  private static <V> StoreBuilder<KeyValueStore<String, V>> store(String name, Serde<V> serde) {
    return Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), Serdes.String(), serde);
  }

}
