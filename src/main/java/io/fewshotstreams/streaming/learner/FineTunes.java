package io.fewshotstreams.streaming.learner;

import io.fewshotstreams.fewshot.FewShotMethod;
import io.fewshotstreams.fewshot.FineTuneResult;
import io.fewshotstreams.fewshot.MethodName;
import io.fewshotstreams.fewshot.Methods;
import io.fewshotstreams.fewshot.OpenSetClassifier;
import io.fewshotstreams.fewshot.OpenSetMethod;
import io.fewshotstreams.fewshot.OpenSetThreshold;
import io.fewshotstreams.fewshot.RobustConfig;
import io.fewshotstreams.fewshot.RobustTransduction;
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
 *
 * <p>An {@link OpenSetMethod} (the default, {@code robust}) is fitted through {@link
 * OpenSetMethod#fitOpenSet} and gives its own centres and threshold; the other fine-tuning methods
 * keep the support prototypes as centres and the support-only threshold of {@link
 * OpenSetThreshold}, the same the prototype snapshot carries.
 */
final class FineTunes {
  private static final Logger log = LoggerFactory.getLogger(FineTunes.class);

  private final MethodName configuredMethod;
  private final float acceptShare;
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
   * @param acceptShare the share of registered-class images the open-set threshold accepts
   * @param clock the stream time of the processor, epoch milliseconds
   */
  FineTunes(
      String method,
      float acceptShare,
      FineTuneScheduler scheduler,
      LearnerStores stores,
      QueryPool pool,
      SnapshotPublisher publisher,
      Telemetry telemetry,
      LongSupplier clock) {
    this.configuredMethod = MethodName.of(method);
    this.acceptShare = acceptShare;
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
    MethodName method = configuredMethod;
    if (labels.size() < 2 || method == MethodName.PROTOTYPES) {
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
    if (method == MethodName.AUTO) {
      method = MethodName.of(Methods.autoChoice(support, queries.length));
    }
    boolean supportChanged = state.supportChanges() != state.tunedSupportChanges();
    boolean usesPool = method.usesPool();
    if (method == MethodName.PROTOTYPES || (!supportChanged && !usesPool)) {
      // Nothing to fit, or only the pool changed and the method ignores it: same result as before.
      stores.putTask(task, state.tuned(state.version(), state.supportChanges(), state.poolAdds()));
      return;
    }
    float[][] unlabelled = usesPool ? queries : new float[0][];
    MethodName chosen = method;
    long atSupport = state.supportChanges();
    long atPool = state.poolAdds();
    inFlight.add(task);
    scheduler.submit(
        () -> {
          if (closed) {
            return;
          }
          long start = System.nanoTime();
          OpenSetClassifier model = null;
          Double initialLoss = null;
          Double finalLoss = null;
          try {
            FewShotMethod fitted = method(chosen);
            if (fitted instanceof OpenSetMethod openSet) {
              model = openSet.fitOpenSet(support, unlabelled);
            } else {
              FineTuneResult result = Methods.fineTune(chosen.id(), support, unlabelled);
              model =
                  new OpenSetClassifier(
                      result.classifier(),
                      support.prototypes(),
                      OpenSetThreshold.of(support, acceptShare),
                      acceptShare);
              initialLoss = finiteOrNull(result.initialLoss());
              finalLoss = finiteOrNull(result.finalLoss());
            }
          } catch (RuntimeException e) {
            log.error("fine-tuning task '{}' failed; its prototype snapshot stays", task, e);
          }
          finished.add(
              new Tuned(
                  task,
                  atSupport,
                  atPool,
                  chosen.id(),
                  model,
                  initialLoss,
                  finalLoss,
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
    if (tuned.model() == null) {
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
        tuned.model(),
        tuned.counts(),
        tuned.supportExamples(),
        tuned.poolQueries(),
        tuned.finalLoss(),
        tuned.millis());
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
   * The method a fine-tune runs: {@code robust} with this learner's accept share, else the method
   * of that name.
   */
  private FewShotMethod method(MethodName name) {
    if (name == MethodName.ROBUST) {
      return new RobustTransduction(RobustConfig.defaults().with("acceptShare", acceptShare));
    }
    return Methods.of(name);
  }

  /** A loss as JSON can carry it: a diverged (non-finite) loss is unknown. */
  private static Double finiteOrNull(float loss) {
    return Float.isFinite(loss) ? Double.valueOf(loss) : null;
  }
}
