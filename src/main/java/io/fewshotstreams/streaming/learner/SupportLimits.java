package io.fewshotstreams.streaming.learner;

import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.fewshot.ClassSum;
import io.fewshotstreams.streaming.LearnerInput;
import java.util.List;

/**
 * The learner's limits on what a support example may create: {@code fewshot.max.examples.per
 * .class}, {@code fewshot.max.classes.per.task}, per instance {@code fewshot.max.tasks}, and the
 * largest snapshot the models topic takes ({@link SnapshotSize}). A refusal names its dead-letter
 * reason and says what was expected and found.
 */
final class SupportLimits {
  private final int maxExamplesPerClass;
  private final int maxClassesPerTask;
  private final TaskCount taskCount;
  private final LearnerStores stores;
  private final String backboneId;
  private final int featureSize;
  private final long maxSnapshotBytes;
  private int tasksHeld;

  /** Why an example was refused. */
  record Refusal(DeadLetterReason reason, String message) {}

  /**
   * @param maxSnapshotBytes the largest snapshot value the models topic and the producer take
   */
  SupportLimits(
      int maxExamplesPerClass,
      int maxClassesPerTask,
      TaskCount taskCount,
      LearnerStores stores,
      String backboneId,
      int featureSize,
      long maxSnapshotBytes) {
    this.maxExamplesPerClass = maxExamplesPerClass;
    this.maxClassesPerTask = maxClassesPerTask;
    this.taskCount = taskCount;
    this.stores = stores;
    this.backboneId = backboneId;
    this.featureSize = featureSize;
    this.maxSnapshotBytes = maxSnapshotBytes;
  }

  /** Counts the tasks of the learner's store against the instance's limit. */
  void open() {
    tasksHeld = stores.taskCount();
    taskCount.add(tasksHeld);
  }

  /** Gives the learner's tasks back to the instance. */
  void close() {
    taskCount.add(-tasksHeld);
    tasksHeld = 0;
  }

  /**
   * Why {@code add} may not go into its class, or null when it may; a new task taken is counted.
   *
   * @param sum the running sum of the example's class, null when the class is new
   * @param sameClass whether the example replaces one of its own class
   */
  Refusal check(LearnerInput.Add add, ClassSum sum, boolean sameClass) {
    String task = add.task();
    if (!sameClass && sum != null && sum.count() >= maxExamplesPerClass) {
      return new Refusal(
          DeadLetterReason.CLASS_FULL,
          "expected at most "
              + maxExamplesPerClass
              + " examples in class '"
              + add.label()
              + "' of task '"
              + task
              + "', found it full; remove examples first");
    }
    boolean newTask = stores.task(task) == null;
    if (sum == null && !newTask) {
      Refusal full = checkClassCount(add);
      if (full != null) {
        return full;
      }
    }
    Refusal tooBig = checkSnapshotSize(add);
    if (tooBig != null) {
      return tooBig;
    }
    // Last, since taking a task counts it.
    return newTask ? admitNewTask(add) : null;
  }

  /**
   * Whether the task's snapshots, with {@code add}'s class, would still fit in the models topic
   * whatever their numbers (checked for every add, so that a task made under a larger limit does
   * not grow once the limit is lower).
   */
  private Refusal checkSnapshotSize(LearnerInput.Add add) {
    String task = add.task();
    List<String> labels = stores.labels(task);
    long bound = snapshotBound(task, labels);
    int classes = labels.size();
    if (!labels.contains(add.label())) {
      bound += SnapshotSize.classBytes(add.label(), featureSize);
      classes++;
    }
    if (bound <= maxSnapshotBytes) {
      return null;
    }
    return new Refusal(
        DeadLetterReason.TASK_FULL,
        "expected the model snapshot of task '"
            + task
            + "' to fit in "
            + maxSnapshotBytes
            + " bytes (the record limit of the models topic and the service's producer), found"
            + " that with class '"
            + add.label()
            + "' its "
            + classes
            + " classes of "
            + featureSize
            + " weights could take up to "
            + bound
            + " bytes; the example was not added (delete classes first, or raise the models"
            + " topic's max.message.bytes)");
  }

  private long snapshotBound(String task, List<String> labels) {
    long bound = SnapshotSize.fixedBytes(task, backboneId);
    for (String label : labels) {
      bound += SnapshotSize.classBytes(label, featureSize);
    }
    return bound;
  }

  /** Whether a new task may be created within the instance's {@code fewshot.max.tasks}. */
  private Refusal admitNewTask(LearnerInput.Add add) {
    if (taskCount.tryAddOne()) {
      tasksHeld++;
      return null;
    }
    return new Refusal(
        DeadLetterReason.TOO_MANY_TASKS,
        "expected at most "
            + taskCount.limit()
            + " tasks on this instance, found it full; task '"
            + add.task()
            + "' was not created (raise fewshot.max.tasks or add instances)");
  }

  /** Whether a new class of an existing task stays within {@code fewshot.max.classes.per.task}. */
  private Refusal checkClassCount(LearnerInput.Add add) {
    String task = add.task();
    int existing = stores.labels(task).size();
    if (existing >= maxClassesPerTask) {
      return new Refusal(
          DeadLetterReason.TASK_FULL,
          "expected at most "
              + maxClassesPerTask
              + " classes in task '"
              + task
              + "', found "
              + existing
              + "; class '"
              + add.label()
              + "' was not created (delete classes first)");
    }
    return null;
  }
}
