package io.fewshotstreams.streaming.learner;

import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.fewshot.CalibratedPrototypes;
import io.fewshotstreams.fewshot.CosineClassifier;
import io.fewshotstreams.fewshot.FineTuneConfig;
import io.fewshotstreams.fewshot.OpenSetClassifier;
import io.fewshotstreams.fewshot.OpenSetThreshold;
import io.fewshotstreams.fewshot.RobustConfig;
import io.fewshotstreams.fewshot.SupportSet;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the learner's model snapshots and forwards them to the models topic: the prototypes of a
 * task's class sums after each support change, and a fine-tuned classifier once installed. Every
 * snapshot with classes carries its open-set threshold: the prototype snapshot's from its own
 * support examples ({@link OpenSetThreshold}), a fine-tuned one's from its method.
 *
 * <p>A snapshot goes out only when it fits in the models topic's record limit: a record the
 * producer refused would fail the transaction and be replayed for ever. {@link SupportLimits} keeps
 * tasks small enough; a task that grew under a larger limit is measured before sending, and a
 * snapshot that does not fit is withheld (the caller says so) rather than sent. Snapshot records
 * carry no headers, so that their size is the value's and the key's.
 */
final class SnapshotPublisher {
  private static final Logger log = LoggerFactory.getLogger(SnapshotPublisher.class);

  private final String backboneId;
  private final int featureSize;
  private final long maxSnapshotBytes;
  private final CalibratedPrototypes calibrated;
  private final EventCodec codec;
  private final Telemetry telemetry;
  private final ProcessorContext<String, Routed> context;

  /**
   * @param maxSnapshotBytes the largest snapshot value the models topic and the producer take
   * @param codec writes snapshots as the models sink does, to measure those that may not fit
   */
  SnapshotPublisher(
      String backboneId,
      int featureSize,
      long maxSnapshotBytes,
      RobustConfig robust,
      EventCodec codec,
      Telemetry telemetry,
      ProcessorContext<String, Routed> context) {
    this.backboneId = backboneId;
    this.featureSize = featureSize;
    this.maxSnapshotBytes = maxSnapshotBytes;
    this.calibrated = new CalibratedPrototypes(robust);
    this.codec = codec;
    this.telemetry = telemetry;
    this.context = context;
  }

  /**
   * The size of {@code snapshot}'s JSON when it may exceed the limit, else -1: measured only when
   * the bound of its classes does not fit.
   */
  private long oversize(ModelSnapshot snapshot) {
    long bound = SnapshotSize.fixedBytes(snapshot.task(), snapshot.backboneId());
    for (ModelSnapshot.ClassWeights c : snapshot.classes()) {
      bound += SnapshotSize.classBytes(c.label(), featureSize);
    }
    if (bound <= maxSnapshotBytes) {
      return -1;
    }
    long bytes = codec.write(snapshot).length;
    return bytes <= maxSnapshotBytes ? -1 : bytes;
  }

  private String withheld(ModelSnapshot snapshot, long bytes) {
    return "expected the "
        + snapshot.method()
        + " snapshot v"
        + snapshot.version()
        + " of task '"
        + snapshot.task()
        + "' to fit in "
        + maxSnapshotBytes
        + " bytes (the record limit of the models topic and the service's producer), found "
        + bytes
        + " bytes for its "
        + snapshot.classes().size()
        + " classes; it was not published (delete classes of the task, or raise the models"
        + " topic's max.message.bytes)";
  }

  /**
   * Publishes the prototype snapshot {@code version} of {@code task}, keyed by the task and stamped
   * like {@code cause}, the record that changed it.
   *
   * @param examples the task's support examples, for the open-set threshold and the temperature
   * @return null when published, else why it was withheld (it does not fit in the models topic)
   */
  String prototypes(
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
    SupportSet measured = measured(weights, index, examples);
    ModelSnapshot snapshot =
        new ModelSnapshot(
            1,
            task,
            version,
            ModelSnapshot.PROTOTYPES,
            null,
            backboneId,
            featureSize,
            measured == null ? FineTuneConfig.DEFAULT_SCALE : calibrated.temperature(measured),
            weights,
            total,
            0,
            context.currentSystemTimeMs(),
            null,
            null,
            measured == null ? null : calibrated.threshold(measured));
    long oversize = oversize(snapshot);
    if (oversize >= 0) {
      String why = withheld(snapshot, oversize);
      log.warn(why);
      return why;
    }
    context.forward(
        cause
            .withKey(task)
            .withValue((Routed) new Routed.ToModels(snapshot))
            .withHeaders(new RecordHeaders()));
    telemetry.snapshotPublished(ModelSnapshot.PROTOTYPES);
    return null;
  }

  /**
   * Most examples of a class the prototype snapshot's threshold and temperature are measured on:
   * both come from leave-one-out cosines, which a few dozen examples per class already estimate,
   * and they are computed on the stream thread at every support change.
   */
  private static final int MEASURED_EXAMPLES_PER_CLASS = 32;

  /**
   * The support set the prototype snapshot's threshold and temperature are measured on: at most
   * {@link #MEASURED_EXAMPLES_PER_CLASS} examples of each class; null when there are no classes.
   */
  private static SupportSet measured(
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
    int[] taken = new int[labels.size()];
    List<float[]> features = new ArrayList<>();
    List<Integer> classIndex = new ArrayList<>();
    for (StoredExample example : examples) {
      Integer c = index.get(example.label());
      if (c != null && taken[c]++ < MEASURED_EXAMPLES_PER_CLASS) {
        features.add(example.feature());
        classIndex.add(c);
      }
    }
    return new SupportSet(
        labels,
        features.toArray(float[][]::new),
        classIndex.stream().mapToInt(Integer::intValue).toArray());
  }

  /**
   * Publishes a fine-tuned classifier as snapshot {@code version} of {@code task}.
   *
   * @param counts examples per class, in the classifier's class order
   * @param trainingLoss the final loss, null when unknown
   * @return null when published, else why it was withheld (it does not fit in the models topic)
   */
  String fineTuned(
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
    long oversize = oversize(snapshot);
    if (oversize >= 0) {
      return withheld(snapshot, oversize);
    }
    long now = context.currentSystemTimeMs();
    context.forward(new Record<>(task, (Routed) new Routed.ToModels(snapshot), now));
    telemetry.snapshotPublished(ModelSnapshot.FINE_TUNED);
    return null;
  }
}
