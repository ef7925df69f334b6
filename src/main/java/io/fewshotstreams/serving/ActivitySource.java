package io.fewshotstreams.serving;

import io.fewshotstreams.streaming.telemetry.RecentActivity;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What this instance did lately, for the dashboard: recent predictions and fine-tunes, dead letters
 * by reason, the prediction rate and the spread of confidences. Implementations are thread-safe.
 */
public interface ActivitySource {

  /** Recent predictions of this instance, newest first. */
  List<RecentActivity.RecentPrediction> predictions();

  /** Recent fine-tunes of this instance, newest first. */
  List<RecentActivity.FineTuneEvent> fineTunes();

  /** Dead letters this instance wrote since it started, by reason name. */
  Map<String, Long> deadLettersByReason();

  /** Predictions per second of this instance over the last 10 seconds. */
  double predictionsPerSecond();

  /**
   * Predictions by top probability in 10 bins of width 0.1, the first up to 0.1 and the last up to
   * 1.0, each counting the predictions above the previous bound.
   */
  List<ConfidenceBin> confidence();

  /**
   * The activity a service's {@link Telemetry} recorded. The prediction rate is the change of its
   * prediction count over the last 10 seconds, sampled at each call.
   */
  static ActivitySource of(Telemetry telemetry) {
    return new ActivitySource() {
      private final ArrayDeque<long[]> samples = new ArrayDeque<>(); // {nanoTime, count}

      @Override
      public List<RecentActivity.RecentPrediction> predictions() {
        return telemetry.activity().predictions();
      }

      @Override
      public List<RecentActivity.FineTuneEvent> fineTunes() {
        return telemetry.activity().fineTunes();
      }

      @Override
      public Map<String, Long> deadLettersByReason() {
        return telemetry.activity().deadLettersByReason();
      }

      @Override
      public synchronized double predictionsPerSecond() {
        long now = System.nanoTime();
        long count = telemetry.predictionsTotal();
        samples.addLast(new long[] {now, count});
        while (samples.size() > 1 && now - samples.peekFirst()[0] > WINDOW_NANOS) {
          samples.removeFirst();
        }
        long[] oldest = samples.peekFirst();
        double seconds = (now - oldest[0]) / 1e9;
        return seconds < 0.5 ? 0 : (count - oldest[1]) / seconds;
      }

      @Override
      public List<ConfidenceBin> confidence() {
        long[] bins = telemetry.confidenceBins();
        List<ConfidenceBin> out = new ArrayList<>(bins.length);
        for (int i = 0; i < bins.length; i++) {
          out.add(new ConfidenceBin((i + 1) / 10.0, bins[i]));
        }
        return out;
      }
    };
  }

  /** The window of {@link #predictionsPerSecond()}. */
  long WINDOW_NANOS = 10_000_000_000L;

  /** Activity that never happened: for an instance without telemetry. */
  static ActivitySource none() {
    return new ActivitySource() {
      @Override
      public List<RecentActivity.RecentPrediction> predictions() {
        return List.of();
      }

      @Override
      public List<RecentActivity.FineTuneEvent> fineTunes() {
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

  /** Predictions whose top probability lies above the previous bin's bound and up to {@code upTo}. */
  record ConfidenceBin(double upTo, long count) {}
}
