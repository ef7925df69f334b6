package io.fewshotstreams.streaming;

import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.InvalidEventException;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.fewshot.CosineClassifier;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The query path: reads and validates a query, embeds its image, classifies it with the task's
 * latest snapshot from the global store and emits the prediction; a sample of query embeddings also
 * goes to the learner's pool. A query for a task with no classes becomes an {@code UNKNOWN_TASK}
 * dead letter.
 */
final class QueryClassifier implements Processor<byte[], byte[], String, Routed> {
  /** Classifiers kept per processor; a task's entry is rebuilt when its version changes. */
  private static final int CACHED_TASKS = 1024;

  private final EventCodec codec;
  private final Features features;
  private final DeadLetters deadLetters;
  private final Telemetry telemetry;
  private final int poolSize;
  private final double poolSampleRate;
  private final Map<String, Cached> cache =
      new LinkedHashMap<>(64, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Cached> eldest) {
          return size() > CACHED_TASKS;
        }
      };
  private ProcessorContext<String, Routed> context;
  private KeyValueStore<String, ModelSnapshot> snapshots;

  private record Cached(long version, CosineClassifier classifier) {}

  QueryClassifier(
      EventCodec codec,
      Features features,
      DeadLetters deadLetters,
      Telemetry telemetry,
      int poolSize,
      double poolSampleRate) {
    this.codec = codec;
    this.features = features;
    this.deadLetters = deadLetters;
    this.telemetry = telemetry;
    this.poolSize = poolSize;
    this.poolSampleRate = poolSampleRate;
  }

  @Override
  public void init(ProcessorContext<String, Routed> context) {
    this.context = context;
    this.snapshots = context.getStateStore(FewShotTopology.SNAPSHOT_STORE);
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    long start = System.nanoTime();
    Origin origin = Intake.origin(context, record);
    QueryEvent query = null;
    try {
      if (record.value() == null) {
        throw new InvalidEventException(
            DeadLetterReason.INVALID_JSON, "expected a JSON query event, found no value");
      }
      query = codec.readQuery(record.value());
      float[] feature = features.of(query.image(), query.embedding());
      ModelSnapshot snapshot =
          Classification.usable(
              snapshots.get(query.task()), query.task(), features.backboneId());
      CosineClassifier classifier = classifier(snapshot);
      Prediction prediction =
          Classification.predict(
              snapshot,
              classifier,
              feature,
              query.queryId(),
              query.topK(),
              features.backboneId(),
              (System.nanoTime() - start) / 1e6,
              record.timestamp(),
              context.currentSystemTimeMs());
      context.forward(
          record.withKey(query.task()).withValue(new Routed.ToPredictions(prediction)));
      telemetry.event(false, true);
      telemetry.predicted(prediction, query.image());
      if (poolSize > 0
          && (poolSampleRate >= 1.0 || ThreadLocalRandom.current().nextDouble() < poolSampleRate)) {
        context.forward(
            record
                .withKey(query.task())
                .withValue(
                    new Routed.ToLearner(new LearnerInput.PoolQuery(query.task(), feature))));
      }
    } catch (RuntimeException e) {
      telemetry.event(false, false);
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
