package io.fewshotstreams.streaming.feedback;

import io.fewshotstreams.events.Prediction;

/**
 * How the feedback room reads a prediction's open-set answer, in one place: a prediction answered
 * by a snapshot with an open-set threshold carries {@code accepted}, and {@code accepted == false}
 * is the answer "unknown" (its {@code label} is then only the nearest registered class).
 */
final class OpenSet {
  private OpenSet() {}

  /** Whether the model that answered could answer "unknown" (an open-set answer). */
  static boolean openSet(Prediction prediction) {
    return prediction.accepted() != null;
  }

  /** Whether the prediction answered "unknown": no class of the model. */
  static boolean unknown(Prediction prediction) {
    return prediction.unknown();
  }
}
