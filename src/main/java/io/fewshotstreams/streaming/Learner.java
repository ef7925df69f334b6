package io.fewshotstreams.streaming;

import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.fewshot.CosineClassifier;
import io.fewshotstreams.fewshot.FineTuneConfig;
import io.fewshotstreams.fewshot.FineTuneResult;
import io.fewshotstreams.fewshot.Methods;
import io.fewshotstreams.fewshot.SupportSet;
import io.fewshotstreams.fewshot.Vectors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The learner, keyed by task: applies support changes to the example and class-sum stores and
 * publishes a prototype snapshot after each; keeps a ring of recent query embeddings per task; and
 * on a wall-clock punctuator fine-tunes the tasks whose data changed, on the {@link
 * FineTuneScheduler}'s threads, then installs and publishes the result from the stream thread.
 *
 * <p>Store keys are {@code task + NUL + id}; the schemas forbid control characters in tasks, labels
 * and ids, so a task's entries are exactly those with the prefix {@code task + NUL}.
 */
final class Learner implements Processor<String, LearnerInput, String, Routed> {
  private static final Logger log = LoggerFactory.getLogger(Learner.class);
  private static final char SEP = '\u0000';
  private static final StringSerializer PREFIX_SERIALIZER = new StringSerializer();

  private final Settings settings;
  private final FineTuneScheduler scheduler;
  private final DeadLetters deadLetters;
  private final Telemetry telemetry;
  private final Queue<Tuned> finished = new ConcurrentLinkedQueue<>();
  private final Set<String> inFlight = new HashSet<>();
  private final TaskCount taskCount;
  private int tasksHeld;
  private volatile boolean closed;

  private ProcessorContext<String, Routed> context;
  private KeyValueStore<String, StoredExample> examples;
  private KeyValueStore<String, ClassSums> classes;
  private KeyValueStore<String, TaskState> tasks;
  private KeyValueStore<String, float[]> pool;

  /** What the learner needs from the configuration. */
  record Settings(
      String backboneId,
      int featureSize,
      int maxExamplesPerClass,
      int maxClassesPerTask,
      int poolSize,
      String method,
      long fineTuneIntervalMs) {}

  /** A fine-tuning result, null when it failed, on its way back to the stream thread. */
  private record Tuned(
      String task,
      long atSupportChanges,
      long atPoolAdds,
      String method,
      FineTuneResult result,
      double millis,
      int[] counts,
      int supportExamples,
      int poolQueries) {}

  Learner(
      Settings settings,
      FineTuneScheduler scheduler,
      DeadLetters deadLetters,
      Telemetry telemetry,
      TaskCount taskCount) {
    this.settings = settings;
    this.scheduler = scheduler;
    this.deadLetters = deadLetters;
    this.telemetry = telemetry;
    this.taskCount = taskCount;
  }

  @Override
  public void init(ProcessorContext<String, Routed> context) {
    this.context = context;
    examples = context.getStateStore(FewShotTopology.EXAMPLES_STORE);
    classes = context.getStateStore(FewShotTopology.CLASSES_STORE);
    tasks = context.getStateStore(FewShotTopology.TASKS_STORE);
    pool = context.getStateStore(FewShotTopology.POOL_STORE);
    try (KeyValueIterator<String, TaskState> it = tasks.all()) {
      while (it.hasNext()) {
        it.next();
        tasksHeld++;
      }
    }
    taskCount.add(tasksHeld);
    context.schedule(
        Duration.ofMillis(settings.fineTuneIntervalMs()),
        PunctuationType.WALL_CLOCK_TIME,
        now -> startFineTunes());
    context.schedule(
        Duration.ofMillis(Math.min(200, settings.fineTuneIntervalMs())),
        PunctuationType.WALL_CLOCK_TIME,
        now -> installFineTunes());
  }

  @Override
  public void close() {
    closed = true;
    taskCount.add(-tasksHeld);
    tasksHeld = 0;
  }

