package io.fewshotstreams.streaming.query;

import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.InvalidEventException;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.fewshot.CosineClassifier;
import io.fewshotstreams.streaming.BoundedMaps;
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
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The query path: reads and validates a query, embeds its image, classifies it with the task's
 * latest snapshot from the global store and emits the prediction; a sample of query embeddings also
 * goes to the learner's pool. A query for a task with no classes becomes an {@code UNKNOWN_TASK}
 * dead letter. A prediction carries the headers of its query's record (a W3C {@code traceparent},
 * say), batched or not, before a restart or after one.
 *
 * <p>Query images are batched only when there is a backlog: when later records of the same
 * partition were already fetched ({@link FetchedOffsets}). A query with nothing waiting before it
 * and nothing fetched after it is answered at once. Otherwise it waits in the changelogged {@link
 * StoreNames#PENDING_QUERIES} store (keyed by its offset), so that a commit between two records
 * never commits the input offset of a query whose prediction is not written yet: the store's
 * changes, the input offsets and the outputs share one transaction under exactly-once. The batch
 * is finished when it is full, when the record in hand is the last one fetched of its partition
 * (the input has gone idle), or by a wall-clock punctuator every {@code lingerMs} as a backstop.
 *
 * <p>The store is written, never scanned: an in-memory index mirrors what waits in it, filled
 * from the store once in {@link #init} (what a restart or another instance left is finished by
 * the first punctuation), and a flush reads the index and deletes each key. A query whose entry
 * would exceed {@link #MAX_PENDING_BYTES} never waits: what waits is finished first, then it is
 * answered at once, so a big image cannot fail the changelog's record size limit.
 *
 * <p>Each image is decoded on its own, so a bad one becomes its own dead letter, then all are
 * embedded in one call. Once anything waits, every later readable query waits behind it, so
 * predictions keep the order of the input partition; an unreadable record is dead-lettered at
 * once.
 *
 * <p>Kafka's own exceptions (a migrated task, a fenced producer, a closed store) are about the
 * task, not the record, so they are never turned into dead letters but go to Kafka Streams.
 */
public final class QueryClassifier implements Processor<byte[], byte[], String, Routed> {
  /** Classifiers kept per processor; a task's entry is rebuilt when its version changes. */
  private static final int CACHED_TASKS = 1024;

  private static final Logger log = LoggerFactory.getLogger(QueryClassifier.class);

  /**
   * Largest entry a query may have in the pending store: a quarter of the 1 MiB that a changelog
   * topic and the producer accept by default, so the record and its batch fit with room to spare.
   * Images this large gain nothing from batching, as decoding them outweighs the saving.
   */
  static final long MAX_PENDING_BYTES = 256 * 1024;

  private final EventCodec codec;
  private final Features features;
  private final DeadLetters deadLetters;
  private final Telemetry telemetry;
  private final int poolSize;
  private final double poolSampleRate;
  private final PoolAdmission poolAdmission;
  private final int batchSize;
  private final long lingerMs;
  private final Map<String, Cached> cache =
      BoundedMaps.of(CACHED_TASKS, true);
  /** What waits in the pending store, by offset: the store's keys, mirrored, never scanned. */
  /** The stores this processor writes, for the restore guard (one array, not one per record). */
  private static final String[] OWN_STORES = {StoreNames.PENDING_QUERIES};

  private final TreeMap<Long, Waiting> waiting = new TreeMap<>();
  private ProcessorContext<String, Routed> context;
  private KeyValueStore<String, ModelSnapshot> snapshots;
  private KeyValueStore<Long, PendingQuery> pending;

  private record Cached(long version, CosineClassifier classifier) {}

  /**
   * A query in the pending store. {@code value} is the record's value when this processor read it
   * (for a dead letter), null after a restart; {@code startNanos} is -1 then. {@code inStore} is
   * false for the query that completes a batch, which is finished before its call returns.
   */
  private record Waiting(PendingQuery stored, byte[] value, long startNanos, boolean inStore) {}

  /** One query of a batch on its way through {@link #flush}. */
  private static final class Item {
    final Waiting waiting;
    QueryEvent query;
    BufferedImage image;
    float[] raw;
    RuntimeException failure;

    Item(Waiting waiting) {
      this.waiting = waiting;
    }
  }

  public QueryClassifier(
      EventCodec codec,
      Features features,
      DeadLetters deadLetters,
      Telemetry telemetry,
      int poolSize,
      double poolSampleRate,
      int poolPerInterval,
      long fineTuneIntervalMs,
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
    this.poolAdmission = new PoolAdmission(poolPerInterval, fineTuneIntervalMs);
    this.batchSize = batchSize;
    this.lingerMs = lingerMs;
  }

  @Override
  public void init(ProcessorContext<String, Routed> context) {
    this.context = context;
    this.snapshots = context.getStateStore(StoreNames.SNAPSHOTS);
    this.pending = context.getStateStore(StoreNames.PENDING_QUERIES);
    // The store is restored before init, and Kafka Streams may init the same object again after
    // closing a corrupted task: the index is rebuilt from the store, the one scan of it. What it
    // holds is finished by the first punctuation (records cannot be forwarded from init).
    waiting.clear();
    try (KeyValueIterator<Long, PendingQuery> it = pending.all()) {
      while (it.hasNext()) {
        KeyValue<Long, PendingQuery> entry = it.next();
        waiting.put(entry.key, new Waiting(entry.value, null, -1, true));
      }
    }
    if (!waiting.isEmpty()) {
      log.info(
          "{} queries restored into the pending store of task {}, finished by the first"
              + " punctuation",
          waiting.size(),
          context.taskId());
    }
    context.schedule(
        Duration.ofMillis(Math.max(1, lingerMs)),
        PunctuationType.WALL_CLOCK_TIME,
        telemetry.restoreGuard().guarded(context, OWN_STORES, now -> flush()));
  }

  @Override
  public void close() {
    waiting.clear();
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    telemetry.restoreGuard().check(context, OWN_STORES);
    long start = System.nanoTime();
    Origin origin = Intake.origin(context, record);
    QueryEvent query;
    try {
      query = read(record.value());
    } catch (RuntimeException e) {
      throwIfKafkas(e);
      telemetry.event(Input.QUERIES, Outcome.DEAD_LETTER);
      Intake.deadLetter(context, record, origin, deadLetters, e, null, null);
      return;
    }
    boolean backlog = FetchedOffsets.moreAfter(origin.topic(), origin.partition(), origin.offset());
    if (waiting.isEmpty()
        && (query.image() == null || batchSize == 1 || lingerMs == 0 || !backlog)) {
      classifyNow(record, origin, query, start);
      return;
    }
    PendingQuery entry =
        PendingQuery.of(origin, context.currentSystemTimeMs(), record.headers(), query);
    // A query finished within this call joins the batch without touching the store: no commit
    // can come between.
    boolean flushNow = waiting.size() + 1 >= batchSize || !backlog;
    if (!flushNow && entry.storedBytesBound() > MAX_PENDING_BYTES) {
      flush();
      classifyNow(record, origin, query, start);
      return;
    }
    if (!flushNow) {
      pending.put(origin.offset(), entry);
    }
    waiting.put(origin.offset(), new Waiting(entry, record.value(), start, !flushNow));
    if (flushNow) {
      flush();
    }
  }

  /** Kafka's own exceptions are not about the record: Kafka Streams handles them. */
  private static void throwIfKafkas(RuntimeException e) {
    if (e instanceof KafkaException) {
      throw e;
    }
  }

  private QueryEvent read(byte[] value) {
    if (value == null) {
      throw new InvalidEventException(
          DeadLetterReason.INVALID_JSON, "expected a JSON query event, found no value");
    }
    return codec.readQuery(value);
  }

  /** The unbatched path: a query with nothing waiting before it that need not wait itself. */
  private void classifyNow(
      Record<byte[], byte[]> record, Origin origin, QueryEvent query, long start) {
    try {
      float[] feature = features.of(query.image(), query.embedding());
      emit(query, feature, (System.nanoTime() - start) / 1e6, record.timestamp(), record, null);
    } catch (RuntimeException e) {
      throwIfKafkas(e);
      telemetry.event(Input.QUERIES, Outcome.DEAD_LETTER);
      Intake.deadLetter(context, record, origin, deadLetters, e, query.task(), query.queryId());
    }
  }

  /** Finishes every waiting query in offset order: one embedder call for all their images. */
  private void flush() {
    if (waiting.isEmpty()) {
      return;
    }
    List<Item> items = new ArrayList<>(waiting.size());
    List<Item> withImages = new ArrayList<>(waiting.size());
    for (Waiting w : waiting.values()) {
      Item item = new Item(w);
      items.add(item);
      try {
        item.query =
            w.stored().query() != null ? w.stored().query() : read(w.stored().legacyValue());
        if (item.query.image() != null) {
          item.image = features.preprocessor().decode(item.query.image().dataUnsafe());
          withImages.add(item);
        }
      } catch (RuntimeException e) {
        throwIfKafkas(e);
        item.failure = e;
      }
    }
    embed(withImages);
    // One snapshot per task for the whole batch: decoding it is the dearest store read.
    Map<String, ModelSnapshot> batchSnapshots = new HashMap<>();
    for (Item item : items) {
      finish(item, batchSnapshots);
      if (item.waiting.inStore()) {
        pending.delete(item.waiting.stored().origin().offset());
      }
    }
    waiting.clear();
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
      throwIfKafkas(batchFailure);
      // Only the images that fail on their own become dead letters.
      for (Item item : items) {
        try {
          item.raw = features.embedImages(List.of(item.image))[0];
        } catch (RuntimeException e) {
          throwIfKafkas(e);
          item.failure = e;
        }
      }
    }
  }

  private void finish(Item item, Map<String, ModelSnapshot> batchSnapshots) {
    Waiting w = item.waiting;
    PendingQuery stored = w.stored();
    Origin origin = stored.origin();
    byte[] value = w.value() != null ? w.value() : stored.legacyValue();
    Record<byte[], byte[]> record =
        new Record<>(null, value, origin.timestamp(), stored.headers());
    QueryEvent query = item.query;
    try {
      if (item.failure != null) {
        throw item.failure;
      }
      float[] feature =
          item.raw != null ? features.unit(item.raw) : features.of(null, query.embedding());
      double latencyMs =
          w.startNanos() >= 0
              ? (System.nanoTime() - w.startNanos()) / 1e6
              : Math.max(0, context.currentSystemTimeMs() - stored.receivedAtMs());
      emit(query, feature, latencyMs, origin.timestamp(), record, batchSnapshots);
    } catch (RuntimeException e) {
      throwIfKafkas(e);
      telemetry.event(Input.QUERIES, Outcome.DEAD_LETTER);
      // After a restart the record's value is not at hand: the dead letter gives its size only.
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
        && (poolSampleRate >= 1.0 || ThreadLocalRandom.current().nextDouble() < poolSampleRate)
        && poolAdmission.admit(query.task(), context.currentSystemTimeMs())) {
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
