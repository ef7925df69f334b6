package io.fewshotstreams.streaming.feedback;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.DeadLetters;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueBytesStoreSupplier;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.internals.InMemoryKeyValueStore;
import org.junit.jupiter.api.Test;

/**
 * The feedback room's bound on kept predictions, on the joiner alone with real in-memory stores:
 * what it costs per kept prediction once a task is full.
 */
class FeedbackJoinerTest {
  private static final String TASK = "t";
  private static final int KEPT = 50;

  /** An in-memory store that counts the range scans asked of it. */
  private static final class CountingStore extends InMemoryKeyValueStore {
    final AtomicInteger ranges = new AtomicInteger();

    CountingStore(String name) {
      super(name);
    }

    @Override
    public KeyValueIterator<Bytes, byte[]> range(Bytes from, Bytes to) {
      ranges.incrementAndGet();
      return super.range(from, to);
    }
  }

  private static <V> KeyValueStore<String, V> store(
      MockProcessorContext<String, Routed> context, KeyValueBytesStoreSupplier supplier, Serde<V> serde) {
    KeyValueStore<String, V> store =
        Stores.keyValueStoreBuilder(supplier, Serdes.String(), serde).withLoggingDisabled().build();
    store.init(context.getStateStoreContext(), store);
    context.addStateStore(store);
    return store;
  }

  private static KeyValueBytesStoreSupplier supplier(String name, KeyValueStore<Bytes, byte[]> s) {
    return new KeyValueBytesStoreSupplier() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public KeyValueStore<Bytes, byte[]> get() {
        return s;
      }

      @Override
      public String metricsScope() {
        return "in-memory";
      }
    };
  }

  private static Prediction prediction(int i) {
    return new Prediction(
        1, TASK, "q" + i, "a", 0.9, Map.of("a", 0.9, "b", 0.1), null, 1, "prototypes", "bb",
        1.0, 0L, 0L, 0.8, true);
  }

  // Bug it catches: the oldest kept prediction was found by opening a range scan for every kept
  // prediction once the task was full (two per prediction: the live queue and the expired one),
  // a few per cent of the stream thread at saturation; and, before that, from the queue's first
  // key, stepping over every entry deleted since the last compaction.
  @Test
  void shouldFindTheOldestKeptPredictionWithoutAScanPerPrediction() {
    EventCodec codec = new EventCodec();
    Telemetry telemetry = new Telemetry(new SimpleMeterRegistry(), 0);
    TaskSettings settings =
        new TaskSettings(
            3_600_000L,
            KEPT,
            100,
            new TaskSettings.PerTask<>(TaskSettings.PromotePolicy.FLAGGED, Map.of()),
            new TaskSettings.PerTask<>(0.0, Map.of()),
            10);
    MockProcessorContext<String, Routed> context = new MockProcessorContext<>();
    context.setCurrentSystemTimeMs(1_000L);
    CountingStore order = new CountingStore(FeedbackStores.ORDER);
    KeyValueStore<String, Retained> predictions =
        store(
            context,
            Stores.inMemoryKeyValueStore(FeedbackStores.PREDICTIONS),
            FeedbackSerdes.retained(codec));
    KeyValueStore<String, FeedbackSerdes.Queued> queues =
        store(context, supplier(FeedbackStores.ORDER, order), FeedbackSerdes.queued());
    KeyValueStore<String, FeedbackSerdes.Counts> counts =
        store(context, Stores.inMemoryKeyValueStore(FeedbackStores.COUNTS), FeedbackSerdes.counts());
    store(
        context,
        Stores.inMemoryKeyValueStore(FeedbackStores.ACCURACY),
        FeedbackSerdes.accuracy());
    FeedbackJoiner joiner =
        new FeedbackJoiner(
            settings,
            new DeadLetters(1024, telemetry),
            new FeedbackMetrics(telemetry.registry(), settings.metricsMaxTasks()));
    joiner.init(context);

    int total = 10 * KEPT;
    for (int i = 0; i < total; i++) {
      joiner.process(
          new Record<>(
              TASK,
              (FeedbackInput) new FeedbackInput.Predicted(prediction(i), new float[] {1f, 0f}),
              0L));
    }

    FeedbackSerdes.Counts c = counts.get(TASK);
    assertThat(c.live()).as("the bound holds").isEqualTo(KEPT);
    assertThat(c.stubs()).isEqualTo(KEPT);
    assertThat(predictions.get(FeedbackJoiner.key(TASK, "q0"))).as("forgotten").isNull();
    assertThat(predictions.get(FeedbackJoiner.key(TASK, "q" + (total - KEPT - 1))).expired())
        .isTrue();
    assertThat(queues.approximateNumEntries()).isEqualTo(2 * KEPT);
    // 450 predictions expired and 400 stubs were forgotten past the bound: one scan per queue
    // finds where it starts, after which the low-water mark names the oldest entry.
    assertThat(order.ranges.get())
        .as("range scans of the queues for %d kept predictions", total)
        .isLessThanOrEqualTo(2);
  }
}