  @Override
  public void process(Record<String, LearnerInput> record) {
    LearnerInput input = record.value();
    try {
      if (input instanceof LearnerInput.Add add) {
        add(record, add);
      } else if (input instanceof LearnerInput.Remove remove) {
        remove(record, remove);
      } else if (input instanceof LearnerInput.DeleteClass delete) {
        deleteClass(record, delete);
      } else {
        addToPool((LearnerInput.PoolQuery) input);
      }
    } catch (RuntimeException e) {
      // A bug or a store failure must not stop the stream thread in a loop on the same record.
      Origin origin = originOf(input);
      if (origin == null) {
        log.error("could not pool a query embedding of task '{}'", input.task(), e);
        return;
      }
      context.forward(
          record
              .withKey(input.task())
              .withValue(
                  new Routed.ToDeadLetters(
                      deadLetters.of(
                          e, origin, null, input.task(), null, context.currentSystemTimeMs()))));
    }
  }

  private static Origin originOf(LearnerInput input) {
    if (input instanceof LearnerInput.Add add) {
      return add.origin();
    }
    if (input instanceof LearnerInput.Remove remove) {
      return remove.origin();
    }
    if (input instanceof LearnerInput.DeleteClass delete) {
      return delete.origin();
    }
    return null;
  }

  private void add(Record<String, LearnerInput> record, LearnerInput.Add add) {
    String task = add.task();
    String exampleKey = key(task, add.exampleId());
    String classKey = key(task, add.label());
    StoredExample previous = examples.get(exampleKey);
    ClassSums sums = classes.get(classKey);
    boolean sameClass = previous != null && previous.label().equals(add.label());
    if (!sameClass && sums != null && sums.count() >= settings.maxExamplesPerClass()) {
      deadLetter(
          record,
          DeadLetterReason.CLASS_FULL,
          "expected at most "
              + settings.maxExamplesPerClass()
              + " examples in class '"
              + add.label()
              + "' of task '"
              + task
              + "', found it full; remove examples first",
          add.origin(),
          add.exampleId());
      return;
    }
    if (sums == null && !admitNewClass(record, add)) {
      return;
    }
    if (previous != null) {
      subtract(task, previous);
      sums = classes.get(classKey);
    }
    if (sums == null) {
      sums = ClassSums.empty(settings.featureSize());
    }
    classes.put(classKey, sums.plus(add.feature()));
    examples.put(exampleKey, new StoredExample(add.label(), add.feature()));
    publishPrototypes(record, task);
  }

  /**
   * Whether a new class may be created: its task must stay within {@code fewshot.max.classes.per
   * .task}, and a new task within the instance's {@code fewshot.max.tasks}. A refusal is a dead
   * letter.
   */
  private boolean admitNewClass(Record<String, LearnerInput> record, LearnerInput.Add add) {
    String task = add.task();
    if (tasks.get(task) == null) {
      if (taskCount.tryAddOne()) {
        tasksHeld++;
        return true;
      }
      deadLetter(
          record,
          DeadLetterReason.TOO_MANY_TASKS,
          "expected at most "
              + taskCount.limit()
              + " tasks on this instance, found it full; task '"
              + task
              + "' was not created (raise fewshot.max.tasks or add instances)",
          add.origin(),
          add.exampleId());
      return false;
    }
    int existing = labels(task).size();
    if (existing >= settings.maxClassesPerTask()) {
      deadLetter(
          record,
          DeadLetterReason.TASK_FULL,
          "expected at most "
              + settings.maxClassesPerTask()
              + " classes in task '"
              + task
              + "', found "
              + existing
              + "; class '"
              + add.label()
              + "' was not created (delete classes first)",
          add.origin(),
          add.exampleId());
      return false;
    }
    return true;
  }

