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
 * @param publishedSupportChanges the {@code supportChanges} the last snapshot published reflects:
 *     the changes after it were held (new examples of a fine-tuned snapshot's classes, see {@link
 *     #held}) or came while its fine-tune ran
 * @param fineTuned whether the last snapshot published is fine-tuned
 */
public record TaskState(
    long version,
    long supportChanges,
    long poolAdds,
    int poolCount,
    long tunedSupportChanges,
    long tunedPoolAdds,
    long publishedSupportChanges,
    boolean fineTuned) {

  /** A task with no history. */
  public static final TaskState NEW = new TaskState(0, 0, 0, 0, 0, 0, 0, false);

  /** A support change published as prototype snapshot {@code newVersion}. */
  TaskState supportChanged(long newVersion) {
    return new TaskState(
        newVersion,
        supportChanges + 1,
        poolAdds,
        poolCount,
        tunedSupportChanges,
        tunedPoolAdds,
        supportChanges + 1,
        false);
  }

  /** Prototypes of the support as it is published as snapshot {@code newVersion}. */
  TaskState prototypesPublished(long newVersion) {
    return new TaskState(
        newVersion,
        supportChanges,
        poolAdds,
        poolCount,
        tunedSupportChanges,
        tunedPoolAdds,
        supportChanges,
        false);
  }

  /** Whether the snapshot answering is fine-tuned and support changes wait for its next fine-tune. */
  boolean holdsChanges() {
    return fineTuned && supportChanges > publishedSupportChanges;
  }

  /**
   * A support change held back: the fine-tuned snapshot keeps answering, and the next fine-tune
   * takes the change in.
   */
  TaskState held() {
    return new TaskState(
        version,
        supportChanges + 1,
        poolAdds,
        poolCount,
        tunedSupportChanges,
        tunedPoolAdds,
        publishedSupportChanges,
        fineTuned);
  }

  TaskState pooled(int poolSize) {
    return new TaskState(
        version,
        supportChanges,
        poolAdds + 1,
        Math.min(poolCount + 1, poolSize),
        tunedSupportChanges,
        tunedPoolAdds,
        publishedSupportChanges,
        fineTuned);
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

  /**
   * Whether a fine-tune of the support set after {@code atSupportChanges} changes may replace the
   * task's snapshot: it saw at least what that snapshot reflects, so no prototype snapshot was
   * published since it started. The changes after it, if any, were held, and the next fine-tune
   * takes them in.
   */
  boolean installable(long atSupportChanges) {
    return atSupportChanges >= publishedSupportChanges;
  }

  /** Tuned (or given up) at these counts, the snapshot unchanged. */
  TaskState tuned(long atSupportChanges, long atPoolAdds) {
    return tunedAt(version, atSupportChanges, atPoolAdds, false);
  }

  /** Tuned at these counts and published as fine-tuned snapshot {@code newVersion}. */
  TaskState installed(long newVersion, long atSupportChanges, long atPoolAdds) {
    return tunedAt(newVersion, atSupportChanges, atPoolAdds, true);
  }

  private TaskState tunedAt(
      long newVersion, long atSupportChanges, long atPoolAdds, boolean installed) {
    return new TaskState(
        newVersion,
        supportChanges,
        poolAdds,
        poolCount,
        atSupportChanges,
        atPoolAdds,
        installed ? atSupportChanges : publishedSupportChanges,
        installed || fineTuned);
  }
}
