package io.fewshotstreams.streaming.feedback;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.DeadLetters;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayDeque;
import java.util.HashMap;
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


  private final EventCodec codec = new EventCodec();
  private final Telemetry telemetry = new Telemetry(new SimpleMeterRegistry(), 0);
  private final TaskSettings settings =
      new TaskSettings(
          3_600_000L,
          KEPT,
          100,
          new TaskSettings.PerTask<>(TaskSettings.PromotePolicy.FLAGGED, Map.of()),
          new TaskSettings.PerTask<>(0.0, Map.of()),
          10);
  private final MockProcessorContext<String, Routed> context = new MockProcessorContext<>();
  private final CountingStore order = new CountingStore(FeedbackStores.ORDER);
  private final KeyValueStore<String, Retained> predictions;
  private final KeyValueStore<String, FeedbackSerdes.Queued> queues;
  private final KeyValueStore<String, FeedbackSerdes.Counts> counts;
  private final FeedbackJoiner joiner;

  FeedbackJoinerTest() {
    context.setCurrentSystemTimeMs(1_000L);
    predictions =
        store(
            context,
            Stores.inMemoryKeyValueStore(FeedbackStores.PREDICTIONS),
            FeedbackSerdes.retained(codec));
    queues = store(context, supplier(FeedbackStores.ORDER, order), FeedbackSerdes.queued());
    counts =
        store(context, Stores.inMemoryKeyValueStore(FeedbackStores.COUNTS), FeedbackSerdes.counts());
    store(
        context,
        Stores.inMemoryKeyValueStore(FeedbackStores.ACCURACY),
        FeedbackSerdes.accuracy());
    joiner =
        new FeedbackJoiner(
            settings,
            new DeadLetters(1024, telemetry),
            new FeedbackMetrics(telemetry.registry(), settings.metricsMaxTasks()),
            telemetry.restoreGuard());
    joiner.init(context);
  }

  private void keep(String queryId) {
    joiner.process(
        new Record<>(
            TASK,
            (FeedbackInput)
                new FeedbackInput.Predicted(prediction(queryId), new float[] {1f, 0f}),
            0L));
  }

  // Bug it catches: the oldest kept prediction was found by opening a range scan for every kept
  // prediction once the task was full (two per prediction: the live queue and the expired one),
  // a few per cent of the stream thread at saturation; and, before that, from the queue's first
  // key, stepping over every entry deleted since the last compaction.
  @Test
  void shouldFindTheOldestKeptPredictionWithoutAScanPerPrediction() {
    int total = 10 * KEPT;
    for (int i = 0; i < total; i++) {
      keep("q" + i);
    }

    FeedbackSerdes.Counts c = counts.get(TASK);
    assertThat(c.live()).as("the bound holds").isEqualTo(KEPT);
    assertThat(c.stubs()).isEqualTo(KEPT);
    assertThat(predictions.get(FeedbackJoiner.key(TASK, "q0"))).as("forgotten").isNull();
    assertThat(predictions.get(FeedbackJoiner.key(TASK, "q" + (total - KEPT - 1))).expired())
        .isTrue();
    assertThat(queues.approximateNumEntries()).isEqualTo(2 * KEPT);
    // 450 predictions expired and 400 stubs were forgotten past the bound, each queue's oldest
    // entry found by a get at its low-water mark: no scan at all.
    assertThat(order.ranges.get())
        .as("range scans of the queues for %d kept predictions", total)
        .isZero();
  }

  // Where the get misses, the scan must still find the true oldest entry: after a restart (the
  // low-water mark back at 0 while the queues start further on) and across the gap a query id kept
  // twice leaves in the expired queue. Checked against a plain model of the two queues; a mark
  // that skipped an entry would leave a prediction live, or forget a stub, out of order.
  @Test
  void shouldFindTheOldestAfterARestartAndAcrossAGap() {
    QueuesModel model = new QueuesModel();
    for (int i = 0; i < 4 * KEPT; i++) {
      String id = "q" + (i == 2 * KEPT ? KEPT + 10 : i); // q60 is kept a second time
      keep(id);
      model.keep(id);
      if (i == 2 * KEPT + 5) {
        joiner.close();
        joiner.init(context); // a restart: the low-water marks are gone
      }
    }
    for (int i = 0; i < 4 * KEPT; i++) {
      String id = "q" + i;
      Retained kept = predictions.get(FeedbackJoiner.key(TASK, id));
      String state = kept == null ? "forgotten" : kept.expired() ? "expired" : "live";
      assertThat(state).as("query %s", id).isEqualTo(model.state(id));
    }
    // One scan per queue after the restart, and one where forgetting reaches the expired queue's
    // gap (seq 60, whose live entry was stale when it expired).
    assertThat(order.ranges.get()).isEqualTo(3);
  }

  /** The room's two queues as plain lists, the joiner's rules written out. */
  private static final class QueuesModel {
    private final ArrayDeque<Object[]> live = new ArrayDeque<>();
    private final ArrayDeque<Object[]> expired = new ArrayDeque<>();
    private final Map<String, long[]> kept = new HashMap<>(); // seq, 1 when expired
    private long next;

    void keep(String id) {
      long seq = next++;
      kept.put(id, new long[] {seq, 0});
      live.add(new Object[] {seq, id});
      while (live.size() > KEPT) {
        Object[] e = live.poll();
        long[] k = kept.get((String) e[1]);
        if (k != null && k[1] == 0 && k[0] == (long) e[0]) {
          k[1] = 1;
          expired.add(e);
        }
      }
      while (expired.size() > KEPT) {
        Object[] e = expired.poll();
        long[] k = kept.get((String) e[1]);
        if (k != null && k[1] == 1 && k[0] == (long) e[0]) {
          kept.remove((String) e[1]);
        }
      }
    }

    String state(String id) {
      long[] k = kept.get(id);
      return k == null ? "forgotten" : k[1] == 1 ? "expired" : "live";
    }
  }

  private static Prediction prediction(String queryId) {
    return new Prediction(
        1, TASK, queryId, "a", 0.9, Map.of("a", 0.9, "b", 0.1), null, 1, "prototypes", "bb",
        1.0, 0L, 0L, 0.8, true);
  }
}
