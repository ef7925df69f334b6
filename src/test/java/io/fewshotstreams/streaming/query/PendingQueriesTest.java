package io.fewshotstreams.streaming.query;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.streaming.DeadLetters;
import io.fewshotstreams.streaming.Features;
import io.fewshotstreams.streaming.Origin;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.StoreNames;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.errors.TaskMigratedException;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The pending-queries store as {@link QueryClassifier} uses it, on a mock context whose stores
 * count their scans: what a restart left in the store (this version's entries and an earlier
 * version's) is finished with its headers; after init the store is never scanned; and Kafka
 * Streams' own exceptions are not taken for bad records.
 */
class PendingQueriesTest {
  private static final String TASK = "restored";
  private static final String TOPIC = "fewshot-queries";
  private static final String TRACEPARENT = "traceparent";
  private static OnnxEmbedder onnx;
  private static List<SampleImage> samples;

  private final EventCodec codec = new EventCodec();
  private final Telemetry telemetry = new Telemetry(new SimpleMeterRegistry(), 0);
  private final Counting<Long, PendingQuery> pending = new Counting<>(StoreNames.PENDING_QUERIES);
  private final Counting<String, ModelSnapshot> snapshots = new Counting<>(StoreNames.SNAPSHOTS);

  @BeforeAll
  static void openEmbedder() {
    onnx = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
    samples = SampleImages.load();
  }

  @AfterAll
  static void closeEmbedder() {
    onnx.close();
  }

  @AfterEach
  void forgetFetches() {
    FetchedOffsets.forget();
  }

  @Test
  void shouldFinishWhatARestartLeftInTheStoreWithItsHeaders() throws IOException {
    snapshots.map.put(TASK, snapshot());
    long readAt = 1_000_000;
    pending.map.put(5L, roundTrip(entry(5, imageQuery("q5", 0), trace(5), readAt)));
    // An entry of the earlier format (the record's JSON value), as a version upgrade meets it.
    pending.map.put(6L, PendingQuery.read(legacyEntry(6, codec.write(imageQuery("q6", 1)), readAt)));
    pending.map.put(7L, roundTrip(entry(7, embeddingQuery("q7"), trace(7), readAt)));
    MockProcessorContext<String, Routed> context = context();
    QueryClassifier classifier = classifier(8);
    classifier.init(context);
    assertThat(context.forwarded()).as("nothing can be forwarded from init").isEmpty();

    context.setCurrentSystemTimeMs(readAt + 40);
    context.scheduledPunctuators().get(0).getPunctuator().punctuate(readAt + 40);

    List<Record<String, Routed>> out = forwardedPredictions(context);
    assertThat(out)
        .extracting(r -> ((Routed.ToPredictions) r.value()).prediction().queryId())
        .containsExactly("q5", "q6", "q7");
    assertThat(header(out.get(0))).isEqualTo(trace(5));
    assertThat(out.get(1).headers().toArray()).as("format 1 kept no headers").isEmpty();
    assertThat(header(out.get(2))).isEqualTo(trace(7));
    assertThat(((Routed.ToPredictions) out.get(0).value()).prediction().latencyMs())
        .as("from when the first instance read it to now, 40 ms on the mock's clock")
        .isEqualTo(40.0);
    assertThat(pending.map).as("each finished query is deleted").isEmpty();

    context.resetForwards();
    context.scheduledPunctuators().get(0).getPunctuator().punctuate(readAt + 80);
    assertThat(context.forwarded()).as("each query is answered once").isEmpty();
  }

  @Test
  void shouldNeverScanThePendingStoreAfterInit() {
    snapshots.map.put(TASK, snapshot());
    MockProcessorContext<String, Routed> context = context();
    QueryClassifier classifier = classifier(8);
    classifier.init(context);
    // 100 image queries in batches of 8: 12 full batches, then 4 finished by the punctuator.
    int queries = 100;
    for (int i = 0; i < queries; i++) {
      context.setRecordMetadata(TOPIC, 0, i);
      classifier.process(new Record<>(TASK.getBytes(UTF_8), codec.write(imageQuery("q" + i, i)), i));
    }
    context.scheduledPunctuators().get(0).getPunctuator().punctuate(0);
    assertThat(forwardedPredictions(context)).hasSize(queries);
    assertThat(pending.puts.get()).as("every query waited in the store").isEqualTo(queries - 12);
    assertThat(pending.scans.get())
        .as("one scan, in init; flushes read the in-memory index, not the store's tombstones")
        .isEqualTo(1);
  }

  @Test
  void shouldLetKafkaStreamsOwnExceptionsThroughRatherThanDeadLetterTheRecord() {
    snapshots.map.put(TASK, snapshot());
    List<Record<?, ?>> others = new ArrayList<>();
    MockProcessorContext<String, Routed> context =
        new MockProcessorContext<>() {
          @Override
          public <K extends String, V extends Routed> void forward(Record<K, V> record) {
            if (record.value() instanceof Routed.ToPredictions) {
              throw new TaskMigratedException("the task moved to another thread");
            }
            others.add(record);
          }
        };
    context.setCurrentSystemTimeMs(0);
    context.addStateStore(pending.store());
    context.addStateStore(snapshots.store());
    QueryClassifier classifier = classifier(8);
    classifier.init(context);
    context.setRecordMetadata(TOPIC, 0, 0);
    Record<byte[], byte[]> record =
        new Record<>(TASK.getBytes(UTF_8), codec.write(embeddingQuery("q0")), 0);
    assertThatThrownBy(() -> classifier.process(record))
        .as("for Kafka Streams to handle, as the task's fault, not the record's")
        .isInstanceOf(TaskMigratedException.class);
    assertThat(others).as("no dead letter for a good query").isEmpty();
  }

  private MockProcessorContext<String, Routed> context() {
    MockProcessorContext<String, Routed> context = new MockProcessorContext<>();
    context.setCurrentSystemTimeMs(0);
    context.addStateStore(pending.store());
    context.addStateStore(snapshots.store());
    return context;
  }

  private QueryClassifier classifier(int batchSize) {
    return new QueryClassifier(
        codec,
        new Features(onnx, telemetry),
        new DeadLetters(1024, telemetry),
        telemetry,
        0,
        0.0,
        0,
        10_000,
        batchSize,
        5);
  }

  @SuppressWarnings("unchecked")
  private static List<Record<String, Routed>> forwardedPredictions(
      MockProcessorContext<String, Routed> context) {
    List<Record<String, Routed>> out = new ArrayList<>();
    for (MockProcessorContext.CapturedForward<?, ?> f : context.forwarded()) {
      if (f.record().value() instanceof Routed.ToFeedback) {
        continue; // each prediction's copy for the feedback room
      }
      assertThat(f.record().value()).as("no dead letters here").isInstanceOf(Routed.ToPredictions.class);
      out.add((Record<String, Routed>) f.record());
    }
    return out;
  }

  private static String header(Record<String, Routed> r) {
    Header h = r.headers().lastHeader(TRACEPARENT);
    assertThat(h).as("a traceparent header").isNotNull();
    return new String(h.value(), UTF_8);
  }

  private static String trace(int i) {
    return String.format("00-%032x-%016x-01", 4200 + i, 9 + i);
  }

  private static PendingQuery entry(long offset, QueryEvent query, String trace, long readAt) {
    return PendingQuery.of(
        new Origin(TOPIC, 0, offset, offset, TASK, 100),
        readAt,
        new RecordHeaders().add(TRACEPARENT, trace.getBytes(UTF_8)),
        query);
  }

  private static PendingQuery roundTrip(PendingQuery q) {
    return PendingQuery.read(PendingQuery.write(q));
  }

  /** An entry as format 1 wrote it: origin, time read, and the record's value. */
  private static byte[] legacyEntry(long offset, byte[] value, long readAt) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(1);
      byte[] topic = TOPIC.getBytes(StandardCharsets.UTF_8);
      out.writeInt(topic.length);
      out.write(topic);
      out.writeInt(0);
      out.writeLong(offset);
      out.writeLong(offset);
      out.writeBoolean(true);
      byte[] key = TASK.getBytes(StandardCharsets.UTF_8);
      out.writeInt(key.length);
      out.write(key);
      out.writeInt(value.length);
      out.writeLong(readAt);
      out.writeBoolean(true);
      out.writeInt(value.length);
      out.write(value);
    }
    return bytes.toByteArray();
  }

  private static QueryEvent imageQuery(String id, int i) {
    return new QueryEvent(
        1, TASK, id, new Image(Image.PNG, samples.get((7 * i) % samples.size()).png()), null, null);
  }

  private static QueryEvent embeddingQuery(String id) {
    float[] e = new float[onnx.featureSize()];
    e[1] = 1;
    return new QueryEvent(1, TASK, id, null, e, null);
  }

  /** Three classes with seeded random weights, made with the bundled backbone. */
  private static ModelSnapshot snapshot() {
    Random random = new Random(3);
    List<ModelSnapshot.ClassWeights> classes = new ArrayList<>();
    for (String label : List.of("a", "b", "c")) {
      float[] w = new float[onnx.featureSize()];
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) random.nextGaussian();
      }
      classes.add(new ModelSnapshot.ClassWeights(label, 1, w, 0f));
    }
    return new ModelSnapshot(
        1, TASK, 1, ModelSnapshot.PROTOTYPES, null, onnx.card().id(), onnx.featureSize(),
        10f, classes, 3, 0, 0L, null, null);
  }

  /** A key-value store on a sorted map that counts its scans (all, range) and puts. */
  static final class Counting<K extends Comparable<K>, V> {
    final String name;
    final TreeMap<K, V> map = new TreeMap<>();
    final AtomicInteger scans = new AtomicInteger();
    final AtomicInteger puts = new AtomicInteger();

    Counting(String name) {
      this.name = name;
    }

    @SuppressWarnings("unchecked")
    KeyValueStore<K, V> store() {
      return (KeyValueStore<K, V>)
          Proxy.newProxyInstance(
              KeyValueStore.class.getClassLoader(),
              new Class<?>[] {KeyValueStore.class},
              (proxy, method, args) ->
                  switch (method.getName()) {
                    case "name" -> name;
                    case "persistent" -> true;
                    case "isOpen" -> true;
                    case "get" -> map.get((K) args[0]);
                    case "put" -> {
                      puts.incrementAndGet();
                      yield map.put((K) args[0], (V) args[1]);
                    }
                    case "delete" -> map.remove((K) args[0]);
                    case "approximateNumEntries" -> (long) map.size();
                    case "all", "range", "reverseAll", "reverseRange", "prefixScan" -> {
                      scans.incrementAndGet();
                      yield iterator(new ArrayList<>(map.entrySet()).iterator());
                    }
                    case "hashCode" -> System.identityHashCode(proxy);
                    case "equals" -> proxy == args[0];
                    case "toString" -> "counting store " + name;
                    default ->
                        throw new UnsupportedOperationException(
                            "not used by the query path: " + method.getName());
                  });
    }

    private KeyValueIterator<K, V> iterator(Iterator<Map.Entry<K, V>> entries) {
      return new KeyValueIterator<>() {
        @Override
        public boolean hasNext() {
          return entries.hasNext();
        }

        @Override
        public KeyValue<K, V> next() {
          Map.Entry<K, V> e = entries.next();
          return KeyValue.pair(e.getKey(), e.getValue());
        }

        @Override
        public K peekNextKey() {
          throw new UnsupportedOperationException("not used by the query path");
        }

        @Override
        public void close() {
          // Nothing held.
        }
      };
    }
  }
}
