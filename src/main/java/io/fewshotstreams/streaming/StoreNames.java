package io.fewshotstreams.streaming;

/**
 * The names of the topology's state stores and internal topic, in one place that imports nothing,
 * so that each stage names its stores without depending on the topology that creates them.
 */
public final class StoreNames {
  /** Global store: task to its latest model snapshot, on every instance. */
  public static final String SNAPSHOTS = "fewshot-model-snapshots";
  /** Learner store: task NUL example id to the example's class and feature. */
  public static final String EXAMPLES = "fewshot-examples";
  /** Learner store: task NUL label to the class's feature sum and count. */
  public static final String CLASSES = "fewshot-classes";
  /** Learner store: task to its bookkeeping (snapshot version, changes, pool ring position). */
  public static final String TASKS = "fewshot-tasks";
  /** Learner store: task NUL slot to a recent query feature. */
  public static final String POOL = "fewshot-query-pool";
  /** Query path store: input offset to a query waiting for its image batch. */
  public static final String PENDING_QUERIES = "fewshot-pending-queries";
  /** Name of the repartition topic (prefixed by the application id, suffixed -repartition). */
  public static final String LEARNER_INPUT = "fewshot-learner-input";

  private StoreNames() {}
}
