package io.fewshotstreams.streaming.learner;

import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.fewshot.CosineClassifier;
import io.fewshotstreams.fewshot.FineTuneConfig;
import io.fewshotstreams.fewshot.OpenSetClassifier;
import io.fewshotstreams.fewshot.OpenSetThreshold;
import io.fewshotstreams.fewshot.SupportSet;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the learner's model snapshots and forwards them to the models topic: the prototypes of a
 * task's class sums after each support change, and a fine-tuned classifier once installed. Every
 * snapshot with classes carries its open-set threshold: the prototype snapshot's from its own
 * support examples ({@link OpenSetThreshold}), a fine-tuned one's from its method.
 */
final class SnapshotPublisher {
  private static final Logger log = LoggerFactory.getLogger(SnapshotPublisher.class);

  private final String backboneId;
  private final int featureSize;
  private final float acceptShare;
  private final Telemetry telemetry;
  private final ProcessorContext<String, Routed> context;

  SnapshotPublisher(
      String backboneId,
      int featureSize,
      float acceptShare,
      Telemetry telemetry,
      ProcessorContext<String, Routed> context) {
    this.backboneId = backboneId;
    this.featureSize = featureSize;
    this.acceptShare = acceptShare;
    this.telemetry = telemetry;
    this.context = context;
  }

  /**
   * Publishes the prototype snapshot {@code version} of {@code task}, keyed by the task and stamped
   * like {@code cause}, the record that changed it.
   *
   * @param examples the task's support examples, for the open-set threshold
   */
  void prototypes(
      Record<String, ?> cause,
      String task,
      long version,
      List<LearnerStores.LabelledSum> sums,
      List<StoredExample> examples) {
    List<ModelSnapshot.ClassWeights> weights = new ArrayList<>();
    Map<String, Integer> index = new HashMap<>();
    int total = 0;
    for (LearnerStores.LabelledSum entry : sums) {
      if (!entry.sum().hasDirection()) {
        // Examples that cancel out exactly leave the class no direction to classify by.
        log.warn("class '{}' of task '{}' has no direction; left out", entry.label(), task);
        continue;
      }
      weights.add(
          new ModelSnapshot.ClassWeights(
              entry.label(), entry.sum().count(), entry.sum().prototype(), 0f));
      index.put(entry.label(), index.size());
      total += entry.sum().count();
    }
    ModelSnapshot snapshot =
        new ModelSnapshot(
            1,
            task,
            version,
            ModelSnapshot.PROTOTYPES,
            null,
            backboneId,
            featureSize,
            FineTuneConfig.DEFAULT_SCALE,
            weights,
            total,
            0,
            context.currentSystemTimeMs(),
            null,
            null,
            threshold(weights, index, examples));
    context.forward(cause.withKey(task).withValue(new Routed.ToModels(snapshot)));
    telemetry.snapshotPublished(ModelSnapshot.PROTOTYPES);
  }

  /** The open-set threshold of the classes' examples; null when there are no classes. */
  private Float threshold(
      List<ModelSnapshot.ClassWeights> classes,
      Map<String, Integer> index,
      List<StoredExample> examples) {
    if (classes.isEmpty()) {
      return null;
    }
    List<String> labels = new ArrayList<>(index.size());
    for (ModelSnapshot.ClassWeights c : classes) {
      labels.add(c.label());
    }
    List<float[]> features = new ArrayList<>(examples.size());
    List<Integer> classIndex = new ArrayList<>(examples.size());
    for (StoredExample example : examples) {
      Integer c = index.get(example.label());
      if (c != null) {
        features.add(example.feature());
        classIndex.add(c);
      }
    }
    SupportSet support =
        new SupportSet(
            labels,
            features.toArray(float[][]::new),
            classIndex.stream().mapToInt(Integer::intValue).toArray());
    return OpenSetThreshold.of(support, acceptShare);
  }

  /**
   * Publishes a fine-tuned classifier as snapshot {@code version} of {@code task}.
   *
   * @param classifier the fine-tuned classifier, with its centres and threshold
   * @param counts examples per class, in the classifier's class order
   * @param trainingLoss the final loss, null when unknown
   */
  void fineTuned(
      String task,
      long version,
      String method,
      OpenSetClassifier openSet,
      int[] counts,
      int supportExamples,
      int poolQueries,
      Double trainingLoss,
      double millis) {
    CosineClassifier classifier = openSet.classifier();
    float[][] w = classifier.weights();
    float[] b = classifier.bias();
    float[][] centres = openSet.centres();
    List<ModelSnapshot.ClassWeights> weights = new ArrayList<>();
    for (int k = 0; k < classifier.numClasses(); k++) {
      // The centre travels only when the score is not measured against the weights themselves.
      float[] centre = java.util.Arrays.equals(centres[k], w[k]) ? null : centres[k];
      weights.add(
          new ModelSnapshot.ClassWeights(
              classifier.labels().get(k), counts[k], w[k], b[k], centre));
    }
    ModelSnapshot snapshot =
        new ModelSnapshot(
            1,
            task,
            version,
            ModelSnapshot.FINE_TUNED,
            method,
            backboneId,
            featureSize,
            classifier.scale(),
            weights,
            supportExamples,
            poolQueries,
            context.currentSystemTimeMs(),
            trainingLoss,
            millis,
            openSet.threshold());
    long now = context.currentSystemTimeMs();
    context.forward(new Record<>(task, (Routed) new Routed.ToModels(snapshot), now));
    telemetry.snapshotPublished(ModelSnapshot.FINE_TUNED);
  }
}
