package io.fewshotstreams.events;

/** Why a record went to the dead-letter topic. */
public enum DeadLetterReason {
  /** The value is not JSON. */
  INVALID_JSON,
  /** JSON that does not follow the topic's schema. */
  SCHEMA_VIOLATION,
  /** The record is larger than the service accepts. */
  RECORD_TOO_LARGE,
  /** The image is empty, too large, not PNG/JPEG, or damaged. */
  INVALID_IMAGE,
  /** A precomputed embedding of the wrong length, or holding NaN or infinity, or all zeros. */
  INVALID_EMBEDDING,
  /** A query for a task that has no classes (never had any, or all were deleted). */
  UNKNOWN_TASK,
  /** A remove-example event for an example the task does not hold. */
  UNKNOWN_EXAMPLE,
  /**
   * A delete-class event for a class the task does not have; or feedback whose label is not a class
   * of the model that answered, for a prediction that was not open-set and is not promoted.
   */
  UNKNOWN_CLASS,
  /** An add-example event for a class that already holds the most examples allowed. */
  CLASS_FULL,
  /** An add-example event for a new class of a task that already has the most classes allowed. */
  TASK_FULL,
  /** An add-example event for a new task on an instance that already holds the most tasks allowed. */
  TOO_MANY_TASKS,
  /** The task's model was made with another backbone than the one this service runs. */
  MODEL_MISMATCH,
  /** Feedback for a query id whose prediction the service never kept (or forgot long ago). */
  UNKNOWN_QUERY,
  /** Feedback after its prediction's retention ({@code fewshot.feedback.retention.ms}). */
  PREDICTION_EXPIRED,
  /** A second feedback for the same query; the first one counted. */
  DUPLICATE_FEEDBACK,
  /** An unexpected failure while processing the record; the message has the details. */
  INTERNAL_ERROR
}
