package io.fewshotstreams.streaming.feedback;

/**
 * The feedback room's state stores, all changelogged and keyed by task (a key starts with the task
 * and NUL when a task has several entries), so one stream task owns every write of a task.
 */
public final class FeedbackStores {
  /** Task NUL query id to its {@link Retained} prediction (or the stub of an expired one). */
  public static final String PREDICTIONS = "fewshot-feedback-predictions";
  /**
   * Task NUL {@code L} (live) or {@code E} (expired) NUL sequence number to the query id and the
   * time it was kept or expired: each task's queues in age order, for retention and the bound.
   */
  public static final String ORDER = "fewshot-feedback-order";
  /** Task to its next sequence number and how many entries each queue holds. */
  public static final String COUNTS = "fewshot-feedback-counts";
  /** Task to its {@link LiveAccuracy}. */
  public static final String ACCURACY = "fewshot-feedback-accuracy";
  /** The four stores above, in the order the joiner is wired to them. */
  static final String[] NAMES = {PREDICTIONS, ORDER, COUNTS, ACCURACY};

  /** Name of the repartition topic (prefixed by the application id, suffixed -repartition). */
  public static final String INPUT = "fewshot-feedback-input";

  private FeedbackStores() {}
}
