package io.fewshotstreams.streaming.learner;

import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.fewshot.CosineClassifier;
import io.fewshotstreams.fewshot.FineTuneConfig;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the learner's model snapshots and forwards them to the models topic: the prototypes of a
 * task's class sums after each support change, and a fine-tuned classifier once installed.
 */
final class SnapshotPublisher {
  private static final Logger log = LoggerFactory.getLogger(SnapshotPublisher.class);

  private final String backboneId;
  private final int featureSize;
  private final Telemetry telemetry;
  private final ProcessorContext<String, Routed> context;

  SnapshotPublisher(
      String backboneId,
      int featureSize,
      Telemetry telemetry,
      ProcessorContext<String, Routed> context) {
    this.backboneId = backboneId;
    this.featureSize = featureSize;
    this.telemetry = telemetry;
    this.context = context;
  }

  /**
   * Publishes the prototype snapshot {@code version} of {@code task}, keyed by the task and stamped
   * like {@code cause}, the record that changed it.
   */
  void prototypes(
      Record<String, ?> cause, String task, long version, List<LearnerStores.LabelledSum> sums) {
    List<ModelSnapshot.ClassWeights> weights = new ArrayList<>();
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
            null);
    context.forward(cause.withKey(task).withValue(new Routed.ToModels(snapshot)));
    telemetry.snapshotPublished(ModelSnapshot.PROTOTYPES);
  }

  /**
   * Publishes a fine-tuned classifier as snapshot {@code version} of {@code task}.
   *
   * @param counts examples per class, in the classifier's class order
   * @param trainingLoss the final loss, null when unknown
   */
  void fineTuned(
      String task,
      long version,
      String method,
      CosineClassifier classifier,
      int[] counts,
      int supportExamples,
      int poolQueries,
      Double trainingLoss,
      double millis) {
    float[][] w = classifier.weights();
    float[] b = classifier.bias();
    List<ModelSnapshot.ClassWeights> weights = new ArrayList<>();
    for (int k = 0; k < classifier.numClasses(); k++) {
      weights.add(
          new ModelSnapshot.ClassWeights(classifier.labels().get(k), counts[k], w[k], b[k]));
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
            millis);
    long now = context.currentSystemTimeMs();
    context.forward(new Record<>(task, (Routed) new Routed.ToModels(snapshot), now));
    telemetry.snapshotPublished(ModelSnapshot.FINE_TUNED);
  }
}
