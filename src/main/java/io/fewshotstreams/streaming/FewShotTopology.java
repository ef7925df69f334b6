package io.fewshotstreams.streaming;

import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.EventType;
import io.fewshotstreams.events.OutputFraming;
import io.fewshotstreams.streaming.feedback.FeedbackRoom;
import io.fewshotstreams.streaming.learner.FineTuneScheduler;
import io.fewshotstreams.streaming.learner.Learner;
import io.fewshotstreams.streaming.learner.SupportIntake;
import io.fewshotstreams.streaming.learner.TaskCount;
import io.fewshotstreams.streaming.query.PendingQuery;
import io.fewshotstreams.streaming.query.QueryClassifier;
import io.fewshotstreams.streaming.query.SnapshotUpdater;
import io.fewshotstreams.streaming.telemetry.Telemetry;
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
 * task; queries are classified where they land, against the global store of snapshots. Each stage
 * lives in its own package: {@code learner} (support intake, learner), {@code query} (query
 * classifier, snapshot updater), {@code telemetry}; the store names are in {@link StoreNames}.
 */
public final class FewShotTopology {
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
            config.fineTuneIntervalMs(),
            config.fineTuneMaxExamplesPerClass(),
            config.fineTuneMaxBytes(),
            config.maxSnapshotBytes(features.size()),
            config.robustConfig(),
            config.fineTuneKeepOnAdd());

    TaskCount taskCount = new TaskCount(config.maxTasks());
    StreamsBuilder builder = new StreamsBuilder();
    builder.addGlobalStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(StoreNames.SNAPSHOTS),
                Serdes.String(),
                InternalSerdes.snapshot())
            .withLoggingDisabled(),
        config.modelsTopic(),
        Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("models-source"),
        () -> new SnapshotUpdater(codec, telemetry));
    builder.addStateStore(store(StoreNames.EXAMPLES, InternalSerdes.storedExample()));
    builder.addStateStore(store(StoreNames.CLASSES, InternalSerdes.classSum()));
    builder.addStateStore(store(StoreNames.TASKS, InternalSerdes.taskState()));
    builder.addStateStore(store(StoreNames.POOL, InternalSerdes.floats()));
    // A query is put and deleted within one commit interval, nearly always: with the record cache
    // the changelog gets one tombstone for it instead of the value and the tombstone.
    builder.addStateStore(
        Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(StoreNames.PENDING_QUERIES),
                Serdes.Long(),
                PendingQuery.serde())
            .withCachingEnabled());

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
                        config.queryPoolPerInterval(),
                        config.fineTuneIntervalMs(),
                        config.queryBatchSize(),
                        config.queryBatchLingerMs()),
                Named.as("query-classifier"),
                StoreNames.PENDING_QUERIES);

    KStream<String, Routed> intakes = support.merge(queries, Named.as("learner-inputs"));
    if (config.feedbackEnabled()) {
      intakes =
          intakes.merge(
              FeedbackRoom.wire(builder, config, queries, codec, deadLetters, telemetry),
              Named.as("feedback-outputs-in"));
    }
    KStream<String, Routed> learned =
        intakes
            .filter((task, routed) -> routed instanceof Routed.ToLearner, Named.as("to-learner"))
            .mapValues(routed -> ((Routed.ToLearner) routed).input(), Named.as("learner-input"))
            .repartition(
                Repartitioned.with(Serdes.String(), InternalSerdes.learnerInput())
                    .withName(StoreNames.LEARNER_INPUT))
            .process(
                () ->
                    new Learner(
                        learnerSettings, codec, scheduler, deadLetters, telemetry, taskCount),
                Named.as("learner"),
                StoreNames.EXAMPLES,
                StoreNames.CLASSES,
                StoreNames.TASKS,
                StoreNames.POOL);

    Produced<String, byte[]> json = Produced.with(Serdes.String(), Serdes.ByteArray());
    OutputFraming framing = config.outputFraming();
    queries
        .filter((task, routed) -> routed instanceof Routed.ToPredictions, Named.as("predictions"))
        .mapValues(
            routed ->
                framing.apply(
                    EventType.PREDICTION, codec.write(((Routed.ToPredictions) routed).prediction())),
            Named.as("prediction-json"))
        .to(config.predictionsTopic(), json.withName("predictions-sink"));
    learned
        .filter((task, routed) -> routed instanceof Routed.ToModels, Named.as("snapshots"))
        .mapValues(
            routed ->
                framing.apply(EventType.MODEL, codec.write(((Routed.ToModels) routed).snapshot())),
            Named.as("snapshot-json"))
        .to(config.modelsTopic(), json.withName("models-sink"));
    intakes
        .merge(learned, Named.as("all-outputs"))
        .filter((key, routed) -> routed instanceof Routed.ToDeadLetters, Named.as("dead-letters"))
        .process(
            () -> new DeadLetters.Writer(codec, config.rawDeadLetters()),
            Named.as("dead-letter-writer"))
        .mapValues(
            value -> config.rawDeadLetters() ? value : framing.apply(EventType.DEAD_LETTER, value),
            Named.as("dead-letter-framing"))
        .to(config.deadLettersTopic(), json.withName("dead-letters-sink"));
    return builder.build(config.streamsProperties());
  }

  private static <V> StoreBuilder<KeyValueStore<String, V>> store(String name, Serde<V> serde) {
    return Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), Serdes.String(), serde);
  }

}
