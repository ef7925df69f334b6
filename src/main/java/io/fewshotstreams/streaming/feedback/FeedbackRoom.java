package io.fewshotstreams.streaming.feedback;

import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.streaming.DeadLetters;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.Stores;

/**
 * The feedback room's part of the topology:
 *
 * <pre>
 * query path ─► ToFeedback ─┐
 *                           ├─► feedback-input ─► FeedbackJoiner ─┬─► outcomes, review
 * feedback ─► FeedbackIntake┘   (by task)                         └─► support adds, dead letters
 *                 └─► dead letters
 * </pre>
 */
public final class FeedbackRoom {
  private FeedbackRoom() {}

  /**
   * Adds the room to {@code builder}: reads the feedback topic, takes the {@link Routed.ToFeedback}
   * values of {@code queries}, writes the outcomes and review topics. Returns what the rest of the
   * topology routes: {@link Routed.ToLearner} (promoted queries) and {@link Routed.ToDeadLetters}.
   */
  public static KStream<String, Routed> wire(
      StreamsBuilder builder,
      FewShotConfig config,
      KStream<String, Routed> queries,
      EventCodec codec,
      DeadLetters deadLetters,
      Telemetry telemetry) {
    TaskSettings settings = config.feedbackSettings();
    FeedbackMetrics metrics = new FeedbackMetrics(telemetry.registry(), settings.metricsMaxTasks());
    // No record cache: the four stores describe one state (a task's counts match its queues), and
    // under at-least-once a cached store's changelog would lag the others' by up to a commit
    // interval, so a crash would restore counts that no longer match the queues.
    addStore(builder, FeedbackStores.PREDICTIONS, FeedbackSerdes.retained(codec));
    addStore(builder, FeedbackStores.ORDER, FeedbackSerdes.queued());
    addStore(builder, FeedbackStores.COUNTS, FeedbackSerdes.counts());
    addStore(builder, FeedbackStores.ACCURACY, FeedbackSerdes.accuracy());

    KStream<String, Object> intake =
        builder
            .stream(
                config.feedbackTopic(),
                Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()).withName("feedback-source"))
            .process(() -> new FeedbackIntake(codec, deadLetters), Named.as("feedback-intake"));
    KStream<String, FeedbackInput> truths =
        intake
            .filter((task, v) -> v instanceof FeedbackInput.Truth, Named.as("feedback-truths"))
            .mapValues(v -> (FeedbackInput) v, Named.as("feedback-truth"));
    KStream<String, Routed> rejected =
        intake
            .filter((k, v) -> v instanceof Routed.ToDeadLetters, Named.as("feedback-rejected"))
            .mapValues(v -> (Routed) v, Named.as("feedback-dead-letter"));
    KStream<String, FeedbackInput> predicted =
        queries
            .filter((task, r) -> r instanceof Routed.ToFeedback, Named.as("to-feedback"))
            .mapValues(
                r -> {
                  Routed.ToFeedback f = (Routed.ToFeedback) r;
                  return (FeedbackInput) new FeedbackInput.Predicted(f.prediction(), f.feature());
                },
                Named.as("feedback-prediction"));
    KStream<String, Routed> joined =
        predicted
            .merge(truths, Named.as("feedback-inputs"))
            .repartition(
                Repartitioned.with(Serdes.String(), FeedbackSerdes.input(codec))
                    .withName(FeedbackStores.INPUT))
            .process(
                () -> new FeedbackJoiner(settings, deadLetters, metrics, telemetry.restoreGuard()),
                Named.as("feedback-joiner"),
                FeedbackStores.NAMES);

    Produced<String, byte[]> json = Produced.with(Serdes.String(), Serdes.ByteArray());
    joined
        .filter((task, r) -> r instanceof Routed.ToOutcomes, Named.as("outcomes"))
        .mapValues(r -> codec.write(((Routed.ToOutcomes) r).outcome()), Named.as("outcome-json"))
        .to(config.outcomesTopic(), json.withName("outcomes-sink"));
    joined
        .filter((task, r) -> r instanceof Routed.ToReview, Named.as("review"))
        .mapValues(r -> codec.write(((Routed.ToReview) r).item()), Named.as("review-json"))
        .to(config.reviewTopic(), json.withName("review-sink"));
    return joined
        .filter(
            (task, r) -> r instanceof Routed.ToLearner || r instanceof Routed.ToDeadLetters,
            Named.as("feedback-to-others"))
        .merge(rejected, Named.as("feedback-outputs"));
  }

  private static <V> void addStore(StreamsBuilder builder, String name, Serde<V> serde) {
    builder.addStateStore(
        Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(name), Serdes.String(), serde));
  }
}
