package io.fewshotstreams.streaming.feedback;

import io.fewshotstreams.events.Prediction;

/**
 * How the feedback room reads a prediction's open-set answer. The one place that knows it: today
 * predictions always name a class, so no answer is unknown and none is open-set. Once predictions
 * carry an optional {@code accepted} flag, {@link #openSet} is "the flag is present" and {@link
 * #unknown} is "the flag is false"; nothing else in the room changes.
 */
final class OpenSet {
  private OpenSet() {}

  /** Whether the model that answered could answer "unknown" (an open-set answer). */
  static boolean openSet(Prediction prediction) {
    return false;
  }

  /** Whether the prediction answered "unknown": no class of the model. */
  static boolean unknown(Prediction prediction) {
    return false;
  }
}