  private void remove(Record<String, LearnerInput> record, LearnerInput.Remove remove) {
    String exampleKey = key(remove.task(), remove.exampleId());
    StoredExample previous = examples.get(exampleKey);
    if (previous == null) {
      deadLetter(
          record,
          DeadLetterReason.UNKNOWN_EXAMPLE,
          "expected example '"
              + remove.exampleId()
              + "' in task '"
              + remove.task()
              + "', found no such example",
          remove.origin(),
          remove.exampleId());
      return;
    }
    subtract(remove.task(), previous);
    examples.delete(exampleKey);
    publishPrototypes(record, remove.task());
  }

  private void deleteClass(Record<String, LearnerInput> record, LearnerInput.DeleteClass delete) {
    String task = delete.task();
    if (classes.get(key(task, delete.label())) == null) {
      deadLetter(
          record,
          DeadLetterReason.UNKNOWN_CLASS,
          "expected class '"
              + delete.label()
              + "' in task '"
              + task
              + "', found classes "
              + labels(task),
          delete.origin(),
          delete.label());
      return;
    }
    List<String> doomed = new ArrayList<>();
    try (KeyValueIterator<String, StoredExample> it =
        examples.prefixScan(prefix(task), PREFIX_SERIALIZER)) {
      while (it.hasNext()) {
        KeyValue<String, StoredExample> entry = it.next();
        if (entry.value.label().equals(delete.label())) {
          doomed.add(entry.key);
        }
      }
    }
    doomed.forEach(examples::delete);
    classes.delete(key(task, delete.label()));
    publishPrototypes(record, task);
  }

  private void addToPool(LearnerInput.PoolQuery query) {
    if (settings.poolSize() == 0) {
      return;
    }
    TaskState state = taskState(query.task());
    pool.put(key(query.task(), slot(state.nextPoolSlot(settings.poolSize()))), query.feature());
    tasks.put(query.task(), state.pooled(settings.poolSize()));
  }

  private void subtract(String task, StoredExample example) {
    String classKey = key(task, example.label());
    ClassSums sums = classes.get(classKey).minus(example.feature());
    if (sums.count() == 0) {
      classes.delete(classKey);
    } else {
      classes.put(classKey, sums);
    }
  }

  private void publishPrototypes(Record<String, LearnerInput> record, String task) {
    TaskState state = taskState(task).supportChanged(taskState(task).version() + 1);
    tasks.put(task, state);
    List<ModelSnapshot.ClassWeights> weights = new ArrayList<>();
    int total = 0;
    try (KeyValueIterator<String, ClassSums> it =
        classes.prefixScan(prefix(task), PREFIX_SERIALIZER)) {
      while (it.hasNext()) {
        KeyValue<String, ClassSums> entry = it.next();
        float[] prototype = toFloats(entry.value.sum());
        if (Vectors.norm(prototype) == 0) {
          // Examples that cancel out exactly leave the class no direction to classify by.
          log.warn("class '{}' of task '{}' has no direction; left out", labelOf(entry.key), task);
          continue;
        }
        weights.add(
            new ModelSnapshot.ClassWeights(
                labelOf(entry.key), entry.value.count(), Vectors.normalize(prototype), 0f));
        total += entry.value.count();
      }
    }
    ModelSnapshot snapshot =
        new ModelSnapshot(
            1,
            task,
            state.version(),
            ModelSnapshot.PROTOTYPES,
            null,
            settings.backboneId(),
            settings.featureSize(),
            FineTuneConfig.DEFAULT_SCALE,
            weights,
            total,
            0,
            context.currentSystemTimeMs(),
            null,
            null);
    context.forward(record.withKey(task).withValue(new Routed.ToModels(snapshot)));
    telemetry.snapshotPublished(ModelSnapshot.PROTOTYPES);
  }

  /** Submits a fine-tune for every task whose data changed since its last one. */
  private void startFineTunes() {
    List<String> due = new ArrayList<>();
    try (KeyValueIterator<String, TaskState> it = tasks.all()) {
      while (it.hasNext()) {
        KeyValue<String, TaskState> entry = it.next();
        if (!inFlight.contains(entry.key) && entry.value.needsFineTune()) {
          due.add(entry.key);
        }
      }
    }
    for (String task : due) {
      startFineTune(task, tasks.get(task));
    }
  }

