package io.fewshotstreams.streaming.learner;

import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.fewshot.ClassSum;
import io.fewshotstreams.fewshot.Methods;
import io.fewshotstreams.fewshot.RobustConfig;
import io.fewshotstreams.streaming.DeadLetters;
import io.fewshotstreams.streaming.LearnerInput;
import io.fewshotstreams.streaming.Origin;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.StoreNames;
import io.fewshotstreams.streaming.telemetry.RestoreGuard;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The learner, keyed by task: applies support changes to the example and class-sum stores ({@link
 * LearnerStores}) and publishes a prototype snapshot after each ({@link SnapshotPublisher}), but
 * for a new example of a class of a fine-tuned snapshot, which is held for the next fine-tune; keeps
 * a ring of recent query embeddings per task ({@link QueryPool}); and on a wall-clock punctuator
 * fine-tunes the tasks whose data changed ({@link FineTunes}). A change that {@link SupportLimits}
 * refuse, or that fails, becomes a dead letter.
 */
public final class Learner implements Processor<String, LearnerInput, String, Routed> {
  private static final Logger log = LoggerFactory.getLogger(Learner.class);

  private final Settings settings;
  private final EventCodec codec;
  private final FineTunes.Tuner tuner;
  private final FineTuneScheduler scheduler;
  private final DeadLetters deadLetters;
  private final Telemetry telemetry;
  private final TaskCount taskCount;

  private ProcessorContext<String, Routed> context;
  private LearnerStores stores;
  private QueryPool pool;
  private SupportLimits limits;
  private SnapshotPublisher publisher;
  private FineTunes fineTunes;
  /** The global store of published snapshots, when this learner checks its state against it. */
  private KeyValueStore<String, ModelSnapshot> published;
  /** Tasks checked against the published snapshots since this incarnation began. */
  private final Set<String> checked = new HashSet<>();

  /**
   * What the learner needs from the configuration.
   *
   * @param fineTuneMaxExamplesPerClass support examples per class a fine-tune uses at most
   * @param fineTuneMaxBytes estimated working memory a fine-tune may take
   * @param maxSnapshotBytes the largest snapshot value the models topic and the producer take
   * @param robust the settings of {@code robust} fine-tunes and of the prototype snapshot's
   *     threshold and temperature (accept share, temperature prior, one-shot temperature)
   * @param keepFineTunedOnAdd whether a new example of a class of the fine-tuned snapshot answering
   *     its task is held for the next fine-tune instead of publishing prototypes
   */
  public record Settings(
      String backboneId,
      int featureSize,
      int maxExamplesPerClass,
      int maxClassesPerTask,
      int poolSize,
      String method,
      long fineTuneIntervalMs,
      int fineTuneMaxExamplesPerClass,
      long fineTuneMaxBytes,
      long maxSnapshotBytes,
      RobustConfig robust,
      boolean keepFineTunedOnAdd) {}

  /**
   * A learner; the codec, scheduler, telemetry and task count are shared by every learner of an
   * instance.
   */
  public Learner(
      Settings settings,
      EventCodec codec,
      FineTuneScheduler scheduler,
      DeadLetters deadLetters,
      Telemetry telemetry,
      TaskCount taskCount) {
    this(settings, codec, Methods::fineTune, scheduler, deadLetters, telemetry, taskCount);
  }

  /** A learner that fine-tunes with {@code tuner} (tests make it fail). */
  Learner(
      Settings settings,
      EventCodec codec,
      FineTunes.Tuner tuner,
      FineTuneScheduler scheduler,
      DeadLetters deadLetters,
      Telemetry telemetry,
      TaskCount taskCount) {
    this.settings = settings;
    this.codec = codec;
    this.tuner = tuner;
    this.scheduler = scheduler;
    this.deadLetters = deadLetters;
    this.telemetry = telemetry;
    this.taskCount = taskCount;
  }

