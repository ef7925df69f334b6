package io.fewshotstreams.streaming.learner;

import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.fewshot.ClassSum;
import io.fewshotstreams.fewshot.Methods;
import io.fewshotstreams.fewshot.RobustConfig;
import io.fewshotstreams.streaming.DeadLetters;
import io.fewshotstreams.streaming.LearnerInput;
import io.fewshotstreams.streaming.Origin;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.StoreNames;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * A learner on Kafka's {@link MockProcessorContext} with in-memory stores that outlive the
 * context, so that a test can close the learner and initialise it again on a new context, as Kafka
 * Streams does when it revives a task. Punctuations run when the test says.
 */
final class LearnerRig implements AutoCloseable {
  static final int D = 8;
  static final String BACKBONE = "test-backbone";

  final Telemetry telemetry = new Telemetry(new SimpleMeterRegistry(), 0);
  final EventCodec codec = new EventCodec();
  final FineTuneScheduler scheduler = new FineTuneScheduler(1);
  final KeyValueStore<String, StoredExample> examples = store(StoreNames.EXAMPLES);
  final KeyValueStore<String, ClassSum> classes = store(StoreNames.CLASSES);
  final KeyValueStore<String, TaskState> tasks = store(StoreNames.TASKS);
  final KeyValueStore<String, float[]> pool = store(StoreNames.POOL);
  private boolean storesOpen;
  private long offset;

  /** Settings of a small learner: {@value #D} features, inductive fine-tuning. */
  static Learner.Settings settings() {
    return new Learner.Settings(
        BACKBONE,
        D,
        500,
        1000,
        100,
        Methods.INDUCTIVE,
        1_000,
        100,
        256L << 20,
        1L << 20,
        RobustConfig.defaults(),
        true);
  }

  Learner learner(Learner.Settings settings, FineTunes.Tuner tuner) {
    return new Learner(
        settings,
        codec,
        tuner,
        scheduler,
        new DeadLetters(1024, telemetry),
        telemetry,
        new TaskCount(1000));
  }

  /** A fresh context holding the rig's stores. */
  <C extends MockProcessorContext<String, Routed>> C open(C context) {
    for (KeyValueStore<?, ?> store : List.of(examples, classes, tasks, pool)) {
      if (!storesOpen) {
        store.init(context.getStateStoreContext(), store);
      }
      context.addStateStore(store);
    }
    storesOpen = true;
    context.setCurrentSystemTimeMs(1_000L);
    return context;
  }

  MockProcessorContext<String, Routed> open() {
    return open(new MockProcessorContext<>());
  }

  void add(Learner learner, String task, String label, String id, float[] feature) {
    learner.process(
        new Record<>(
            task, (LearnerInput) new LearnerInput.Add(task, label, id, feature, origin()), 0L));
  }

  void remove(Learner learner, String task, String id) {
    learner.process(
        new Record<>(task, (LearnerInput) new LearnerInput.Remove(task, id, origin()), 0L));
  }

  void deleteClass(Learner learner, String task, String label) {
    learner.process(
        new Record<>(task, (LearnerInput) new LearnerInput.DeleteClass(task, label, origin()), 0L));
  }

  private Origin origin() {
    return new Origin("fewshot-support", 0, offset++, 0L, null, 10);
  }

  /** {@code shots} examples of each of {@code classCount} classes of {@code task}. */
  void register(Learner learner, String task, int classCount, int shots) {
    Random random = new Random(task.hashCode());
    for (int c = 0; c < classCount; c++) {
      for (int k = 0; k < shots; k++) {
        add(learner, task, "class-" + c, "e-" + c + "-" + k, near(c, random));
      }
    }
  }

  /** A unit vector near axis {@code c}. */
  static float[] near(int c, Random random) {
    float[] v = new float[D];
    double norm = 0;
    for (int i = 0; i < D; i++) {
      v[i] = (float) (0.2 * random.nextGaussian()) + (i == c % D ? 1f : 0f);
      norm += v[i] * v[i];
    }
    for (int i = 0; i < D; i++) {
      v[i] /= (float) Math.sqrt(norm);
    }
    return v;
  }

  /** Runs the fine-tune punctuator (the first one the learner schedules). */
  static void startDue(MockProcessorContext<String, Routed> context) {
    context.scheduledPunctuators().get(0).getPunctuator().punctuate(0L);
  }

  /** Runs the install punctuator (the second one). */
  static void installFinished(MockProcessorContext<String, Routed> context) {
    context.scheduledPunctuators().get(1).getPunctuator().punctuate(0L);
  }

  void awaitIdle() throws InterruptedException {
    if (!scheduler.awaitIdle(20_000)) {
      throw new AssertionError("expected the fine-tunes to finish within 20 s, found them running");
    }
  }

  static List<ModelSnapshot> snapshots(
      MockProcessorContext<String, Routed> context, String method) {
    List<ModelSnapshot> out = new ArrayList<>();
    for (var forward : context.forwarded()) {
      if (forward.record().value() instanceof Routed.ToModels models
          && models.snapshot().method().equals(method)) {
        out.add(models.snapshot());
      }
    }
    return out;
  }

  static List<DeadLetter> deadLetters(MockProcessorContext<String, Routed> context) {
    List<DeadLetter> out = new ArrayList<>();
    for (var forward : context.forwarded()) {
      if (forward.record().value() instanceof Routed.ToDeadLetters dead) {
        out.add(dead.deadLetter());
      }
    }
    return out;
  }

  /** Fine-tunes counted as failed. */
  double failedFineTunes() {
    return telemetry.registry().find("fewshot.finetunes").tag("outcome", "failed").counters()
        .stream()
        .mapToDouble(Counter::count)
        .sum();
  }

  @Override
  public void close() {
    scheduler.close();
  }

  private static <V> KeyValueStore<String, V> store(String name) {
    return Stores.keyValueStoreBuilder(
            Stores.inMemoryKeyValueStore(name), Serdes.String(), HandleSerde.<V>create())
        .withLoggingDisabled()
        .build();
  }

  /**
   * Values kept as themselves: the bytes are a handle to the object. The learner's serdes are the
   * topology's business (InternalSerdesTest); here only the learner's logic matters.
   */
  static final class HandleSerde {
    private static final Map<Long, Object> OBJECTS = new ConcurrentHashMap<>();
    private static final AtomicLong NEXT = new AtomicLong();

    private HandleSerde() {}

    @SuppressWarnings("unchecked")
    static <V> Serde<V> create() {
      return Serdes.serdeFrom(
          (topic, value) -> {
            if (value == null) {
              return null;
            }
            long id = NEXT.incrementAndGet();
            OBJECTS.put(id, value);
            return ByteBuffer.allocate(8).putLong(id).array();
          },
          (topic, bytes) ->
              bytes == null ? null : (V) OBJECTS.get(ByteBuffer.wrap(bytes).getLong()));
    }
  }
}
