package io.fewshotstreams.streaming.feedback;

import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.FeedbackEvent;
import io.fewshotstreams.events.Outcome;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.ReviewItem;
import io.fewshotstreams.streaming.BoundedMaps;
import io.fewshotstreams.streaming.DeadLetters;
import io.fewshotstreams.streaming.LearnerInput;
import io.fewshotstreams.streaming.Origin;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.feedback.FeedbackSerdes.Counts;
import io.fewshotstreams.streaming.feedback.FeedbackSerdes.Queued;
import io.fewshotstreams.streaming.telemetry.RestoreGuard;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The feedback room's one stateful stage, keyed by task. A prediction is kept (with its query's
 * unit feature) for {@code retentionMs} of wall clock, at most {@code maxRetainedPerTask} per task,
 * and goes to review when it is unknown or below the task's confidence threshold. A feedback event
 * is joined to the kept prediction of its query: an {@link Outcome} is emitted and counted in the
 * task's {@link LiveAccuracy}, and, when the feedback or the task's policy says so, the query
 * becomes a support example with id {@code feedback:<queryId>}, sent to the learner like a support
 * add (so replaying feedback adds nothing twice).
 *
 * <p>Feedback that cannot be joined is a dead letter: {@code UNKNOWN_QUERY} (never kept, or
 * forgotten), {@code PREDICTION_EXPIRED} (kept but past retention; its stub is remembered for
 * another retention period), {@code DUPLICATE_FEEDBACK} (its query already has an outcome; a
 * repeated promotion is still sent, and changes nothing), {@code UNKNOWN_CLASS} (a label the
 * answering model did not have, for an answer that was not open-set and is not promoted).
 */
final class FeedbackJoiner implements Processor<String, FeedbackInput, String, Routed> {
  static final String EXAMPLE_PREFIX = "feedback:";
  private static final char LIVE = 'L';
  private static final char EXPIRED = 'E';

  private final TaskSettings settings;
  private final DeadLetters deadLetters;
  private final RestoreGuard restoreGuard;
  private final FeedbackMetrics metrics;
  private ProcessorContext<String, Routed> context;
  private KeyValueStore<String, Retained> predictions;
  private KeyValueStore<String, Queued> order;
  private KeyValueStore<String, Counts> counts;
  private KeyValueStore<String, LiveAccuracy> accuracy;
  /**
   * Per task, the lowest seq each queue (live, expired) may still hold: where {@link #oldest}
   * starts. In memory, per stream task; absent (after a restart, or for a task forgotten beyond
   * {@link #TRACKED_TASKS}) it is 0, which costs one scan from the queue's start.
   */
  private final Map<String, long[]> lowWater =
      BoundedMaps.of(TRACKED_TASKS, true);
  static final int TRACKED_TASKS = 65_536;

  FeedbackJoiner(
      TaskSettings settings,
      DeadLetters deadLetters,
      FeedbackMetrics metrics,
      RestoreGuard restoreGuard) {
    this.settings = settings;
    this.deadLetters = deadLetters;
    this.metrics = metrics;
    this.restoreGuard = restoreGuard;
  }

  @Override
  public void init(ProcessorContext<String, Routed> context) {
    this.context = context;
    lowWater.clear();
    predictions = context.getStateStore(FeedbackStores.PREDICTIONS);
    order = context.getStateStore(FeedbackStores.ORDER);
    counts = context.getStateStore(FeedbackStores.COUNTS);
    accuracy = context.getStateStore(FeedbackStores.ACCURACY);
    // The gauges of the tasks this stream task owns come back with their restored state.
    try (KeyValueIterator<String, LiveAccuracy> it = accuracy.all()) {
      while (it.hasNext()) {
        KeyValue<String, LiveAccuracy> e = it.next();
        metrics.accuracy(e.key, e.value.all.accuracy(), e.value.windowTally().accuracy());
      }
    }
    long every = Math.max(1_000, Math.min(60_000, settings.retentionMs() / 4));
    context.schedule(
        Duration.ofMillis(every),
        PunctuationType.WALL_CLOCK_TIME,
        restoreGuard.guarded(context, FeedbackStores.NAMES, this::expire));
  }

  @Override
  public void process(Record<String, FeedbackInput> record) {
    restoreGuard.check(context, FeedbackStores.NAMES);
    if (record.value() instanceof FeedbackInput.Predicted predicted) {
      keep(record, predicted);
    } else {
      join(record, (FeedbackInput.Truth) record.value());
    }
  }