  /**
   * Opens the learner on its task's stores. Kafka Streams calls it again on the same object when it
   * revives a task it closed (a corrupted task after a long broker outage, say): every call starts
   * clean, with a new {@link FineTunes} that has nothing in flight, and a previous incarnation's
   * fine-tunes, still running or queued, are dropped.
   */
  @Override
  public void init(ProcessorContext<String, Routed> context) {
    closeIncarnation();
    this.context = context;
    stores = new LearnerStores(context);
    published =
        RestoreGuard.repairable(context) ? context.getStateStore(StoreNames.SNAPSHOTS) : null;
    checked.clear();
    pool = new QueryPool(stores, settings.poolSize());
    publisher =
        new SnapshotPublisher(
            settings.backboneId(),
            settings.featureSize(),
            settings.maxSnapshotBytes(),
            settings.robust(),
            codec,
            telemetry,
            context);
    fineTunes =
        new FineTunes(
            settings.method(),
            new FineTuneBudget(
                settings.fineTuneMaxExamplesPerClass(), settings.fineTuneMaxBytes()),
            tuner,
            settings.robust(),
            scheduler,
            stores,
            pool,
            publisher,
            telemetry,
            context::currentSystemTimeMs);
    limits =
        new SupportLimits(
            settings.maxExamplesPerClass(),
            settings.maxClassesPerTask(),
            taskCount,
            stores,
            settings.backboneId(),
            settings.featureSize(),
            settings.maxSnapshotBytes());
    limits.open();
    // Bound to this incarnation: a punctuation of a closed one does nothing. Neither acts on stores
    // whose restore skipped records: the guard hands the task back first.
    FineTunes incarnation = fineTunes;
    RestoreGuard guard = telemetry.restoreGuard();
    context.schedule(
        Duration.ofMillis(settings.fineTuneIntervalMs()),
        PunctuationType.WALL_CLOCK_TIME,
        guard.guarded(context, LearnerStores.NAMES, now -> incarnation.startDue()));
    context.schedule(
        Duration.ofMillis(Math.min(200, settings.fineTuneIntervalMs())),
        PunctuationType.WALL_CLOCK_TIME,
        guard.guarded(context, LearnerStores.NAMES, now -> incarnation.installFinished()));
  }

  @Override
  public void close() {
    closeIncarnation();
  }

  /** Drops the fine-tunes of the current incarnation and gives its tasks back; idempotent. */
  private void closeIncarnation() {
    if (fineTunes != null) {
      fineTunes.close();
      fineTunes = null;
    }
    if (limits != null) {
      limits.close();
      limits = null;
    }
  }

  /** The current incarnation's fine-tunes (tests look at what is in flight). */
  FineTunes fineTunes() {
    return fineTunes;
  }

  @Override
  public void process(Record<String, LearnerInput> record) {
    telemetry.restoreGuard().check(context, LearnerStores.NAMES);
    LearnerInput input = record.value();
    if (!(input instanceof LearnerInput.PoolQuery)) {
      checkAgainstPublished(input.task());
    }
    try {
      if (input instanceof LearnerInput.Add add) {
        add(record, add);
      } else if (input instanceof LearnerInput.Remove remove) {
        remove(record, remove);
      } else if (input instanceof LearnerInput.DeleteClass delete) {
        deleteClass(record, delete);
      } else {
        LearnerInput.PoolQuery query = (LearnerInput.PoolQuery) input;
        pool.add(query.task(), query.feature());
      }
    } catch (RuntimeException e) {
      if (KafkaFailures.isKafkas(e)) {
        // Kafka Streams' own (a migrated task, a fenced producer): it must see them to recover.
        throw e;
      }
      // A bug or a store failure must not stop the stream thread in a loop on the same record.
      Origin origin = input.origin();
      if (origin == null) {
        log.error("could not pool a query embedding of task '{}'", input.task(), e);
        return;
      }
      context.forward(
          record
              .withKey(input.task())
              .withValue(
                  new Routed.ToDeadLetters(
                      deadLetters.of(
                          e, origin, null, input.task(), null, context.currentSystemTimeMs()))));
    }
  }

  /**
   * The learner is the only writer of its tasks' snapshots, and under exactly-once its state and
   * the snapshots it publishes commit in one transaction: the models topic never holds a version
   * of a task above the learner's own. If it does, the learner's stores lost records (Kafka
   * Streams resumed a restore beyond what it had restored; RELIABILITY.md), and a change applied
   * now would publish a task rebuilt from nothing over the real one. The stream task is handed
   * back to Kafka Streams instead ({@link RestoreGuard#handBack}), which wipes its state and
   * restores it from the changelogs' beginning; once per stream task in the instance's life
   * ({@link RestoreGuard#firstLearnerHandBack}), and only where that repairs it ({@link
   * RestoreGuard#repairable}). A task the learner has no state of is checked at every support
   * change (a new task, or one whose state was lost); one it has, at its first support change after
   * each {@link #init}, where a restore's loss shows: reading a published snapshot costs its
   * decoding.
   */
  private void checkAgainstPublished(String task) {
    if (published == null) {
      return;
    }
    TaskState state = stores.task(task);
    if (state != null && !checked.add(task)) {
      return;
    }
    ModelSnapshot snapshot = published.get(task);
    if (snapshot == null) {
      return;
    }
    long own = state == null ? 0 : state.version();
    if (snapshot.version() <= own) {
      return;
    }
    if (telemetry.restoreGuard().firstLearnerHandBack(context.taskId())) {
      log.error(
          "task '{}' is at snapshot version {} in the models topic but at {} in this learner's"
              + " state: its stores lost records in a restore",
          task,
          snapshot.version(),
          own);
      throw telemetry.restoreGuard().handBack(context);
    }
    log.error(
        "task '{}' is at snapshot version {} in the models topic but at {} in this learner's state,"
            + " and stream task {} was handed back once already: going on, so its next snapshot"
            + " goes out over the published one. If its stores lost records, stop this instance"
            + " and start it with an empty state directory; if the models topic holds another"
            + " application's snapshots, give this one its own topics",
        task,
        snapshot.version(),
        own,
        context.taskId());
  }

