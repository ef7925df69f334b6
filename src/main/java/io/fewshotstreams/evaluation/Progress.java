package io.fewshotstreams.evaluation;

/** Receives progress of long offline runs. */
@FunctionalInterface
public interface Progress {
  /** Silent. */
  Progress NONE = (stage, done, total) -> {};

  /** {@code done} of {@code total} units of {@code stage} are finished. */
  void update(String stage, int done, int total);
}
