package io.fewshotstreams.serving;

import io.fewshotstreams.events.Prediction;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What this instance did lately, for the dashboard: recent predictions and fine-tunes, dead letters
 * by reason, the prediction rate and the spread of confidences. Implementations are thread-safe.
 */
public interface ActivitySource {

  /** Recent predictions of this instance, newest first. */
  List<RecentPrediction> predictions();

  /** Recent fine-tunes of this instance, newest first. */
  List<FineTune> fineTunes();

  /** Dead letters this instance wrote since it started, by reason name. */
  Map<String, Long> deadLettersByReason();

  /** Predictions per second of this instance over the last 10 seconds. */
  double predictionsPerSecond();

  /**
   * Predictions by top probability in 10 bins of width 0.1, the first up to 0.1 and the last up to
   * 1.0, each counting the predictions above the previous bound.
   */
  List<ConfidenceBin> confidence();

  /** Activity that never happened: for an instance without telemetry. */
  static ActivitySource none() {
    return new ActivitySource() {
      @Override
      public List<RecentPrediction> predictions() {
        return List.of();
      }

      @Override
      public List<FineTune> fineTunes() {
        return List.of();
      }

      @Override
      public Map<String, Long> deadLettersByReason() {
        return Map.of();
      }

      @Override
      public double predictionsPerSecond() {
        return 0;
      }

      @Override
      public List<ConfidenceBin> confidence() {
        return List.of();
      }
    };
  }

  /**
   * One prediction and the image it was made for.
   *
   * @param imageContentType media type of {@code image}, null when there is none
   * @param image the query's encoded image; null for a query with an embedding or a large image
   */
  record RecentPrediction(Prediction prediction, String imageContentType, byte[] image) {
    public RecentPrediction {
      Objects.requireNonNull(prediction, "prediction");
      image = image == null ? null : image.clone();
    }

    @Override
    public byte[] image() {
      return image == null ? null : image.clone();
    }
  }

  /**
   * One fine-tune of a task.
   *
   * @param method {@code inductive} or {@code transductive}
   * @param finalLoss the training loss at the end, null when unknown
   * @param outcome {@code installed}, {@code stale} or {@code failed}
   * @param at when it ended, epoch milliseconds
   */
  record FineTune(
      String task,
      long version,
      String method,
      double millis,
      Double finalLoss,
      String outcome,
      long at) {
    public FineTune {
      Objects.requireNonNull(task, "task");
      Objects.requireNonNull(method, "method");
      Objects.requireNonNull(outcome, "outcome");
    }
  }

  /** Predictions whose top probability lies above the previous bin's bound and up to {@code upTo}. */
  record ConfidenceBin(double upTo, long count) {}
}