  private void add(Record<String, LearnerInput> record, LearnerInput.Add add) {
    String task = add.task();
    StoredExample previous = stores.example(task, add.exampleId());
    ClassSum sum = stores.classSum(task, add.label());
    boolean sameClass = previous != null && previous.label().equals(add.label());
    SupportLimits.Refusal refusal = limits.check(add, sum, sameClass);
    if (refusal != null) {
      deadLetter(record, refusal.reason(), refusal.message(), add.exampleId());
      return;
    }
    if (previous != null) {
      subtract(task, previous);
      sum = stores.classSum(task, add.label());
    }
    boolean newClass = sum == null;
    if (newClass) {
      sum = ClassSum.empty(settings.featureSize());
    }
    stores.putClassSum(task, add.label(), sum.plus(add.feature()));
    stores.putExample(task, add.exampleId(), new StoredExample(add.label(), add.feature()));
    TaskState state = stores.taskOrNew(task);
    if (!newClass && (previous == null || sameClass) && holds(state)) {
      // A new example of a class the fine-tuned snapshot has, or one replaced within its class
      // (a promotion sent again): with a few dozen examples a class the fine-tuned classifier beats
      // the prototypes by points (BENCHMARKS.md), so it keeps answering until the next fine-tune
      // takes the example in.
      stores.putTask(task, state.held());
      return;
    }
    supportChanged(record, task);
  }

  /** Whether a new example of an existing class waits for the next fine-tune of its task. */
  private boolean holds(TaskState state) {
    return state.fineTuned()
        && settings.keepFineTunedOnAdd()
        && !settings.method().equals(Methods.PROTOTYPES);
  }

  private void remove(Record<String, LearnerInput> record, LearnerInput.Remove remove) {
    StoredExample previous = stores.example(remove.task(), remove.exampleId());
    if (previous == null) {
      deadLetter(
          record,
          DeadLetterReason.UNKNOWN_EXAMPLE,
          "expected example '"
              + remove.exampleId()
              + "' in task '"
              + remove.task()
              + "', found no such example",
          remove.exampleId());
      return;
    }
    subtract(remove.task(), previous);
    stores.deleteExample(remove.task(), remove.exampleId());
    supportChanged(record, remove.task());
  }

  private void deleteClass(Record<String, LearnerInput> record, LearnerInput.DeleteClass delete) {
    String task = delete.task();
    if (stores.classSum(task, delete.label()) == null) {
      deadLetter(
          record,
          DeadLetterReason.UNKNOWN_CLASS,
          "expected class '"
              + delete.label()
              + "' in task '"
              + task
              + "', found classes "
              + stores.labels(task),
          delete.label());
      return;
    }
    stores.deleteClass(task, delete.label());
    supportChanged(record, task);
  }

  private void subtract(String task, StoredExample example) {
    ClassSum sum = stores.classSum(task, example.label()).minus(example.feature());
    stores.putClassSum(task, example.label(), sum);
  }

  /** Counts a support change of {@code task} and publishes its new prototype snapshot. */
  private void supportChanged(Record<String, LearnerInput> record, String task) {
    TaskState state = stores.taskOrNew(task);
    state = state.supportChanged(state.version() + 1);
    stores.putTask(task, state);
    String withheld = publisher.prototypes(
            record, task, state.version(), stores.classSums(task), stores.examples(task));
    if (withheld != null) {
      // Only a task that grew under a larger limit gets here (adds are checked before): the change
      // stands, and the user learns why the model did not follow.
      deadLetter(
          record,
          DeadLetterReason.TASK_FULL,
          "the change was applied, but " + withheld,
          idOf(record.value()));
    }
  }

  private static String idOf(LearnerInput input) {
    if (input instanceof LearnerInput.Add add) {
      return add.exampleId();
    }
    if (input instanceof LearnerInput.Remove remove) {
      return remove.exampleId();
    }
    return input instanceof LearnerInput.DeleteClass delete ? delete.label() : null;
  }

  private void deadLetter(
      Record<String, LearnerInput> record, DeadLetterReason reason, String message, String id) {
    String task = record.value().task();
    Origin origin = record.value().origin();
    context.forward(
        record
            .withKey(task)
            .withValue(
                new Routed.ToDeadLetters(
                    deadLetters.of(
                        reason, message, origin, null, task, id, context.currentSystemTimeMs()))));
  }
}
