package io.fewshotstreams.streaming.query;

import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.InvalidEventException;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.fewshot.CosineClassifier;
import io.fewshotstreams.streaming.DeadLetters;
import io.fewshotstreams.streaming.Features;
import io.fewshotstreams.streaming.Intake;
import io.fewshotstreams.streaming.LearnerInput;
import io.fewshotstreams.streaming.Origin;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.StoreNames;
import io.fewshotstreams.streaming.telemetry.Telemetry.Input;
import io.fewshotstreams.streaming.telemetry.Telemetry.Outcome;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import java.awt.image.BufferedImage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The query path: reads and validates a query, embeds its image, classifies it with the task's
 * latest snapshot from the global store and emits the prediction; a sample of query embeddings also
 * goes to the learner's pool. A query for a task with no classes becomes an {@code UNKNOWN_TASK}
 * dead letter.
 *
 * <p>Query images are embedded in batches of up to {@code batchSize}. A query with an image waits
 * in the changelogged {@link StoreNames#PENDING_QUERIES} store (keyed by its offset), so
 * that a commit between two records never commits the input offset of a query whose prediction is
 * not written yet: the store's changes, the input offsets and the outputs share one transaction
 * under exactly-once. The batch is finished when it is full, or by a wall-clock punctuator every
 * {@code lingerMs}, which also finishes what a restart or another instance left in the store. Each
 * image is decoded on its own, so a bad one becomes its own dead letter, then all are embedded in
 * one call. Once anything waits, every later query waits behind it (with an image or not, valid or
 * not), so outputs keep the order of the input partition.
 */
public final class QueryClassifier implements Processor<byte[], byte[], String, Routed> {
  /** Classifiers kept per processor; a task's entry is rebuilt when its version changes. */
  private static final int CACHED_TASKS = 1024;

  private final EventCodec codec;
  private final Features features;
  private final DeadLetters deadLetters;
  private final Telemetry telemetry;
  private final int poolSize;
  private final double poolSampleRate;
  private final int batchSize;
  private final long lingerMs;
  private final Map<String, Cached> cache =
      new LinkedHashMap<>(64, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Cached> eldest) {
          return size() > CACHED_TASKS;
        }
      };
  /** Parsed queries queued by this processor, by offset: spares parsing them again. */
  private final Map<Long, Queued> queued = new HashMap<>();
  private ProcessorContext<String, Routed> context;
  private KeyValueStore<String, ModelSnapshot> snapshots;
  private KeyValueStore<Long, PendingQuery> pending;
  private int pendingCount;

  private record Cached(long version, CosineClassifier classifier) {}

  private record Queued(QueryEvent query, long startNanos) {}

  /** One query of a batch on its way through {@link #flush}. */
  private static final class Item {
    final long offset;
    final PendingQuery stored;
    QueryEvent query;
    long startNanos = -1;
    BufferedImage image;
    float[] raw;
    RuntimeException failure;

    Item(long offset, PendingQuery stored) {
      this.offset = offset;
      this.stored = stored;
    }
  }

  public QueryClassifier(
      EventCodec codec,
      Features features,
      DeadLetters deadLetters,
      Telemetry telemetry,
      int poolSize,
      double poolSampleRate,
      int batchSize,
      long lingerMs) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("expected a batch size >= 1, found " + batchSize);
    }
    this.codec = codec;
    this.features = features;
    this.deadLetters = deadLetters;
    this.telemetry = telemetry;
    this.poolSize = poolSize;
    this.poolSampleRate = poolSampleRate;
    this.batchSize = batchSize;
    this.lingerMs = lingerMs;
  }

  @Override
  public void init(ProcessorContext<String, Routed> context) {
    this.context = context;
    this.snapshots = context.getStateStore(StoreNames.SNAPSHOTS);
    this.pending = context.getStateStore(StoreNames.PENDING_QUERIES);
    // The store is restored before init: what a crash or a previous owner left is finished by the
    // first punctuation (records cannot be forwarded from init).
    pendingCount = 0;
    try (KeyValueIterator<Long, PendingQuery> it = pending.all()) {
      while (it.hasNext()) {
        it.next();
        pendingCount++;
      }
    }
    context.schedule(
        Duration.ofMillis(Math.max(1, lingerMs)),
        PunctuationType.WALL_CLOCK_TIME,
        now -> flush());
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    long start = System.nanoTime();
    Origin origin = Intake.origin(context, record);
    QueryEvent query = null;
    try {
      query = read(record.value());
    } catch (RuntimeException e) {
      if (pendingCount == 0) {
        telemetry.event(Input.QUERIES, Outcome.DEAD_LETTER);
        Intake.deadLetter(context, record, origin, deadLetters, e, null, null);
      } else {
        // Read again, and dead-lettered, in its turn.
        enqueue(origin, record.value(), null, start);
      }
      return;
    }
    if (pendingCount == 0 && (query.image() == null || batchSize == 1 || lingerMs == 0)) {
      classifyNow(record, origin, query, start);
      return;
    }
    enqueue(origin, record.value(), query, start);
    if (pendingCount >= batchSize) {
      flush();
    }
  }

  private QueryEvent read(byte[] value) {
    if (value == null) {
      throw new InvalidEventException(
          DeadLetterReason.INVALID_JSON, "expected a JSON query event, found no value");
    }
    return codec.readQuery(value);
  }

  private void enqueue(Origin origin, byte[] value, QueryEvent query, long startNanos) {
    pending.put(
        origin.offset(), new PendingQuery(origin, context.currentSystemTimeMs(), value));
    if (query != null) {
      queued.put(origin.offset(), new Queued(query, startNanos));
    }
    pendingCount++;
  }

  /** The unbatched path: a query with nothing waiting before it that need not wait itself. */
  private void classifyNow(
      Record<byte[], byte[]> record, Origin origin, QueryEvent query, long start) {
    try {
      float[] feature = features.of(query.image(), query.embedding());
      emit(query, feature, (System.nanoTime() - start) / 1e6, record.timestamp(), record, null);
    } catch (RuntimeException e) {
      telemetry.event(Input.QUERIES, Outcome.DEAD_LETTER);
      Intake.deadLetter(context, record, origin, deadLetters, e, query.task(), query.queryId());
    }
  }

  /** Finishes every pending query in offset order: one embedder call for all their images. */
  private void flush() {
    // The store, not the count, is the truth: what is restored after init is finished as well.
    List<Item> items = new ArrayList<>(pendingCount);
    try (KeyValueIterator<Long, PendingQuery> it = pending.all()) {
      while (it.hasNext()) {
        KeyValue<Long, PendingQuery> entry = it.next();
        items.add(new Item(entry.key, entry.value));
      }
    }
    if (items.isEmpty()) {
      return;
    }
    List<Item> withImages = new ArrayList<>(items.size());
    for (Item item : items) {
      Queued q = queued.remove(item.offset);
      try {
        if (q != null) {
          item.query = q.query();
          item.startNanos = q.startNanos();
        } else {
          item.query = read(item.stored.value());
        }
        if (item.query.image() != null) {
          item.image = features.preprocessor().decode(item.query.image().dataUnsafe());
          withImages.add(item);
        }
      } catch (RuntimeException e) {
        item.failure = e;
      }
    }
    embed(withImages);
    // One snapshot per task for the whole batch: decoding it is the dearest store read.
    Map<String, ModelSnapshot> batchSnapshots = new HashMap<>();
    for (Item item : items) {
      finish(item, batchSnapshots);
      pending.delete(item.offset);
    }
    pendingCount = 0;
    queued.clear();
  }

  /** Embeds the decoded images in one call; if that call fails, each image alone. */
  private void embed(List<Item> items) {
    if (items.isEmpty()) {
      return;
    }
    List<BufferedImage> images = new ArrayList<>(items.size());
    for (Item item : items) {
      images.add(item.image);
    }
    try {
      float[][] raw = features.embedImages(images);
      for (int i = 0; i < raw.length; i++) {
        items.get(i).raw = raw[i];
      }
    } catch (RuntimeException batchFailure) {
      // Only the images that fail on their own become dead letters.
      for (Item item : items) {
        try {
          item.raw = features.embedImages(List.of(item.image))[0];
        } catch (RuntimeException e) {
          item.failure = e;
        }
      }
    }
  }

  private void finish(Item item, Map<String, ModelSnapshot> batchSnapshots) {
    PendingQuery stored = item.stored;
    Origin origin = stored.origin();
    Record<byte[], byte[]> record = new Record<>(null, stored.value(), origin.timestamp());
    QueryEvent query = item.query;
    try {
      if (item.failure != null) {
        throw item.failure;
      }
      float[] feature =
          item.raw != null ? features.unit(item.raw) : features.of(null, query.embedding());
      double latencyMs =
          item.startNanos >= 0
              ? (System.nanoTime() - item.startNanos) / 1e6
              : Math.max(0, context.currentSystemTimeMs() - stored.receivedAtMs());
      emit(query, feature, latencyMs, origin.timestamp(), record, batchSnapshots);
    } catch (RuntimeException e) {
      telemetry.event(Input.QUERIES, Outcome.DEAD_LETTER);
      Intake.deadLetter(
          context,
          record,
          origin,
          deadLetters,
          e,
          query == null ? null : query.task(),
          query == null ? null : query.queryId());
    }
  }

  /**
   * Classifies a unit feature and forwards the prediction and, when sampled, the pool query.
   * {@code batchSnapshots}, when not null, keeps the snapshots read for the batch being finished.
   */
  private void emit(
      QueryEvent query,
      float[] feature,
      double latencyMs,
      long queryTimestamp,
      Record<byte[], byte[]> record,
      Map<String, ModelSnapshot> batchSnapshots) {
    ModelSnapshot found =
        batchSnapshots == null
            ? snapshots.get(query.task())
            : batchSnapshots.computeIfAbsent(query.task(), snapshots::get);
    ModelSnapshot snapshot = Classification.usable(found, query.task(), features.backboneId());
    CosineClassifier classifier = classifier(snapshot);
    Prediction prediction =
        Classification.predict(
            snapshot,
            classifier,
            feature,
            query.queryId(),
            query.topK(),
            features.backboneId(),
            latencyMs,
            queryTimestamp,
            context.currentSystemTimeMs());
    context.forward(record.withKey(query.task()).withValue(new Routed.ToPredictions(prediction)));
    // Kept by the feedback room for the query's true label (dropped when feedback is off).
    context.forward(
        record.withKey(query.task()).withValue(new Routed.ToFeedback(prediction, feature)));
    telemetry.event(Input.QUERIES, Outcome.OK);
    telemetry.predicted(prediction, query.image());
    if (poolSize > 0
        && (poolSampleRate >= 1.0 || ThreadLocalRandom.current().nextDouble() < poolSampleRate)) {
      context.forward(
          record
              .withKey(query.task())
              .withValue(new Routed.ToLearner(new LearnerInput.PoolQuery(query.task(), feature))));
    }
  }

  private CosineClassifier classifier(ModelSnapshot snapshot) {
    Cached cached = cache.get(snapshot.task());
    if (cached != null && cached.version() == snapshot.version()) {
      return cached.classifier();
    }
    CosineClassifier classifier = Classification.classifier(snapshot);
    cache.put(snapshot.task(), new Cached(snapshot.version(), classifier));
    return classifier;
  }
}