  private void startFineTune(String task, TaskState state) {
    List<String> labels = new ArrayList<>();
    Map<String, Integer> index = new HashMap<>();
    try (KeyValueIterator<String, ClassSums> it =
        classes.prefixScan(prefix(task), PREFIX_SERIALIZER)) {
      while (it.hasNext()) {
        String label = labelOf(it.next().key);
        index.put(label, labels.size());
        labels.add(label);
      }
    }
    String method = settings.method();
    if (labels.size() < 2 || Methods.PROTOTYPES.equals(method)) {
      // One class has nothing to separate; the prototype snapshot stands.
      tasks.put(task, state.tuned(state.version(), state.supportChanges(), state.poolAdds()));
      return;
    }
    List<float[]> features = new ArrayList<>();
    List<Integer> classIndex = new ArrayList<>();
    try (KeyValueIterator<String, StoredExample> it =
        examples.prefixScan(prefix(task), PREFIX_SERIALIZER)) {
      while (it.hasNext()) {
        StoredExample example = it.next().value;
        features.add(example.feature());
        classIndex.add(index.get(example.label()));
      }
    }
    SupportSet support =
        new SupportSet(
            labels,
            features.toArray(float[][]::new),
            classIndex.stream().mapToInt(Integer::intValue).toArray());
    float[][] queries = poolOf(task);
    if (Methods.AUTO.equals(method)) {
      method = Methods.autoChoice(support, queries.length);
    }
    boolean supportChanged = state.supportChanges() != state.tunedSupportChanges();
    if (Methods.PROTOTYPES.equals(method)
        || (!supportChanged && !Methods.TRANSDUCTIVE.equals(method))) {
      // Nothing to fit, or only the pool changed and the method ignores it: same result as before.
      tasks.put(task, state.tuned(state.version(), state.supportChanges(), state.poolAdds()));
      return;
    }
    float[][] unlabelled = Methods.TRANSDUCTIVE.equals(method) ? queries : new float[0][];
    String chosen = method;
    long atSupport = state.supportChanges();
    long atPool = state.poolAdds();
    inFlight.add(task);
    scheduler.submit(
        () -> {
          if (closed) {
            return;
          }
          long start = System.nanoTime();
          FineTuneResult result = null;
          try {
            result = Methods.fineTune(chosen, support, unlabelled);
          } catch (RuntimeException e) {
            log.error("fine-tuning task '{}' failed; its prototype snapshot stays", task, e);
          }
          finished.add(
              new Tuned(
                  task,
                  atSupport,
                  atPool,
                  chosen,
                  result,
                  (System.nanoTime() - start) / 1e6,
                  support.counts(),
                  support.size(),
                  unlabelled.length));
        });
  }

  /** Installs and publishes finished fine-tunes whose task did not change in the meantime. */
  private void installFineTunes() {
    Tuned tuned;
    while ((tuned = finished.poll()) != null) {
      inFlight.remove(tuned.task());
      try {
        install(tuned);
      } catch (RuntimeException e) {
        log.error("could not install the fine-tune of task '{}'; its snapshot stays", tuned.task(), e);
      }
    }
  }

