package io.fewshotstreams.streaming.learner;

/**
 * Per-task bookkeeping of the learner.
 *
 * @param version version of the last snapshot published for the task
 * @param supportChanges count of support changes ever applied
 * @param poolAdds count of query embeddings ever added to the pool
 * @param poolCount how many pool slots hold an embedding
 * @param tunedSupportChanges {@code supportChanges} at the last fine-tune (or decision not to)
 * @param tunedPoolAdds {@code poolAdds} at the last fine-tune
 */
public record TaskState(
    long version,
    long supportChanges,
    long poolAdds,
    int poolCount,
    long tunedSupportChanges,
    long tunedPoolAdds) {

  /** A task with no history. */
  public static final TaskState NEW = new TaskState(0, 0, 0, 0, 0, 0);

  TaskState supportChanged(long newVersion) {
    return new TaskState(
        newVersion, supportChanges + 1, poolAdds, poolCount, tunedSupportChanges, tunedPoolAdds);
  }

  TaskState pooled(int poolSize) {
    return new TaskState(
        version,
        supportChanges,
        poolAdds + 1,
        Math.min(poolCount + 1, poolSize),
        tunedSupportChanges,
        tunedPoolAdds);
  }

  /** Next pool slot to write: the pool is a ring over {@code poolSize} slots. */
  int nextPoolSlot(int poolSize) {
    return (int) (poolAdds % poolSize);
  }

  /**
   * Whether the task should be fine-tuned: its support changed, or the pool took in at least half
   * as many new queries as it now holds, since the last fine-tune. A filling pool so triggers often
   * (each new query weighs much), a full one every half turn of its ring.
   */
  public boolean needsFineTune() {
    return supportChanges != tunedSupportChanges
        || poolAdds - tunedPoolAdds >= Math.max(1, poolCount / 2);
  }

  TaskState tuned(long newVersion, long atSupportChanges, long atPoolAdds) {
    return new TaskState(
        newVersion, supportChanges, poolAdds, poolCount, atSupportChanges, atPoolAdds);
  }
}
