package io.fewshotstreams.streaming;

import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.InvalidEventException;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.fewshot.CosineClassifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
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
      ModelSnapshot snapshot = snapshots.get(query.task());
      if (snapshot == null || snapshot.classes().isEmpty()) {
        throw new InvalidEventException(
            DeadLetterReason.UNKNOWN_TASK,
            "expected a task with classes, found task '"
                + query.task()
                + "' with "
                + (snapshot == null ? "no model yet" : "all classes deleted")
                + "; publish support examples for it first, then send the query again");
      }
      if (!snapshot.backboneId().equals(features.backboneId())) {
        throw new InvalidEventException(
            DeadLetterReason.MODEL_MISMATCH,
            "expected a model of backbone '"
                + features.backboneId()
                + "' for task '"
                + query.task()
                + "', found one of '"
                + snapshot.backboneId()
                + "'; republish the task's support examples");
      }
      CosineClassifier classifier = classifier(snapshot);
      Prediction prediction = predict(query, snapshot, classifier, feature, record, start);
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
    int n = snapshot.classes().size();
    List<String> labels = new ArrayList<>(n);
    float[][] weights = new float[n][];
    float[] bias = new float[n];
    for (int c = 0; c < n; c++) {
      ModelSnapshot.ClassWeights cw = snapshot.classes().get(c);
      labels.add(cw.label());
      weights[c] = cw.weights();
      bias[c] = cw.bias();
    }
    CosineClassifier classifier = new CosineClassifier(labels, weights, bias, snapshot.scale());
    cache.put(snapshot.task(), new Cached(snapshot.version(), classifier));
    return classifier;
  }

  private Prediction predict(
      QueryEvent query,
      ModelSnapshot snapshot,
      CosineClassifier classifier,
      float[] feature,
      Record<byte[], byte[]> record,
      long start) {
    float[] p = classifier.probabilities(feature);
    List<String> labels = classifier.labels();
    Map<String, Double> probabilities = new LinkedHashMap<>();
    int best = 0;
    for (int c = 0; c < p.length; c++) {
      probabilities.put(labels.get(c), (double) p[c]);
      if (p[c] > p[best]) {
        best = c;
      }
    }
    List<Prediction.Ranked> topK = null;
    if (query.topK() != null) {
      List<Integer> order = new ArrayList<>();
      for (int c = 0; c < p.length; c++) {
        order.add(c);
      }
      order.sort((a, b) -> Float.compare(p[b], p[a]));
      topK = new ArrayList<>();
      for (int i = 0; i < Math.min(query.topK(), p.length); i++) {
        int c = order.get(i);
        topK.add(new Prediction.Ranked(labels.get(c), p[c]));
      }
    }
    double latencyMs = (System.nanoTime() - start) / 1e6;
    return new Prediction(
        1,
        query.task(),
        query.queryId(),
        labels.get(best),
        p[best],
        probabilities,
        topK,
        snapshot.version(),
        snapshot.method(),
        features.backboneId(),
        latencyMs,
        record.timestamp(),
        context.currentSystemTimeMs());
  }
}
