package io.fewshotstreams.streaming;

import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Outcome;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.ReviewItem;

/**
 * What a processor of the topology emits, tagged with where it goes: the topology routes each kind
 * to its topic. Values of this type never leave the sub-topology, so they need no serde.
 */
public sealed interface Routed {

  record ToLearner(LearnerInput input) implements Routed {}

  record ToPredictions(Prediction prediction) implements Routed {}

  record ToModels(ModelSnapshot snapshot) implements Routed {}

  record ToDeadLetters(DeadLetter deadLetter) implements Routed {}

  /** A prediction with the query's unit feature, for the feedback room to keep. */
  record ToFeedback(Prediction prediction, float[] feature) implements Routed {}

  record ToOutcomes(Outcome outcome) implements Routed {}

  record ToReview(ReviewItem item) implements Routed {}
}