  private void keep(Record<String, FeedbackInput> record, FeedbackInput.Predicted predicted) {
    Prediction p = predicted.prediction();
    String task = p.task();
    long now = context.currentSystemTimeMs();
    Counts c = counts.get(task);
    if (c == null) {
      c = Counts.NONE;
    }
    long seq = c.nextSeq();
    predictions.put(key(task, p.queryId()), new Retained(p, predicted.feature(), now, seq, false));
    order.put(queueKey(task, LIVE, seq), new Queued(p.queryId(), now));
    c = new Counts(seq + 1, c.live() + 1, c.stubs());
    while (c.live() > settings.maxRetainedPerTask()) {
      c = expireOldest(task, c, now);
    }
    while (c.stubs() > settings.maxRetainedPerTask()) {
      c = forgetOldest(task, c);
    }
    counts.put(task, c);

    boolean unknown = OpenSet.unknown(p);
    double threshold = settings.reviewThreshold().of(task);
    if (unknown || p.probability() < threshold) {
      String reason = unknown ? ReviewItem.UNKNOWN : ReviewItem.LOW_CONFIDENCE;
      metrics.review(task, reason);
      context.forward(
          record
              .withKey(task)
              .withValue(
                  new Routed.ToReview(
                      new ReviewItem(
                          1,
                          task,
                          p.queryId(),
                          reason,
                          p.label(),
                          p.probability(),
                          threshold,
                          p.modelVersion(),
                          p.method(),
                          p.predictedAt()))));
    }
  }

  private void join(Record<String, FeedbackInput> record, FeedbackInput.Truth truth) {
    FeedbackEvent event = truth.event();
    String task = event.task();
    long now = context.currentSystemTimeMs();
    String key = key(task, event.queryId());
    Retained kept = predictions.get(key);
    if (kept == null) {
      deadLetter(
          record,
          truth,
          DeadLetterReason.UNKNOWN_QUERY,
          "expected a kept prediction of query '"
              + event.queryId()
              + "' in task '"
              + task
              + "', found none (never predicted, or forgotten after twice the retention)");
      return;
    }
    if (kept.expired() || now - kept.retainedAt() > settings.retentionMs()) {
      deadLetter(
          record,
          truth,
          DeadLetterReason.PREDICTION_EXPIRED,
          "expected feedback while its prediction is kept ("
              + settings.retentionMs()
              + " ms, at most "
              + settings.maxRetainedPerTask()
              + " per task), found it "
              + (now - kept.retainedAt())
              + " ms later"
              + (kept.expired() ? ", already expired" : ""));
      return;
    }
    Prediction p = kept.prediction();
    boolean known = p.probabilities().containsKey(event.label());
    boolean unknown = OpenSet.unknown(p);
    String result = Outcome.resultOf(p.label(), unknown, event.label(), known);
    boolean correct = result.equals(Outcome.CORRECT) || result.equals(Outcome.TRUE_UNKNOWN);
    boolean promote =
        event.promoted()
            || (settings.promotePolicy().of(task) == TaskSettings.PromotePolicy.WRONG
                && (!correct || unknown));
    if (kept.answered()) {
      if (event.promoted()) {
        promote(record, truth, kept);
      }
      deadLetter(
          record,
          truth,
          DeadLetterReason.DUPLICATE_FEEDBACK,
          "expected one feedback for query '"
              + event.queryId()
              + "', found another; the first one counted"
              + (event.promoted()
                  ? " (its promotion is sent again, with the same example id)"
                  : ""));
      return;
    }
    if (!known && !OpenSet.openSet(p) && !promote) {
      deadLetter(
          record,
          truth,
          DeadLetterReason.UNKNOWN_CLASS,
          "expected a label among the classes "
              + p.probabilities().keySet()
              + " of the model that answered (or promote true to create the class), found '"
              + event.label()
              + "'");
      return;
    }
    long feedbackAt = truth.origin().timestamp();
    Outcome outcome =
        new Outcome(
            1,
            task,
            event.queryId(),
            p.label(),
            p.probability(),
            unknown,
            event.label(),
            known,
            result,
            correct,
            p.modelVersion(),
            p.method(),
            p.predictedAt(),
            feedbackAt,
            Math.max(0, feedbackAt - p.predictedAt()),
            promote);
    predictions.put(key, kept.answer());
    LiveAccuracy live = accuracy.get(task);
    if (live == null) {
      live = new LiveAccuracy();
    }
    live.add(outcome, settings.windowOutcomes());
    accuracy.put(task, live);
    metrics.outcome(outcome, live.all.accuracy(), live.windowTally().accuracy());
    context.forward(record.withKey(task).withValue(new Routed.ToOutcomes(outcome)));
    if (promote) {
      promote(record, truth, kept);
    }
  }

  private void promote(
      Record<String, FeedbackInput> record, FeedbackInput.Truth truth, Retained kept) {
    FeedbackEvent event = truth.event();
    context.forward(
        record
            .withKey(event.task())
            .withValue(
                new Routed.ToLearner(
                    new LearnerInput.Add(
                        event.task(),
                        event.label(),
                        EXAMPLE_PREFIX + event.queryId(),
                        kept.feature(),
                        truth.origin()))));
  }

