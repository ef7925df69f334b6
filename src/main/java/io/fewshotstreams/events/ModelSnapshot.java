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
    Double fineTuneMillis) {

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
    for (ClassWeights c : classes) {
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

  /** One class: its label, how many support examples it has, its weight vector and bias. */
  public record ClassWeights(String label, int examples, float[] weights, float bias) {
    public ClassWeights {
      Objects.requireNonNull(label, "label");
      weights = weights.clone();
    }

    @Override
    public float[] weights() {
      return weights.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof ClassWeights other
          && label.equals(other.label)
          && examples == other.examples
          && Arrays.equals(weights, other.weights)
          && Float.compare(bias, other.bias) == 0;
    }

    @Override
    public int hashCode() {
      return Objects.hash(label, examples, Arrays.hashCode(weights), bias);
    }

    @Override
    public String toString() {
      return "ClassWeights[" + label + ", examples=" + examples + ", bias=" + bias + "]";
    }
  }
}
