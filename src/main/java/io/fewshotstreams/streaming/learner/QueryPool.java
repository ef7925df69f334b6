package io.fewshotstreams.streaming.learner;

/**
 * Each task's ring of recent query features, the unlabelled data of transductive fine-tuning: the
 * newest query overwrites the oldest once {@code size} slots are full.
 */
final class QueryPool {
  private final LearnerStores stores;
  private final int size;

  /** A pool of {@code size} slots per task; 0 keeps none. */
  QueryPool(LearnerStores stores, int size) {
    this.stores = stores;
    this.size = size;
  }

  /** Adds a query feature to its task's ring. */
  void add(String task, float[] feature) {
    if (size == 0) {
      return;
    }
    TaskState state = stores.taskOrNew(task);
    stores.putPooled(task, slot(state.nextPoolSlot(size)), feature);
    stores.putTask(task, state.pooled(size));
  }

  /** The pooled features of {@code task}. */
  float[][] of(String task) {
    return stores.pooled(task);
  }

  /** Slots as fixed-width numbers, so a task's slots sort in order. */
  private static String slot(int index) {
    return String.format("%06d", index);
  }
}
