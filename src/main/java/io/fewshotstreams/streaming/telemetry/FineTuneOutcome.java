package io.fewshotstreams.streaming.telemetry;

/**
 * What became of a finished fine-tune. {@link #tag()} is its name in the {@code outcome} tag of
 * {@code fewshot.finetunes} and in the dashboard's JSON.
 */
public enum FineTuneOutcome {
  /** Published as the task's new snapshot. */
  INSTALLED("installed"),
  /** Dropped: the task's support changed while it ran; the next round tunes again. */
  STALE("stale"),
  /** The fine-tuning threw; the task's snapshot stays (and examples held for it are published). */
  FAILED("failed");

  private final String tag;

  FineTuneOutcome(String tag) {
    this.tag = tag;
  }

  /** The lower-case name used in metrics and JSON. */
  public String tag() {
    return tag;
  }

  /**
   * The outcome whose {@link #tag()} is {@code tag}.
   *
   * @throws IllegalArgumentException for any other string
   */
  public static FineTuneOutcome ofTag(String tag) {
    for (FineTuneOutcome outcome : values()) {
      if (outcome.tag.equals(tag)) {
        return outcome;
      }
    }
    throw new IllegalArgumentException(
        "expected an outcome among [installed, stale, failed], found '" + tag + "'");
  }
}
