package io.fewshotstreams.streaming.feedback;

import io.fewshotstreams.events.FeedbackEvent;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.Origin;
import java.util.Objects;

/**
 * What the feedback joiner receives, keyed by task, through the {@code fewshot-feedback-input}
 * repartition topic: the predictions of the query path, each with its query's unit feature, and
 * the feedback events, already read and validated.
 */
sealed interface FeedbackInput {

  String task();

  /** A prediction to keep for its feedback. */
  record Predicted(Prediction prediction, float[] feature) implements FeedbackInput {
    public Predicted {
      Objects.requireNonNull(prediction, "prediction");
      Objects.requireNonNull(feature, "feature");
    }

    @Override
    public String task() {
      return prediction.task();
    }
  }

  /** A feedback event and where it came from. */
  record Truth(FeedbackEvent event, Origin origin) implements FeedbackInput {
    public Truth {
      Objects.requireNonNull(event, "event");
      Objects.requireNonNull(origin, "origin");
    }

    @Override
    public String task() {
      return event.task();
    }
  }
}
