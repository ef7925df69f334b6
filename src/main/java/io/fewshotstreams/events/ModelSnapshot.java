package io.fewshotstreams.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A task's classifier as published on the models topic (compacted, keyed by task): {@code p =
 * softmax(scale * cos(weights_c, x) + bias_c)} over {@code classes}. A snapshot with no classes
 * means the task has none (all deleted).
 *
 * @param task the task
 * @param version increases by one with every snapshot of the task
 * @param method {@code prototypes} (class means of the support examples) or {@code fine-tuned}
 * @param fineTuning for fine-tuned snapshots, {@code inductive} or {@code transductive}
 * @param backboneId the backbone whose features the weights live in
 * @param featureSize length of every weight vector
 * @param scale the softmax temperature
 * @param classes the classes in order
 * @param supportExamples support examples the snapshot was made from
 * @param poolQueries unlabelled queries used by transductive fine-tuning, else 0
 * @param createdAt epoch milliseconds
 * @param trainingLoss for fine-tuned snapshots, the fine-tuning objective at the published
 *     weights; null when not known (always for prototypes)
 * @param fineTuneMillis for fine-tuned snapshots, how long the fine-tuning took in milliseconds;
 *     null when not known (always for prototypes)
 * @param openSetThreshold the lowest open-set score at which a query is accepted as one of the
 *     classes, in [-1, 1]; the score is the highest cosine of the query to a class centre (each
 *     class's {@code centre}, or its weights when it has none). Derived from the task's support
 *     examples alone. Null in snapshots written before it existed: every query is then accepted.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ModelSnapshot(
    int schemaVersion,
    String task,
    long version,
    String method,
    String fineTuning,
    String backboneId,
    int featureSize,
    float scale,
    List<ClassWeights> classes,
    int supportExamples,
    int poolQueries,
    long createdAt,
    Double trainingLoss,
    Double fineTuneMillis,
    Float openSetThreshold) {

  public static final String PROTOTYPES = "prototypes";
  public static final String FINE_TUNED = "fine-tuned";

  public ModelSnapshot {
    Objects.requireNonNull(task, "task");
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(backboneId, "backboneId");
    classes = List.copyOf(classes);
    if (trainingLoss != null && !Double.isFinite(trainingLoss)) {
      throw new IllegalArgumentException(
          "expected a finite training loss or none, found " + trainingLoss);
    }
    if (fineTuneMillis != null && !(fineTuneMillis >= 0 && Double.isFinite(fineTuneMillis))) {
      throw new IllegalArgumentException(
          "expected a finite fine-tuning time >= 0 ms or none, found " + fineTuneMillis);
    }
    if (openSetThreshold != null && !(openSetThreshold >= -1 && openSetThreshold <= 1)) {
      throw new IllegalArgumentException(
          "expected an open-set threshold in [-1, 1] or none, found " + openSetThreshold);
    }
    for (ClassWeights c : classes) {
      if (c.centre != null && c.centre.length != featureSize) {
        throw new IllegalArgumentException(
            "expected "
                + featureSize
                + " centre values for class '"
                + c.label()
                + "', found "
                + c.centre.length);
      }
      if (c.weights().length != featureSize) {
        throw new IllegalArgumentException(
            "expected "
                + featureSize
                + " weights for class '"
                + c.label()
                + "', found "
                + c.weights().length);
      }
    }
  }

  /** A snapshot without an open-set threshold, as written before it existed. */
  public ModelSnapshot(
      int schemaVersion,
      String task,
      long version,
      String method,
      String fineTuning,
      String backboneId,
      int featureSize,
      float scale,
      List<ClassWeights> classes,
      int supportExamples,
      int poolQueries,
      long createdAt,
      Double trainingLoss,
      Double fineTuneMillis) {
    this(
        schemaVersion,
        task,
        version,
        method,
        fineTuning,
        backboneId,
        featureSize,
        scale,
        classes,
        supportExamples,
        poolQueries,
        createdAt,
        trainingLoss,
        fineTuneMillis,
        null);
  }

  /**
   * One class: its label, how many support examples it has, its weight vector and bias, and the
   * centre its open-set score is measured against when that differs from the weights (a
   * fine-tuned snapshot's support prototype); null when the weights are the centre.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record ClassWeights(
      String label, int examples, float[] weights, float bias, float[] centre) {
    public ClassWeights {
      Objects.requireNonNull(label, "label");
      weights = weights.clone();
      centre = centre == null ? null : centre.clone();
    }

    /** A class whose weights are its centre. */
    public ClassWeights(String label, int examples, float[] weights, float bias) {
      this(label, examples, weights, bias, null);
    }

    @Override
    public float[] weights() {
      return weights.clone();
    }

    @Override
    public float[] centre() {
      return centre == null ? null : centre.clone();
    }

    /** The centre of the open-set score: {@code centre} when given, else the weights; a copy. */
    public float[] scoreCentre() {
      return centre == null ? weights.clone() : centre.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof ClassWeights other
          && label.equals(other.label)
          && examples == other.examples
          && Arrays.equals(weights, other.weights)
          && Float.compare(bias, other.bias) == 0
          && Arrays.equals(centre, other.centre);
    }

    @Override
    public int hashCode() {
      return Objects.hash(label, examples, Arrays.hashCode(weights), bias, Arrays.hashCode(centre));
    }

    @Override
    public String toString() {
      return "ClassWeights[" + label + ", examples=" + examples + ", bias=" + bias + "]";
    }
  }
}
