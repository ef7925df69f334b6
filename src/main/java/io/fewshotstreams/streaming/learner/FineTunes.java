package io.fewshotstreams.streaming.learner;

import io.fewshotstreams.fewshot.FineTuneResult;
import io.fewshotstreams.fewshot.Methods;
import io.fewshotstreams.fewshot.SupportSet;
import io.fewshotstreams.streaming.telemetry.FineTuneOutcome;
import io.fewshotstreams.streaming.telemetry.RecentActivity;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.LongSupplier;
import org.apache.kafka.streams.KeyValue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fine-tuning of one learner: {@link #startDue} submits a fine-tune for every task whose data
 * changed to the {@link FineTuneScheduler}'s threads, and {@link #installFinished}, on the stream
 * thread, installs and publishes those whose task did not change in the meantime.
 */
final class FineTunes {
  private static final Logger log = LoggerFactory.getLogger(FineTunes.class);

  private final String configuredMethod;
  private final FineTuneScheduler scheduler;
  private final LearnerStores stores;
  private final QueryPool pool;
  private final SnapshotPublisher publisher;
  private final Telemetry telemetry;
  private final LongSupplier clock;
  private final Queue<Tuned> finished = new ConcurrentLinkedQueue<>();
  private final Set<String> inFlight = new HashSet<>();
  private volatile boolean closed;

  /** A fine-tuning result, null when it failed, on its way back to the stream thread. */
  private record Tuned(
      String task,
      long atSupportChanges,
      long atPoolAdds,
      String method,
      FineTuneResult result,
      double millis,
      int[] counts,
      int supportExamples,
      int poolQueries) {}

  /**
   * @param method the configured {@code fewshot.finetune.method}
   * @param clock the stream time of the processor, epoch milliseconds
   */
  FineTunes(
      String method,
      FineTuneScheduler scheduler,
      LearnerStores stores,
      QueryPool pool,
      SnapshotPublisher publisher,
      Telemetry telemetry,
      LongSupplier clock) {
    this.configuredMethod = method;
    this.scheduler = scheduler;
    this.stores = stores;
    this.pool = pool;
    this.publisher = publisher;
    this.telemetry = telemetry;
    this.clock = clock;
  }

  /** Drops the results of fine-tunes still running: the learner closes. */
  void close() {
    closed = true;
  }

  /** Submits a fine-tune for every task whose data changed since its last one. */
  void startDue() {
    List<String> due = new ArrayList<>();
    for (KeyValue<String, TaskState> entry : stores.tasks()) {
      if (!inFlight.contains(entry.key) && entry.value.needsFineTune()) {
        due.add(entry.key);
      }
    }
    for (String task : due) {
      start(task, stores.task(task));
    }
  }

  private void start(String task, TaskState state) {
    List<String> labels = stores.labels(task);
    Map<String, Integer> index = new HashMap<>();
    for (String label : labels) {
      index.put(label, index.size());
    }
    String method = configuredMethod;
    if (labels.size() < 2 || Methods.PROTOTYPES.equals(method)) {
      // One class has nothing to separate; the prototype snapshot stands.
      stores.putTask(task, state.tuned(state.version(), state.supportChanges(), state.poolAdds()));
      return;
    }
    List<StoredExample> examples = stores.examples(task);
    float[][] features = new float[examples.size()][];
    int[] classIndex = new int[examples.size()];
    for (int i = 0; i < features.length; i++) {
      features[i] = examples.get(i).feature();
      classIndex[i] = index.get(examples.get(i).label());
    }
    SupportSet support = new SupportSet(labels, features, classIndex);
    float[][] queries = pool.of(task);
    if (Methods.AUTO.equals(method)) {
      method = Methods.autoChoice(support, queries.length);
    }
    boolean supportChanged = state.supportChanges() != state.tunedSupportChanges();
    if (Methods.PROTOTYPES.equals(method)
        || (!supportChanged && !Methods.TRANSDUCTIVE.equals(method))) {
      // Nothing to fit, or only the pool changed and the method ignores it: same result as before.
      stores.putTask(task, state.tuned(state.version(), state.supportChanges(), state.poolAdds()));
      return;
    }
    float[][] unlabelled = Methods.TRANSDUCTIVE.equals(method) ? queries : new float[0][];
    String chosen = method;
    long atSupport = state.supportChanges();
    long atPool = state.poolAdds();
    inFlight.add(task);
    scheduler.submit(
        () -> {
          if (closed) {
            return;
          }
          long start = System.nanoTime();
          FineTuneResult result = null;
          try {
            result = Methods.fineTune(chosen, support, unlabelled);
          } catch (RuntimeException e) {
            log.error("fine-tuning task '{}' failed; its prototype snapshot stays", task, e);
          }
          finished.add(
              new Tuned(
                  task,
                  atSupport,
                  atPool,
                  chosen,
                  result,
                  (System.nanoTime() - start) / 1e6,
                  support.counts(),
                  support.size(),
                  unlabelled.length));
        });
  }

  /** Installs and publishes finished fine-tunes whose task did not change in the meantime. */
  void installFinished() {
    Tuned tuned;
    while ((tuned = finished.poll()) != null) {
      inFlight.remove(tuned.task());
      try {
        install(tuned);
      } catch (RuntimeException e) {
        log.error("could not install the fine-tune of task '{}'; its snapshot stays", tuned.task(), e);
      }
    }
  }

  private void install(Tuned tuned) {
    TaskState state = stores.task(tuned.task());
    if (state == null || state.supportChanges() != tuned.atSupportChanges()) {
      // The support set changed while tuning: the next punctuation tunes again.
      report(tuned, state == null ? 0 : state.version(), FineTuneOutcome.STALE);
      return;
    }
    if (tuned.result() == null) {
      stores.putTask(
          tuned.task(),
          state.tuned(state.version(), tuned.atSupportChanges(), tuned.atPoolAdds()));
      report(tuned, state.version(), FineTuneOutcome.FAILED);
      return;
    }
    long version = state.version() + 1;
    stores.putTask(
        tuned.task(), state.tuned(version, tuned.atSupportChanges(), tuned.atPoolAdds()));
    publisher.fineTuned(
        tuned.task(),
        version,
        tuned.method(),
        tuned.result().classifier(),
        tuned.counts(),
        tuned.supportExamples(),
        tuned.poolQueries(),
        finiteOrNull(tuned.result().finalLoss()),
        tuned.millis());
    report(tuned, version, FineTuneOutcome.INSTALLED);
  }

  private void report(Tuned tuned, long version, FineTuneOutcome outcome) {
    FineTuneResult result = tuned.result();
    telemetry.fineTuned(
        new RecentActivity.FineTuneEvent(
            tuned.task(),
            version,
            tuned.method(),
            tuned.millis(),
            result == null ? null : finiteOrNull(result.initialLoss()),
            result == null ? null : finiteOrNull(result.finalLoss()),
            tuned.supportExamples(),
            tuned.poolQueries(),
            clock.getAsLong(),
            outcome));
  }

  /** A loss as JSON can carry it: a diverged (non-finite) loss is unknown. */
  private static Double finiteOrNull(float loss) {
    return Float.isFinite(loss) ? Double.valueOf(loss) : null;
  }
}
