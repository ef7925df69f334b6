package io.fewshotstreams.streaming.telemetry;

import io.fewshotstreams.events.Prediction;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What an instance did lately, for people watching it: its recent predictions, its recent
 * fine-tunes and its dead letters by reason. Thread-safe; the lists are bounded rings, newest first,
 * and every accessor returns a copy.
 */
public final class RecentActivity {
  /** Fine-tunes kept. */
  public static final int FINE_TUNES = 50;
  /** Largest image kept with a recent prediction; a larger one is left out. */
  public static final int MAX_IMAGE_BYTES = 64 * 1024;

  private final int maxPredictions;
  private final Deque<RecentPrediction> predictions = new ArrayDeque<>();
  private final Deque<FineTuneEvent> fineTunes = new ArrayDeque<>();
  private final Map<String, LongAdder> deadLetters = new ConcurrentHashMap<>();

  /** Keeps up to {@code maxPredictions} predictions (0 keeps none). */
  RecentActivity(int maxPredictions) {
    if (maxPredictions < 0) {
      throw new IllegalArgumentException(
          "expected a number of recent predictions >= 0, found " + maxPredictions);
    }
    this.maxPredictions = maxPredictions;
  }

  /** The latest predictions of this instance, newest first. */
  public List<RecentPrediction> predictions() {
    synchronized (predictions) {
      return List.copyOf(predictions);
    }
  }

  /** The latest fine-tunes finished on this instance, newest first, up to {@value #FINE_TUNES}. */
  public List<FineTuneEvent> fineTunes() {
    synchronized (fineTunes) {
      return List.copyOf(fineTunes);
    }
  }

  /** Dead letters written by this instance since it started, by reason name, in name order. */
  public Map<String, Long> deadLettersByReason() {
    Map<String, Long> out = new TreeMap<>();
    deadLetters.forEach((reason, count) -> out.put(reason, count.sum()));
    return out;
  }

  /** Whether predictions are kept at all, so callers can skip preparing them. */
  boolean keepsPredictions() {
    return maxPredictions > 0;
  }

  void prediction(RecentPrediction prediction) {
    if (maxPredictions == 0) {
      return;
    }
    synchronized (predictions) {
      predictions.addFirst(prediction);
      if (predictions.size() > maxPredictions) {
        predictions.removeLast();
      }
    }
  }

  void fineTune(FineTuneEvent event) {
    synchronized (fineTunes) {
      fineTunes.addFirst(event);
      if (fineTunes.size() > FINE_TUNES) {
        fineTunes.removeLast();
      }
    }
  }

  void deadLetter(String reason) {
    deadLetters.computeIfAbsent(reason, r -> new LongAdder()).increment();
  }

  /**
   * A prediction with the image it answered.
   *
   * @param imageContentType {@code image/png} or {@code image/jpeg}; null when {@code image} is
   * @param image the query's encoded image; null for a query that carried an embedding, or an
   *     image over {@value RecentActivity#MAX_IMAGE_BYTES} bytes
   */
  public record RecentPrediction(Prediction prediction, String imageContentType, byte[] image) {
    public RecentPrediction {
      Objects.requireNonNull(prediction, "prediction");
      if ((imageContentType == null) != (image == null)) {
        throw new IllegalArgumentException(
            "expected an image with its content type or neither, found "
                + (image == null ? "a content type only" : "an image without content type"));
      }
      image = image == null ? null : image.clone();
    }

    @Override
    public byte[] image() {
      return image == null ? null : image.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof RecentPrediction other
          && prediction.equals(other.prediction)
          && Objects.equals(imageContentType, other.imageContentType)
          && Arrays.equals(image, other.image);
    }

    @Override
    public int hashCode() {
      return Objects.hash(prediction, imageContentType, Arrays.hashCode(image));
    }

    @Override
    public String toString() {
      return "RecentPrediction["
          + prediction
          + ", "
          + (image == null ? "no image" : imageContentType + " " + image.length + " bytes")
          + "]";
    }
  }

  /**
   * A finished fine-tune.
   *
   * @param task the task
   * @param version the snapshot version it was published as when installed; else the task's
   *     version when it was dropped
   * @param method {@code inductive} or {@code transductive}
   * @param millis how long the fine-tuning ran
   * @param initialLoss the objective at the prototypes; null when it failed
   * @param finalLoss the objective at the fine-tuned weights; null when it failed
   * @param supportExamples support examples it trained on
   * @param poolQueries unlabelled queries it used (transductive), else 0
   * @param at when it finished being handled, epoch milliseconds
   * @param outcome what became of it: installed, stale (the support changed while it ran, so it
   *     was dropped) or failed
   */
  public record FineTuneEvent(
      String task,
      long version,
      String method,
      double millis,
      Double initialLoss,
      Double finalLoss,
      int supportExamples,
      int poolQueries,
      long at,
      FineTuneOutcome outcome) {

    public FineTuneEvent {
      Objects.requireNonNull(task, "task");
      Objects.requireNonNull(method, "method");
      Objects.requireNonNull(outcome, "outcome");
    }
  }
}
