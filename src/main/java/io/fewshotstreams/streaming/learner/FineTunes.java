package io.fewshotstreams.streaming.learner;

import io.fewshotstreams.fewshot.FewShotMethod;
import io.fewshotstreams.fewshot.FineTuneResult;
import io.fewshotstreams.fewshot.MethodName;
import io.fewshotstreams.fewshot.OpenSetClassifier;
import io.fewshotstreams.fewshot.OpenSetMethod;
import io.fewshotstreams.fewshot.OpenSetThreshold;
import io.fewshotstreams.fewshot.RobustConfig;
import io.fewshotstreams.fewshot.RobustTransduction;
import io.fewshotstreams.fewshot.Methods;
import io.fewshotstreams.fewshot.SupportSet;
import io.fewshotstreams.streaming.telemetry.FineTuneOutcome;
import io.fewshotstreams.streaming.telemetry.RecentActivity;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.LongSupplier;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fine-tuning of one incarnation of a learner: {@link #startDue} submits a fine-tune for every
 * task whose data changed to the {@link FineTuneScheduler}'s threads, and {@link #installFinished},
 * on the stream thread, installs and publishes those over which no prototype snapshot went out in
 * the meantime.
 *
 * <p>Kafka Streams re-initialises the same processor after closing a task (a corrupted task is
 * closed dirty and revived), so the learner makes a new {@code FineTunes} at every {@code init} and
 * closes the old one: the results of jobs of a closed one, running or still queued, are dropped,
 * and its in-flight set goes with it, so the new incarnation starts with nothing in flight.
 *
 * <p>A task that cannot be fine-tuned (its examples do not make a support set, it is too big for
 * the {@link FineTuneBudget}, or the fine-tuning throws, even an {@code Error}) is logged, counted
 * as a failed fine-tune, and marked tuned at its current data: it is tried again only once its data
 * changes, never in a loop, and the stream thread carries on.
 *
 * <p>An {@link OpenSetMethod} (the default, {@code robust}) is fitted through {@link
 * OpenSetMethod#fitOpenSet} and gives its own centres and threshold; the other fine-tuning methods
 * keep the support prototypes as centres and the support-only threshold of {@link
 * OpenSetThreshold}, the same the prototype snapshot carries.
 */
final class FineTunes {
  private static final Logger log = LoggerFactory.getLogger(FineTunes.class);

  /** The fine-tuning itself, {@link Methods#fineTune} but for tests. */
  @FunctionalInterface
  interface Tuner {
    FineTuneResult tune(String method, SupportSet support, float[][] unlabelled);
  }

  private final MethodName configuredMethod;
  private final RobustConfig robust;
  private final FineTuneBudget budget;
  private final Tuner tuner;
  private final FineTuneScheduler scheduler;
  private final LearnerStores stores;
  private final QueryPool pool;
  private final SnapshotPublisher publisher;
  private final Telemetry telemetry;
  private final LongSupplier clock;
  private final Queue<Tuned> finished = new ConcurrentLinkedQueue<>();
  private final Set<String> inFlight = new HashSet<>();
  private volatile boolean closed;

  /**
   * A fine-tuning result, on its way back to the stream thread: the model is null when it failed,
   * a loss null when not known.
   */
  private record Tuned(
      String task,
      long atSupportChanges,
      long atPoolAdds,
      String method,
      OpenSetClassifier model,
      Double initialLoss,
      Double finalLoss,
      double millis,
      int[] counts,
      int supportExamples,
      int poolQueries) {}

  /**
   * @param method the configured {@code fewshot.finetune.method}
   * @param robust the settings of {@code robust}; their accept share is also the open-set
   *     threshold's of the other methods
   * @param clock the stream time of the processor, epoch milliseconds
   */
  FineTunes(
      String method,
      FineTuneBudget budget,
      Tuner tuner,
      RobustConfig robust,
      FineTuneScheduler scheduler,
      LearnerStores stores,
      QueryPool pool,
      SnapshotPublisher publisher,
      Telemetry telemetry,
      LongSupplier clock) {
    this.configuredMethod = MethodName.of(method);
    this.robust = robust;
    this.budget = budget;
    this.tuner = tuner;
    this.scheduler = scheduler;
    this.stores = stores;
    this.pool = pool;
    this.publisher = publisher;
    this.telemetry = telemetry;
    this.clock = clock;
  }

  /**
   * Drops the results of fine-tunes still running or queued, and forgets what was in flight: the
   * learner closes (and may be re-initialised with a new {@code FineTunes}).
   */
  void close() {
    closed = true;
    finished.clear();
    inFlight.clear();
  }

  /** Tasks submitted and not yet installed (tests look). */
  Set<String> inFlight() {
    return Collections.unmodifiableSet(inFlight);
  }

  /**
   * Submits a fine-tune for every task whose data changed since its last one. A task that cannot
   * be prepared is given up until its data changes; the others still start.
   */
  void startDue() {
    if (closed) {
      return;
    }
    List<String> due = new ArrayList<>();
    for (KeyValue<String, TaskState> entry : stores.tasks()) {
      if (!inFlight.contains(entry.key) && entry.value.needsFineTune()) {
        due.add(entry.key);
      }
    }
    for (String task : due) {
      try {
        start(task, stores.task(task));
      } catch (RuntimeException e) {
        if (KafkaFailures.isKafkas(e)) {
          throw e;
        }
        inFlight.remove(task);
        giveUp(task, "could not prepare the fine-tune of task '" + task + "'", e);
      }
    }
  }

  private void start(String task, TaskState state) {
    List<String> labels = stores.labels(task);
    Map<String, Integer> index = new HashMap<>();
    for (String label : labels) {
      index.put(label, index.size());
    }
    MethodName method = configuredMethod;
    if (labels.size() < 2 || method == MethodName.PROTOTYPES) {
      // One class has nothing to separate; the prototype snapshot stands (or is published now,
      // for examples held while a fine-tuned one answered, before a restart with prototypes).
      stores.putTask(task, state.tuned(state.supportChanges(), state.poolAdds()));
      publishHeld(task);
      return;
    }
    List<StoredExample> examples = stores.examples(task);
    float[][] queries = pool.of(task);
    Sampled sampled = sample(task, labels, index, examples, queries);
    if (sampled == null) {
      return;
    }
    SupportSet support = sampled.support();
    queries = sampled.queries();
    if (method == MethodName.AUTO) {
      method = MethodName.of(Methods.autoChoice(support, queries.length));
    }
    boolean supportChanged = state.supportChanges() != state.tunedSupportChanges();
    boolean usesPool = method.usesPool();
    if (method == MethodName.PROTOTYPES || (!supportChanged && !usesPool)) {
      // Nothing to fit, or only the pool changed and the method ignores it: same result as before.
      stores.putTask(task, state.tuned(state.supportChanges(), state.poolAdds()));
      publishHeld(task);
      return;
    }
    float[][] unlabelled = usesPool ? queries : new float[0][];
    MethodName chosen = method;
    long atSupport = state.supportChanges();
    long atPool = state.poolAdds();
    inFlight.add(task);
    scheduler.submit(() -> run(task, atSupport, atPool, chosen, support, unlabelled));
  }

  /** The job on a fine-tuning thread: nothing it throws reaches the thread. */
  private void run(
      String task,
      long atSupport,
      long atPool,
      MethodName method,
      SupportSet support,
      float[][] unlabelled) {
    if (closed) {
      return;
    }
    long start = System.nanoTime();
    OpenSetClassifier model = null;
    Double initialLoss = null;
    Double finalLoss = null;
    try {
      FewShotMethod fitted = method(method);
      if (fitted instanceof OpenSetMethod openSet) {
        model = openSet.fitOpenSet(support, unlabelled);
      } else {
        FineTuneResult result = tuner.tune(method.id(), support, unlabelled);
        model =
            new OpenSetClassifier(
                result.classifier(),
                support.prototypes(),
                OpenSetThreshold.of(support, robust.acceptShare()),
                robust.acceptShare());
        initialLoss = finiteOrNull(result.initialLoss());
        finalLoss = finiteOrNull(result.finalLoss());
      }
    } catch (Throwable e) {
      // An Error too (out of memory, a stack overflow): the task must leave the in-flight set,
      // and the fine-tuning thread must live on for the other tasks.
      log.error("fine-tuning task '{}' failed; its snapshot stays", task, e);
    }
    if (closed) {
      return;
    }
    finished.add(
        new Tuned(
            task,
            atSupport,
            atPool,
            method.id(),
            model,
            initialLoss,
            finalLoss,
            (System.nanoTime() - start) / 1e6,
            support.counts(),
            support.size(),
            unlabelled.length));
  }

  /** A task's support set and pooled queries as the budget allows them. */
  private record Sampled(SupportSet support, float[][] queries) {}

  /**
   * The support set and pool sample of {@code task} within the budget, or null when it does not
   * fit (the task is then given up until its data changes).
   *
   * @throws io.fewshotstreams.fewshot.InvalidInputException when the examples do not make a
   *     support set (mixed feature sizes after a backbone change, say)
   */
  private Sampled sample(
      String task,
      List<String> labels,
      Map<String, Integer> index,
      List<StoredExample> examples,
      float[][] queries) {
    List<List<float[]>> byClass = new ArrayList<>();
    labels.forEach(label -> byClass.add(new ArrayList<>()));
    for (StoredExample example : examples) {
      Integer k = index.get(example.label());
      if (k == null) {
        throw new IllegalStateException(
            "expected every example of task '"
                + task
                + "' to belong to one of its classes "
                + labels
                + ", found one of class '"
                + example.label()
                + "'");
      }
      byClass.get(k).add(example.feature());
    }
    int[] counts = byClass.stream().mapToInt(List::size).toArray();
    int dimension = examples.isEmpty() ? 0 : examples.get(0).feature().length;
    FineTuneBudget.Sample sample = budget.sample(counts, queries.length, dimension);
    if (sample == null) {
      giveUp(
          task,
          "task '"
              + task
              + "' is too big to fine-tune: expected at most "
              + budget.maxBytes()
              + " bytes of working memory (fewshot.finetune.max.bytes), found "
              + FineTuneBudget.estimateBytes(
                  counts.length, counts.length + Math.min(queries.length, counts.length), dimension)
              + " bytes for one example of each of its "
              + counts.length
              + " classes; its snapshot stays",
          null);
      return null;
    }
    // The same task subsamples the same way each time, so an unchanged task tunes alike.
    Random random = new Random(task.hashCode());
    List<float[]> features = new ArrayList<>();
    List<Integer> classIndex = new ArrayList<>();
    for (int k = 0; k < byClass.size(); k++) {
      List<float[]> rows = byClass.get(k);
      if (rows.size() > sample.perClass()) {
        rows = new ArrayList<>(rows);
        Collections.shuffle(rows, random);
        rows = rows.subList(0, sample.perClass());
      }
      for (float[] row : rows) {
        features.add(row);
        classIndex.add(k);
      }
    }
    SupportSet support =
        new SupportSet(
            labels,
            features.toArray(float[][]::new),
            classIndex.stream().mapToInt(Integer::intValue).toArray());
    float[][] pooled =
        sample.poolQueries() < queries.length
            ? java.util.Arrays.copyOf(queries, sample.poolQueries())
            : queries;
    return new Sampled(support, pooled);
  }

  /**
   * Gives a task up until its data changes: logs why, counts a failed fine-tune, and marks it
   * tuned at its current data so the next punctuation does not try it again.
   */
  private void giveUp(String task, String why, Throwable cause) {
    if (cause == null) {
      log.warn(why);
    } else {
      log.error("{}; its snapshot stays until its data changes", why, cause);
    }
    TaskState state = stores.task(task);
    if (state != null) {
      stores.putTask(task, state.tuned(state.supportChanges(), state.poolAdds()));
      publishHeld(task);
    }
    telemetry.fineTuned(
        new RecentActivity.FineTuneEvent(
            task,
            state == null ? 0 : state.version(),
            configuredMethod.id(),
            0,
            null,
            null,
            0,
            0,
            clock.getAsLong(),
            FineTuneOutcome.FAILED));
  }

  /**
   * After a fine-tune that installed nothing: when examples were held for it, publishes the
   * prototypes of the task's support, so that a task whose fine-tunes fail does not keep its new
   * examples out of every snapshot.
   */
  private void publishHeld(String task) {
    TaskState state = stores.task(task);
    if (state == null || !state.holdsChanges()) {
      return;
    }
    long version = state.version() + 1;
    String withheld =
        publisher.prototypes(
            new Record<>(task, null, clock.getAsLong()),
            task,
            version,
            stores.classSums(task),
            stores.examples(task));
    if (withheld == null) {
      stores.putTask(task, state.prototypesPublished(version));
    } else {
      log.warn(withheld);
    }
  }

  /**
   * Installs and publishes finished fine-tunes over which no prototype snapshot went out in the
   * meantime ({@link TaskState#installable}).
   */
  void installFinished() {
    Tuned tuned;
    while (!closed && (tuned = finished.poll()) != null) {
      inFlight.remove(tuned.task());
      try {
        install(tuned);
      } catch (RuntimeException e) {
        if (KafkaFailures.isKafkas(e)) {
          throw e;
        }
        log.error(
            "could not install the fine-tune of task '{}'; its snapshot stays", tuned.task(), e);
      }
    }
  }

  private void install(Tuned tuned) {
    TaskState state = stores.task(tuned.task());
    if (state == null || !state.installable(tuned.atSupportChanges())) {
      // A prototype snapshot went out while tuning: the next punctuation tunes again.
      report(tuned, state == null ? 0 : state.version(), FineTuneOutcome.STALE);
      return;
    }
    if (tuned.model() == null) {
      stores.putTask(
          tuned.task(),
          state.tuned(tuned.atSupportChanges(), tuned.atPoolAdds()));
      publishHeld(tuned.task());
      report(tuned, state.version(), FineTuneOutcome.FAILED);
      return;
    }
    long version = state.version() + 1;
    String withheld =
        publisher.fineTuned(
            tuned.task(),
            version,
            tuned.method(),
            tuned.model(),
            tuned.counts(),
            tuned.supportExamples(),
            tuned.poolQueries(),
            tuned.finalLoss(),
        tuned.millis());
    if (withheld != null) {
      // Too big for the models topic: the snapshot answering stays until the data changes.
      log.warn(withheld);
      stores.putTask(
          tuned.task(),
          state.tuned(tuned.atSupportChanges(), tuned.atPoolAdds()));
      publishHeld(tuned.task());
      report(tuned, state.version(), FineTuneOutcome.FAILED);
      return;
    }
    stores.putTask(
        tuned.task(), state.installed(version, tuned.atSupportChanges(), tuned.atPoolAdds()));
    report(tuned, version, FineTuneOutcome.INSTALLED);
  }

  private void report(Tuned tuned, long version, FineTuneOutcome outcome) {
    telemetry.fineTuned(
        new RecentActivity.FineTuneEvent(
            tuned.task(),
            version,
            tuned.method(),
            tuned.millis(),
            tuned.initialLoss(),
            tuned.finalLoss(),
            tuned.supportExamples(),
            tuned.poolQueries(),
            clock.getAsLong(),
            outcome));
  }

  /**
   * The method a fine-tune runs: {@code robust} with this learner's settings, else the method of
   * that name.
   */
  private FewShotMethod method(MethodName name) {
    if (name == MethodName.ROBUST) {
      return new RobustTransduction(robust);
    }
    return Methods.of(name);
  }

  /** A loss as JSON can carry it: a diverged (non-finite) loss is unknown. */
  private static Double finiteOrNull(float loss) {
    return Float.isFinite(loss) ? Double.valueOf(loss) : null;
  }
}