  private void install(Tuned tuned) {
    TaskState state = tasks.get(tuned.task());
    if (state == null || state.supportChanges() != tuned.atSupportChanges()) {
      // The support set changed while tuning: the next punctuation tunes again.
      fineTuned(tuned, state == null ? 0 : state.version(), RecentActivity.FineTuneEvent.STALE);
      return;
    }
    if (tuned.result() == null) {
      tasks.put(
          tuned.task(),
          state.tuned(state.version(), tuned.atSupportChanges(), tuned.atPoolAdds()));
      fineTuned(tuned, state.version(), RecentActivity.FineTuneEvent.FAILED);
      return;
    }
    long version = state.version() + 1;
    tasks.put(tuned.task(), state.tuned(version, tuned.atSupportChanges(), tuned.atPoolAdds()));
    CosineClassifier c = tuned.result().classifier();
    float[][] w = c.weights();
    float[] b = c.bias();
    List<ModelSnapshot.ClassWeights> weights = new ArrayList<>();
    for (int k = 0; k < c.numClasses(); k++) {
      weights.add(
          new ModelSnapshot.ClassWeights(c.labels().get(k), tuned.counts()[k], w[k], b[k]));
    }
    ModelSnapshot snapshot =
        new ModelSnapshot(
            1,
            tuned.task(),
            version,
            ModelSnapshot.FINE_TUNED,
            tuned.method(),
            settings.backboneId(),
            settings.featureSize(),
            c.scale(),
            weights,
            tuned.supportExamples(),
            tuned.poolQueries(),
            context.currentSystemTimeMs(),
            finiteOrNull(tuned.result().finalLoss()),
            tuned.millis());
    long now = context.currentSystemTimeMs();
    context.forward(new Record<>(tuned.task(), (Routed) new Routed.ToModels(snapshot), now));
    telemetry.snapshotPublished(ModelSnapshot.FINE_TUNED);
    fineTuned(tuned, version, RecentActivity.FineTuneEvent.INSTALLED);
  }

  private void fineTuned(Tuned tuned, long version, String outcome) {
    FineTuneResult result = tuned.result();
    telemetry.fineTuned(
        new RecentActivity.FineTuneEvent(
            tuned.task(),
            version,
            tuned.method(),
            tuned.millis(),
            result == null ? null : finiteOrNull(result.initialLoss()),
            result == null ? null : finiteOrNull(result.finalLoss()),
            tuned.supportExamples(),
            tuned.poolQueries(),
            context.currentSystemTimeMs(),
            outcome));
  }

  /** A loss as JSON can carry it: a diverged (non-finite) loss is unknown. */
  private static Double finiteOrNull(float loss) {
    return Float.isFinite(loss) ? Double.valueOf(loss) : null;
  }

  private float[][] poolOf(String task) {
    List<float[]> out = new ArrayList<>();
    try (KeyValueIterator<String, float[]> it = pool.prefixScan(prefix(task), PREFIX_SERIALIZER)) {
      while (it.hasNext()) {
        out.add(it.next().value);
      }
    }
    return out.toArray(float[][]::new);
  }

  private List<String> labels(String task) {
    List<String> out = new ArrayList<>();
    try (KeyValueIterator<String, ClassSums> it =
        classes.prefixScan(prefix(task), PREFIX_SERIALIZER)) {
      while (it.hasNext()) {
        out.add(labelOf(it.next().key));
      }
    }
    return out;
  }

  private TaskState taskState(String task) {
    TaskState state = tasks.get(task);
    return state == null ? TaskState.NEW : state;
  }

  private void deadLetter(
      Record<String, LearnerInput> record,
      DeadLetterReason reason,
      String message,
      Origin origin,
      String id) {
    String task = record.value().task();
    context.forward(
        record
            .withKey(task)
            .withValue(
                new Routed.ToDeadLetters(
                    deadLetters.of(
                        reason, message, origin, null, task, id, context.currentSystemTimeMs()))));
  }

  private static String key(String task, String id) {
    return task + SEP + id;
  }

  private static String prefix(String task) {
    return task + SEP;
  }

  private static String labelOf(String key) {
    return key.substring(key.indexOf(SEP) + 1);
  }

  /** Pool slots as fixed-width numbers, so a task's slots sort in order. */
  private static String slot(int index) {
    return String.format("%06d", index);
  }

  private static float[] toFloats(double[] sum) {
    float[] out = new float[sum.length];
    for (int i = 0; i < sum.length; i++) {
      out[i] = (float) sum[i];
    }
    return out;
  }
}
