package io.fewshotstreams.streaming.query;

import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.ImagePreprocessor;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.InvalidEventException;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.fewshot.CosineClassifier;
import io.fewshotstreams.streaming.Features;
import io.fewshotstreams.streaming.TaskQueries;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * Classifies one image with a task's latest snapshot, synchronously: the same features (backbone
 * and normalisation), the same classifier built from the snapshot and the same {@link Prediction}
 * as the query path, so an answer here equals the one the predictions topic would carry.
 *
 * <p>Safe for concurrent use while the embedder is open.
 */
public final class Classification {
  private final Features features;
  private final Function<String, Optional<ModelSnapshot>> snapshots;

  /**
   * Classifies against the snapshots of a running service; embedding times count in {@code
   * telemetry} like the query path's.
   */
  public Classification(Embedder embedder, TaskQueries queries, Telemetry telemetry) {
    this(embedder, queries::snapshot, telemetry);
  }

  Classification(
      Embedder embedder,
      Function<String, Optional<ModelSnapshot>> snapshots,
      Telemetry telemetry) {
    this.features =
        new Features(
            Objects.requireNonNull(embedder, "embedder"),
            Objects.requireNonNull(telemetry, "telemetry"));
    this.snapshots = Objects.requireNonNull(snapshots, "snapshots");
  }

  /**
   * Classifies one PNG or JPEG image for {@code task}.
   *
   * @param topK when not null, also rank the best {@code topK} classes
   * @throws io.fewshotstreams.embedding.InvalidImageException when the image is refused
   * @throws InvalidEventException with reason {@code UNKNOWN_TASK} when the task has no classes,
   *     or {@code MODEL_MISMATCH} when its snapshot was made with another backbone
   * @throws TaskQueries.Unavailable when the snapshot store cannot be read now
   */
  public Prediction classify(String task, String queryId, byte[] image, Integer topK) {
    long start = System.nanoTime();
    long receivedAt = System.currentTimeMillis();
    if (topK != null && topK < 1) {
      throw new IllegalArgumentException("expected topK >= 1, found " + topK);
    }
    ModelSnapshot snapshot = usableSnapshot(task);
    String type = ImagePreprocessor.mediaType(image);
    float[] feature =
        features.of(new Image(type == null ? "application/octet-stream" : type, image), null);
    CosineClassifier classifier = classifier(snapshot);
    double latencyMs = (System.nanoTime() - start) / 1e6;
    return predict(
        snapshot,
        classifier,
        feature,
        queryId,
        topK,
        features.backboneId(),
        latencyMs,
        receivedAt,
        System.currentTimeMillis());
  }

  private ModelSnapshot usableSnapshot(String task) {
    return usable(snapshots.apply(task).orElse(null), task, features.backboneId());
  }

  /**
   * The snapshot, if a query of {@code task} can be classified with it.
   *
   * @throws InvalidEventException with {@code UNKNOWN_TASK} when there is none or it has no
   *     classes, {@code MODEL_MISMATCH} when it was made with another backbone
   */
  static ModelSnapshot usable(ModelSnapshot snapshot, String task, String backboneId) {
    if (snapshot == null || snapshot.classes().isEmpty()) {
      throw new InvalidEventException(
          DeadLetterReason.UNKNOWN_TASK,
          "expected a task with classes, found task '"
              + task
              + "' with "
              + (snapshot == null ? "no model yet" : "all classes deleted")
              + "; publish support examples for it first, then send the query again");
    }
    if (!snapshot.backboneId().equals(backboneId)) {
      throw new InvalidEventException(
          DeadLetterReason.MODEL_MISMATCH,
          "expected a model of backbone '"
              + backboneId
              + "' for task '"
              + task
              + "', found one of '"
              + snapshot.backboneId()
              + "'; republish the task's support examples");
    }
    return snapshot;
  }


  /**
   * The classifier a snapshot describes, its classes in the snapshot's order: the one conversion
   * from snapshot to classifier, for the query path and the memory benchmark alike.
   */
  public static CosineClassifier classifier(ModelSnapshot snapshot) {
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
    return new CosineClassifier(labels, weights, bias, snapshot.scale());
  }

  /**
   * The open-set score of a feature against a snapshot: the highest cosine of {@code feature} to a
   * class centre ({@code centre}, else the weights), in [-1, 1].
   */
  public static double openSetScore(ModelSnapshot snapshot, float[] feature) {
    double featureNorm = norm(feature);
    double best = Double.NEGATIVE_INFINITY;
    for (ModelSnapshot.ClassWeights c : snapshot.classes()) {
      float[] centre = c.scoreCentre();
      double dot = 0;
      for (int k = 0; k < centre.length; k++) {
        dot += centre[k] * (double) feature[k];
      }
      double denominator = norm(centre) * featureNorm;
      best = Math.max(best, denominator > 0 ? dot / denominator : 0);
    }
    return Math.max(-1, Math.min(1, best));
  }

  /**
   * Whether a feature of this open-set score is accepted as one of the snapshot's classes: at or
   * above its threshold; a snapshot without one (written before thresholds existed) accepts all.
   */
  public static boolean accepted(ModelSnapshot snapshot, double openSetScore) {
    Float threshold = snapshot.openSetThreshold();
    return threshold == null || openSetScore >= threshold;
  }

  private static double norm(float[] v) {
    double squares = 0;
    for (float x : v) {
      squares += x * (double) x;
    }
    return Math.sqrt(squares);
  }

  /**
   * The prediction of {@code classifier} (built from {@code snapshot}) for a unit feature: the most
   * probable class first, ties to the earlier class, the {@code topK} best when asked, and the
   * open-set score and whether the feature is accepted as one of the classes.
   */
  static Prediction predict(
      ModelSnapshot snapshot,
      CosineClassifier classifier,
      float[] feature,
      String queryId,
      Integer topK,
      String backboneId,
      double latencyMs,
      long queryTimestamp,
      long predictedAt) {
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
    List<Prediction.Ranked> ranked = null;
    if (topK != null) {
      List<Integer> order = new ArrayList<>();
      for (int c = 0; c < p.length; c++) {
        order.add(c);
      }
      order.sort((a, b) -> Float.compare(p[b], p[a]));
      ranked = new ArrayList<>();
      for (int i = 0; i < Math.min(topK, p.length); i++) {
        int c = order.get(i);
        ranked.add(new Prediction.Ranked(labels.get(c), p[c]));
      }
    }
    double score = openSetScore(snapshot, feature);
    return new Prediction(
        1,
        snapshot.task(),
        queryId,
        labels.get(best),
        p[best],
        probabilities,
        ranked,
        snapshot.version(),
        snapshot.method(),
        backboneId,
        latencyMs,
        queryTimestamp,
        predictedAt,
        score,
        accepted(snapshot, score));
  }
}
