package io.fewshotstreams.streaming.learner;

import io.fewshotstreams.fewshot.ClassSum;
import io.fewshotstreams.streaming.StoreNames;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The learner's four stores behind one door: examples, class sums, task bookkeeping and the query
 * pool, each keyed per task.
 *
 * <p>Keys are {@code task + NUL + id}; the schemas forbid control characters in tasks, labels and
 * ids, so a task's entries are exactly those with the prefix {@code task + NUL}, found by a prefix
 * scan. The tasks store is keyed by the task alone.
 */
final class LearnerStores {
  private static final char SEP = '\u0000';
  private static final StringSerializer PREFIX_SERIALIZER = new StringSerializer();

  /** The learner's stores, by name. */
  static final String[] NAMES = {
    StoreNames.EXAMPLES, StoreNames.CLASSES, StoreNames.TASKS, StoreNames.POOL
  };

  private final KeyValueStore<String, StoredExample> examples;
  private final KeyValueStore<String, ClassSum> classes;
  private final KeyValueStore<String, TaskState> tasks;
  private final KeyValueStore<String, float[]> pool;

  /** A class's label and running sum. */
  record LabelledSum(String label, ClassSum sum) {}

  LearnerStores(ProcessorContext<?, ?> context) {
    examples = context.getStateStore(StoreNames.EXAMPLES);
    classes = context.getStateStore(StoreNames.CLASSES);
    tasks = context.getStateStore(StoreNames.TASKS);
    pool = context.getStateStore(StoreNames.POOL);
  }

  StoredExample example(String task, String exampleId) {
    return examples.get(key(task, exampleId));
  }

  void putExample(String task, String exampleId, StoredExample example) {
    examples.put(key(task, exampleId), example);
  }

  void deleteExample(String task, String exampleId) {
    examples.delete(key(task, exampleId));
  }

  /** The examples of {@code task}, in key order. */
  List<StoredExample> examples(String task) {
    List<StoredExample> out = new ArrayList<>();
    try (KeyValueIterator<String, StoredExample> it =
        examples.prefixScan(prefix(task), PREFIX_SERIALIZER)) {
      while (it.hasNext()) {
        out.add(it.next().value);
      }
    }
    return out;
  }

  /** The running sum of a class, null when the class does not exist. */
  ClassSum classSum(String task, String label) {
    return classes.get(key(task, label));
  }

  /** Stores a class's sum; a sum of no examples deletes the class. */
  void putClassSum(String task, String label, ClassSum sum) {
    if (sum.count() == 0) {
      classes.delete(key(task, label));
    } else {
      classes.put(key(task, label), sum);
    }
  }

  /** Deletes a class with all its examples. */
  void deleteClass(String task, String label) {
    List<String> doomed = new ArrayList<>();
    try (KeyValueIterator<String, StoredExample> it =
        examples.prefixScan(prefix(task), PREFIX_SERIALIZER)) {
      while (it.hasNext()) {
        KeyValue<String, StoredExample> entry = it.next();
        if (entry.value.label().equals(label)) {
          doomed.add(entry.key);
        }
      }
    }
    doomed.forEach(examples::delete);
    classes.delete(key(task, label));
  }

  /** The classes of {@code task} with their sums, in label order. */
  List<LabelledSum> classSums(String task) {
    List<LabelledSum> out = new ArrayList<>();
    try (KeyValueIterator<String, ClassSum> it =
        classes.prefixScan(prefix(task), PREFIX_SERIALIZER)) {
      while (it.hasNext()) {
        KeyValue<String, ClassSum> entry = it.next();
        out.add(new LabelledSum(labelOf(entry.key), entry.value));
      }
    }
    return out;
  }

  /** The labels of {@code task}'s classes, in label order. */
  List<String> labels(String task) {
    List<String> out = new ArrayList<>();
    try (KeyValueIterator<String, ClassSum> it =
        classes.prefixScan(prefix(task), PREFIX_SERIALIZER)) {
      while (it.hasNext()) {
        out.add(labelOf(it.next().key));
      }
    }
    return out;
  }

  /** The bookkeeping of {@code task}, null when the task does not exist. */
  TaskState task(String task) {
    return tasks.get(task);
  }

  /** The bookkeeping of {@code task}, {@link TaskState#NEW} when the task does not exist. */
  TaskState taskOrNew(String task) {
    TaskState state = tasks.get(task);
    return state == null ? TaskState.NEW : state;
  }

  void putTask(String task, TaskState state) {
    tasks.put(task, state);
  }

  /** How many tasks the store holds. */
  int taskCount() {
    int count = 0;
    try (KeyValueIterator<String, TaskState> it = tasks.all()) {
      while (it.hasNext()) {
        it.next();
        count++;
      }
    }
    return count;
  }

  /** Every task with its bookkeeping, in task order. */
  List<KeyValue<String, TaskState>> tasks() {
    List<KeyValue<String, TaskState>> out = new ArrayList<>();
    try (KeyValueIterator<String, TaskState> it = tasks.all()) {
      while (it.hasNext()) {
        out.add(it.next());
      }
    }
    return out;
  }

  void putPooled(String task, String slot, float[] feature) {
    pool.put(key(task, slot), feature);
  }

  /** The pooled query features of {@code task}, in slot order. */
  float[][] pooled(String task) {
    List<float[]> out = new ArrayList<>();
    try (KeyValueIterator<String, float[]> it = pool.prefixScan(prefix(task), PREFIX_SERIALIZER)) {
      while (it.hasNext()) {
        out.add(it.next().value);
      }
    }
    return out.toArray(float[][]::new);
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
}