  private void deadLetter(
      Record<String, FeedbackInput> record,
      FeedbackInput.Truth truth,
      DeadLetterReason reason,
      String message) {
    Origin origin = truth.origin();
    context.forward(
        record
            .withKey(truth.task())
            .withValue(
                new Routed.ToDeadLetters(
                    deadLetters.of(
                        reason,
                        message,
                        origin,
                        null,
                        truth.task(),
                        truth.event().queryId(),
                        context.currentSystemTimeMs()))));
  }

  /** Wall-clock punctuation: expires what outlived the retention, forgets old stubs. */
  private void expire(long now) {
    List<String> tasks = new ArrayList<>();
    try (KeyValueIterator<String, Counts> it = counts.all()) {
      while (it.hasNext()) {
        tasks.add(it.next().key);
      }
    }
    for (String task : tasks) {
      Counts c = counts.get(task);
      Counts before = c;
      while (c.live() > 0 && olderThan(task, LIVE, now)) {
        c = expireOldest(task, c, now);
      }
      while (c.stubs() > 0 && olderThan(task, EXPIRED, now)) {
        c = forgetOldest(task, c);
      }
      if (!c.equals(before)) {
        counts.put(task, c);
      }
    }
  }

  private boolean olderThan(String task, char queue, long now) {
    KeyValue<String, Queued> first = oldest(task, queue);
    return first != null && now - first.value.at() > settings.retentionMs();
  }

  /** Turns the oldest live prediction of {@code task} into a stub. */
  private Counts expireOldest(String task, Counts c, long now) {
    KeyValue<String, Queued> first = oldest(task, LIVE);
    if (first == null) {
      return new Counts(c.nextSeq(), 0, c.stubs());
    }
    takeOldest(task, LIVE, first.key);
    String key = key(task, first.value.queryId());
    Retained kept = predictions.get(key);
    if (kept == null || kept.expired() || kept.seq() != seqOf(first.key)) {
      // A query id seen again replaced this entry; the newer one keeps its own place.
      return new Counts(c.nextSeq(), c.live() - 1, c.stubs());
    }
    predictions.put(key, kept.stub());
    order.put(queueKey(task, EXPIRED, kept.seq()), new Queued(first.value.queryId(), now));
    return new Counts(c.nextSeq(), c.live() - 1, c.stubs() + 1);
  }

  /** Forgets the oldest stub of {@code task}: later feedback for it is an unknown query. */
  private Counts forgetOldest(String task, Counts c) {
    KeyValue<String, Queued> first = oldest(task, EXPIRED);
    if (first == null) {
      return new Counts(c.nextSeq(), c.live(), 0);
    }
    takeOldest(task, EXPIRED, first.key);
    String key = key(task, first.value.queryId());
    Retained kept = predictions.get(key);
    if (kept != null && kept.expired() && kept.seq() == seqOf(first.key)) {
      predictions.delete(key);
    }
    return new Counts(c.nextSeq(), c.live(), c.stubs() - 1);
  }

  /**
   * The oldest entry of a queue. The queues are taken from the front only, so the search starts at
   * the low-water mark (just after the last entry taken): from the queue's first key a scan would
   * step over every entry deleted since the store last compacted, a cost growing with the traffic
   * (the query path's stalls of about a second, every few seconds, at 900 queries/s on one task).
   */
  private KeyValue<String, Queued> oldest(String task, char queue) {
    long[] from = lowWater.computeIfAbsent(task, t -> new long[2]);
    int q = queue == LIVE ? 0 : 1;
    // The live queue holds consecutive seqs and the expired one nearly so (a query id seen again
    // leaves a gap), so the entry at the low-water mark is nearly always there: one get, no
    // iterator (opening one per kept prediction cost about 3% of the stream thread at saturation).
    String at = queueKey(task, queue, from[q]);
    Queued direct = order.get(at);
    if (direct != null) {
      return KeyValue.pair(at, direct);
    }
    try (KeyValueIterator<String, Queued> it =
        order.range(queueKey(task, queue, from[q]), queueKey(task, queue, Long.MAX_VALUE))) {
      if (!it.hasNext()) {
        return null;
      }
      KeyValue<String, Queued> first = it.next();
      from[q] = seqOf(first.key);
      return first;
    }
  }

  /** Deletes the oldest entry of a queue, found by {@link #oldest}: the queue now starts after. */
  private void takeOldest(String task, char queue, String queueKey) {
    order.delete(queueKey);
    long[] from = lowWater.get(task);
    if (from != null) {
      from[queue == LIVE ? 0 : 1] = seqOf(queueKey) + 1;
    }
  }

  static String key(String task, String queryId) {
    return task + '\0' + queryId;
  }

  private static String queueKey(String task, char queue, long seq) {
    return task + '\0' + queue + '\0' + String.format("%019d", seq);
  }

  private static long seqOf(String queueKey) {
    return Long.parseLong(queueKey.substring(queueKey.lastIndexOf('\0') + 1));
  }
}
