package io.fewshotstreams.streaming.feedback;

import io.fewshotstreams.events.Prediction;

/**
 * A kept prediction in {@link FeedbackStores#PREDICTIONS}: the prediction and its query's unit
 * feature while live; once expired only a stub (no prediction, no feature) that tells late
 * feedback apart from feedback for a query never seen.
 *
 * @param prediction the prediction, null in a stub
 * @param feature the query's unit feature, null in a stub
 * @param retainedAt when it was kept, wall clock epoch milliseconds
 * @param seq its place in the task's order (see {@link FeedbackStores#ORDER})
 * @param answered whether a feedback already counted
 */
record Retained(
    Prediction prediction, float[] feature, long retainedAt, long seq, boolean answered) {

  boolean expired() {
    return prediction == null;
  }

  Retained answer() {
    return new Retained(prediction, feature, retainedAt, seq, true);
  }

  Retained stub() {
    return new Retained(null, null, retainedAt, seq, answered);
  }
}
