package io.fewshotstreams.bench;

import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.fewshot.CosineClassifier;
import io.fewshotstreams.streaming.query.Classification;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Heap taken by the per-task structures the service keeps on the heap: the decoded {@link
 * ModelSnapshot} (the value type of the global snapshot store) and the {@link CosineClassifier}
 * the query path caches per task. Measured as the growth of {@code totalMemory - freeMemory}
 * across building them, each side after collecting garbage. The persistent stores (the global
 * snapshot store and the learner's stores) live in RocksDB, off the Java heap, and are not
 * counted here.
 */
public final class MemoryBench {
  /** A backbone id of the bundled backbone's length, so the strings weigh what they would. */
  static final String BACKBONE_ID = "fmnist-base5-res-v3";

  private MemoryBench() {}

  /**
   * Heap and serialised sizes for {@code tasks} tasks of {@code classes} classes.
   *
   * @param snapshotHeapBytes heap growth for the decoded snapshots of all tasks
   * @param classifierHeapBytes heap growth for one classifier per task, built from the snapshots
   * @param modelsTopicBytes one snapshot's value on the models topic (JSON, {@link EventCodec})
   * @param globalStoreBytes one snapshot's value in the global store (binary), from its layout
   */
  public record Result(
      int tasks,
      int classes,
      int featureSize,
      long snapshotHeapBytes,
      long classifierHeapBytes,
      int modelsTopicBytes,
      int globalStoreBytes) {

    /** Snapshot and classifier together, per task. */
    public double bytesPerTask() {
      return (double) (snapshotHeapBytes + classifierHeapBytes) / tasks;
    }

    /** Snapshot and classifier together, per class. */
    public double bytesPerClass() {
      return bytesPerTask() / classes;
    }
  }

  /** Builds the structures of {@code tasks} tasks and measures them. */
  public static Result run(int tasks, int classes, int featureSize, long seed) {
    if (tasks < 1 || classes < 1 || featureSize < 1) {
      throw new IllegalArgumentException(
          String.format(
              "expected tasks >= 1, classes >= 1, featureSize >= 1, found %d, %d, %d",
              tasks, classes, featureSize));
    }
    Random random = new Random(seed);
    long before = usedHeap();
    List<ModelSnapshot> snapshots = new ArrayList<>(tasks);
    for (int t = 0; t < tasks; t++) {
      snapshots.add(snapshot(random, "task-" + t, classes, featureSize));
    }
    long afterSnapshots = usedHeap();
    List<CosineClassifier> classifiers = new ArrayList<>(tasks);
    for (ModelSnapshot s : snapshots) {
      // The query path's own conversion, so the bench measures what it caches.
      classifiers.add(Classification.classifier(s));
    }
    long afterClassifiers = usedHeap();
    Reference.reachabilityFence(snapshots);
    Reference.reachabilityFence(classifiers);
    ModelSnapshot one = snapshots.get(0);
    return new Result(
        tasks,
        classes,
        featureSize,
        afterSnapshots - before,
        afterClassifiers - afterSnapshots,
        new EventCodec().write(one).length,
        globalStoreBytes(one));
  }

  /** A fine-tuned snapshot as the learner publishes it, with random unit weights. */
  static ModelSnapshot snapshot(Random random, String task, int classes, int featureSize) {
    List<ModelSnapshot.ClassWeights> weights = new ArrayList<>(classes);
    for (int c = 0; c < classes; c++) {
      float[] w = new float[featureSize];
      double norm = 0;
      for (int k = 0; k < featureSize; k++) {
        w[k] = (float) random.nextGaussian();
        norm += w[k] * w[k];
      }
      for (int k = 0; k < featureSize; k++) {
        w[k] /= (float) Math.sqrt(norm);
      }
      weights.add(
          new ModelSnapshot.ClassWeights("class-" + c, 5, w, (float) random.nextGaussian() * 0.1f));
    }
    return new ModelSnapshot(
        1,
        task,
        classes * 5L + 3,
        ModelSnapshot.FINE_TUNED,
        "transductive",
        BACKBONE_ID,
        featureSize,
        15f,
        weights,
        classes * 5,
        100,
        System.currentTimeMillis(),
        0.25,
        1.5);
  }

  /**
   * The length of a snapshot in the global store's binary layout: a format byte, then the fields
   * in record order (ints, longs and floats at their width, strings as a length and UTF-8 bytes,
   * nullable fields behind a presence byte, weights as a length and the floats).
   */
  public static int globalStoreBytes(ModelSnapshot s) {
    int bytes = 1 + 4 + string(s.task()) + 8 + string(s.method()) + nullableString(s.fineTuning());
    bytes += string(s.backboneId()) + 4 + 4 + 4;
    for (ModelSnapshot.ClassWeights c : s.classes()) {
      bytes += string(c.label()) + 4 + 4 + 4 * c.weights().length + 4;
    }
    bytes += 4 + 4 + 8;
    bytes += 1 + (s.trainingLoss() == null ? 0 : 8);
    bytes += 1 + (s.fineTuneMillis() == null ? 0 : 8);
    bytes += 1 + (s.openSetThreshold() == null ? 0 : 4);
    bytes += 1;
    if (s.classes().stream().anyMatch(c -> c.centre() != null)) {
      for (ModelSnapshot.ClassWeights c : s.classes()) {
        bytes += 1 + (c.centre() == null ? 0 : 4 + 4 * c.centre().length);
      }
    }
    return bytes;
  }

  private static int string(String s) {
    return 4 + s.getBytes(StandardCharsets.UTF_8).length;
  }

  private static int nullableString(String s) {
    return 1 + (s == null ? 0 : string(s));
  }

  /** Heap in use after collecting garbage until it stops shrinking (at most a few rounds). */
  static long usedHeap() {
    Runtime runtime = Runtime.getRuntime();
    long used = Long.MAX_VALUE;
    for (int round = 0; round < 5; round++) {
      System.gc();
      long now = runtime.totalMemory() - runtime.freeMemory();
      if (now >= used) {
        return Math.min(now, used);
      }
      used = now;
    }
    return used;
  }
}
