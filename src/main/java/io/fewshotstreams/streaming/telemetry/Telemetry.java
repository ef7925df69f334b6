package io.fewshotstreams.streaming.telemetry;

import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The service's metrics and recent activity. Meters are created once per tag combination and
 * cached, so recording on the hot path allocates no meter. One instance per registry: the gauges
 * are registered by the constructor.
 *
 * <p>Micrometer names (Prometheus names in docs/metrics.md): {@code fewshot.events{topic,outcome}},
 * {@code fewshot.dead.letters{reason,topic}}, {@code fewshot.embedding}, {@code
 * fewshot.query.latency}, {@code fewshot.end.to.end.latency}, {@code fewshot.predictions{method}},
 * {@code fewshot.prediction.confidence}, {@code fewshot.finetune{method}}, {@code
 * fewshot.finetunes{method,outcome}}, {@code fewshot.snapshots{method}}, {@code
 * fewshot.snapshot.version.max}, {@code fewshot.tasks}, {@code fewshot.classes}, {@code
 * fewshot.predictions.unknown{task}}.
 *
 * <p>Unknown answers are counted per task for the first {@value #MAX_UNKNOWN_TASKS} tasks that
 * give one on this instance; later tasks share the tag value {@value #OTHER_TASKS}, so a service
 * with many tasks cannot grow the number of series without bound.
 */
public final class Telemetry {
  /** Most distinct {@code task} tags of {@code fewshot.predictions.unknown}. */
  public static final int MAX_UNKNOWN_TASKS = 100;

  /** The {@code task} tag of the unknown answers of every task beyond the first ones. */
  public static final String OTHER_TASKS = "(other)";

  /** The input an event was read from: the {@code topic} tag of {@code fewshot.events}. */
  public enum Input {
    SUPPORT("support"),
    QUERIES("queries");

    private final String tag;

    Input(String tag) {
      this.tag = tag;
    }
  }

  /** What became of an event read: the {@code outcome} tag of {@code fewshot.events}. */
  public enum Outcome {
    OK("ok"),
    DEAD_LETTER("dead_letter");

    private final String tag;

    Outcome(String tag) {
      this.tag = tag;
    }
  }

  /** Bucket bounds of the confidence histogram, in percent: ten bins of width 10 up to 100. */
  private static final double[] CONFIDENCE_BUCKETS = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100};

  private final MeterRegistry registry;
  private final RecentActivity activity;
  private final RestoreGuard restoreGuard;

  private final Counter supportOk;
  private final Counter supportDead;
  private final Counter queriesOk;
  private final Counter queriesDead;
  private final Timer embedding;
  private final Timer queryLatency;
  private final Timer endToEndLatency;
  private final DistributionSummary confidence;
  private final Map<String, Counter> predictions = new ConcurrentHashMap<>();
  private final Map<String, Counter> snapshots = new ConcurrentHashMap<>();
  private final Map<String, Timer> fineTuneTimers = new ConcurrentHashMap<>();
  private final Map<String, Map<String, Counter>> fineTunes = new ConcurrentHashMap<>();
  private final Map<DeadLetterReason, Map<String, Counter>> deadLetters =
      new ConcurrentHashMap<>();
  private final Map<String, Counter> unknownByTask = new ConcurrentHashMap<>();
  private final Map<String, Integer> classesByTask = new ConcurrentHashMap<>();
  private final AtomicLong maxVersion = new AtomicLong();

  /**
   * Registers the service's meters in {@code registry}.
   *
   * @param recentPredictions how many recent predictions {@link #activity()} keeps (0: none)
   */
  public Telemetry(MeterRegistry registry, int recentPredictions) {
    this.registry = Objects.requireNonNull(registry, "registry");
    this.activity = new RecentActivity(recentPredictions);
    this.restoreGuard = new RestoreGuard(registry);
    supportOk = eventCounter(Input.SUPPORT, Outcome.OK);
    supportDead = eventCounter(Input.SUPPORT, Outcome.DEAD_LETTER);
    queriesOk = eventCounter(Input.QUERIES, Outcome.OK);
    queriesDead = eventCounter(Input.QUERIES, Outcome.DEAD_LETTER);
    embedding =
        Timer.builder("fewshot.embedding")
            .description("Time the backbone took to embed one image")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofNanos(100_000))
            .maximumExpectedValue(Duration.ofSeconds(10))
            .register(registry);
    queryLatency =
        Timer.builder("fewshot.query.latency")
            .description("Time from reading a query to its prediction, inside the service")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofNanos(100_000))
            .maximumExpectedValue(Duration.ofSeconds(10))
            .register(registry);
    endToEndLatency =
        Timer.builder("fewshot.end.to.end.latency")
            .description("Time from a query's record timestamp to its prediction")
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofMillis(1))
            .maximumExpectedValue(Duration.ofMinutes(10))
            .register(registry);
    confidence =
        DistributionSummary.builder("fewshot.prediction.confidence")
            .description("Probability of the predicted class, in percent")
            // Micrometer's fixed-boundary histograms count whole units: fractions all land in the
            // first bucket at or above 1, so the probability is recorded in percent.
            .scale(100)
            .serviceLevelObjectives(CONFIDENCE_BUCKETS)
            .register(registry);
    Gauge.builder("fewshot.tasks", classesByTask, Map::size)
        .description("Tasks with a model snapshot in the global store")
        .strongReference(true)
        .register(registry);
    Gauge.builder(
            "fewshot.classes",
            classesByTask,
            m -> m.values().stream().mapToInt(Integer::intValue).sum())
        .description("Classes over all tasks in the global store")
        .strongReference(true)
        .register(registry);
    Gauge.builder("fewshot.snapshot.version.max", maxVersion, AtomicLong::get)
        .description("Highest snapshot version this instance has seen")
        .strongReference(true)
        .register(registry);
  }

  /** The registry the meters live in. */
  public MeterRegistry registry() {
    return registry;
  }

  /** Predictions this instance has made since it started, all methods together. */
  public long predictionsTotal() {
    long total = 0;
    for (Counter c : predictions.values()) {
      total += (long) c.count();
    }
    return total;
  }

  /**
   * Predictions by top probability in ten bins of width 0.1 (the first up to 0.1, the last up to
   * 1.0), each counting the predictions above the previous bound and up to its own.
   */
  public long[] confidenceBins() {
    long[] bins = new long[CONFIDENCE_BUCKETS.length];
    long previous = 0;
    io.micrometer.core.instrument.distribution.CountAtBucket[] counts =
        confidence.takeSnapshot().histogramCounts();
    for (int i = 0; i < bins.length && i < counts.length; i++) {
      long cumulative = (long) counts[i].count();
      bins[i] = cumulative - previous;
      previous = cumulative;
    }
    return bins;
  }

  /** The restore listener that has a task restored again when a restore skipped records. */
  public RestoreGuard restoreGuard() {
    return restoreGuard;
  }

  /** Recent predictions, fine-tunes and dead letters of this instance. */
  public RecentActivity activity() {
    return activity;
  }

  private Counter eventCounter(Input input, Outcome outcome) {
    return Counter.builder("fewshot.events")
        .description("Events read, by input and by whether they were processed or dead-lettered")
        .tag("topic", input.tag)
        .tag("outcome", outcome.tag)
        .register(registry);
  }

  /** Counts an event read at intake from {@code input}, by what became of it. */
  public void event(Input input, Outcome outcome) {
    boolean ok = outcome == Outcome.OK;
    if (input == Input.SUPPORT) {
      (ok ? supportOk : supportDead).increment();
    } else {
      (ok ? queriesOk : queriesDead).increment();
    }
  }

  /** Times one call of the embedder. */
  public void embedded(long nanos) {
    embedding.record(nanos, TimeUnit.NANOSECONDS);
  }

  /**
   * Records a prediction: its latencies, method and confidence, and keeps it with the query's
   * image (if any and small enough) among the recent predictions.
   */
  public void predicted(Prediction prediction, Image image) {
    queryLatency.record((long) (prediction.latencyMs() * 1e6), TimeUnit.NANOSECONDS);
    long endToEnd = prediction.predictedAt() - prediction.queryTimestamp();
    // A producer clock ahead of ours gives a negative time, which says nothing.
    if (endToEnd >= 0) {
      endToEndLatency.record(endToEnd, TimeUnit.MILLISECONDS);
    }
    counter(predictions, prediction.method(), "fewshot.predictions", "Predictions by model method")
        .increment();
    confidence.record(prediction.probability());
    if (prediction.unknown()) {
      unknownCounter(prediction.task()).increment();
    }
    if (activity.keepsPredictions()) {
      boolean keep = image != null && image.dataUnsafe().length <= RecentActivity.MAX_IMAGE_BYTES;
      activity.prediction(
          new RecentActivity.RecentPrediction(
              prediction, keep ? image.contentType() : null, keep ? image.dataUnsafe() : null));
    }
  }

  /** Unknown answers this instance has given since it started, all tasks together. */
  public long unknownTotal() {
    long total = 0;
    for (Counter c : unknownByTask.values()) {
      total += (long) c.count();
    }
    return total;
  }

  private Counter unknownCounter(String task) {
    Counter counter = unknownByTask.get(task);
    if (counter != null) {
      return counter;
    }
    // Racing threads may both pass the size check; the bound is then exceeded by at most a few.
    String tag = unknownByTask.size() < MAX_UNKNOWN_TASKS ? task : OTHER_TASKS;
    Counter shared =
        Counter.builder("fewshot.predictions.unknown")
            .description(
                "Predictions answered unknown (open-set score below the task's threshold), by task")
            .tag("task", tag)
            .register(registry);
    return unknownByTask.computeIfAbsent(tag, t -> shared);
  }

  /** Counts a dead letter by its reason and source topic. */
  public void deadLetter(DeadLetterReason reason, String topic) {
    Map<String, Counter> byTopic = deadLetters.get(reason);
    if (byTopic == null) {
      byTopic = deadLetters.computeIfAbsent(reason, r -> new ConcurrentHashMap<>());
    }
    Counter counter = byTopic.get(topic);
    if (counter == null) {
      counter =
          byTopic.computeIfAbsent(
              topic,
              t ->
                  Counter.builder("fewshot.dead.letters")
                      .description("Dead letters written, by reason and source topic")
                      .tag("reason", reason.name())
                      .tag("topic", t)
                      .register(registry));
    }
    counter.increment();
    activity.deadLetter(reason.name());
  }

  /** Counts a snapshot published by a learner of this instance. */
  public void snapshotPublished(String method) {
    counter(snapshots, method, "fewshot.snapshots", "Model snapshots published, by method")
        .increment();
  }

  /** Records a finished fine-tune: its time, its outcome, and keeps it among the recent ones. */
  public void fineTuned(RecentActivity.FineTuneEvent event) {
    Timer timer = fineTuneTimers.get(event.method());
    if (timer == null) {
      timer =
          fineTuneTimers.computeIfAbsent(
              event.method(),
              m ->
                  Timer.builder("fewshot.finetune")
                      .description("Time a fine-tune ran, by method")
                      .tag("method", m)
                      .publishPercentileHistogram()
                      .minimumExpectedValue(Duration.ofMillis(1))
                      .maximumExpectedValue(Duration.ofMinutes(10))
                      .register(registry));
    }
    timer.record((long) (event.millis() * 1e6), TimeUnit.NANOSECONDS);
    fineTunes
        .computeIfAbsent(event.method(), m -> new ConcurrentHashMap<>())
        .computeIfAbsent(
            event.outcome().tag(),
            o ->
                Counter.builder("fewshot.finetunes")
                    .description("Fine-tunes finished, by method and outcome")
                    .tag("method", event.method())
                    .tag("outcome", o)
                    .register(registry))
        .increment();
    activity.fineTune(event);
  }

  /** Follows the global store: a snapshot was stored. */
  public void snapshotStored(ModelSnapshot snapshot) {
    classesByTask.put(snapshot.task(), snapshot.classes().size());
    maxVersion.accumulateAndGet(snapshot.version(), Math::max);
  }

  /** Follows the global store: a task's snapshot was deleted. */
  public void snapshotDeleted(String task) {
    classesByTask.remove(task);
  }

  private Counter counter(
      Map<String, Counter> cache, String method, String name, String description) {
    Counter counter = cache.get(method);
    if (counter == null) {
      counter =
          cache.computeIfAbsent(
              method,
              m ->
                  Counter.builder(name)
                      .description(description)
                      .tag("method", m)
                      .register(registry));
    }
    return counter;
  }
}
