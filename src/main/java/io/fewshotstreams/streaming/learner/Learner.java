package io.fewshotstreams.streaming.learner;

import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.fewshot.ClassSum;
import io.fewshotstreams.streaming.DeadLetters;
import io.fewshotstreams.streaming.LearnerInput;
import io.fewshotstreams.streaming.Origin;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import java.time.Duration;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The learner, keyed by task: applies support changes to the example and class-sum stores ({@link
 * LearnerStores}) and publishes a prototype snapshot after each ({@link SnapshotPublisher}); keeps
 * a ring of recent query embeddings per task ({@link QueryPool}); and on a wall-clock punctuator
 * fine-tunes the tasks whose data changed ({@link FineTunes}). A change that {@link SupportLimits}
 * refuse, or that fails, becomes a dead letter.
 */
public final class Learner implements Processor<String, LearnerInput, String, Routed> {
  private static final Logger log = LoggerFactory.getLogger(Learner.class);

  private final Settings settings;
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

  /** What the learner needs from the configuration. */
  public record Settings(
      String backboneId,
      int featureSize,
      int maxExamplesPerClass,
      int maxClassesPerTask,
      int poolSize,
      String method,
      long fineTuneIntervalMs,
      float acceptShare) {}

  /**
   * A learner; the scheduler, telemetry and task count are shared by every learner of an
   * instance.
   */
  public Learner(
      Settings settings,
      FineTuneScheduler scheduler,
      DeadLetters deadLetters,
      Telemetry telemetry,
      TaskCount taskCount) {
    this.settings = settings;
    this.scheduler = scheduler;
    this.deadLetters = deadLetters;
    this.telemetry = telemetry;
    this.taskCount = taskCount;
  }

  @Override
  public void init(ProcessorContext<String, Routed> context) {
    this.context = context;
    stores = new LearnerStores(context);
    pool = new QueryPool(stores, settings.poolSize());
    publisher =
        new SnapshotPublisher(
            settings.backboneId(), settings.featureSize(), settings.acceptShare(), telemetry,
            context);
    fineTunes =
        new FineTunes(
            settings.method(),
            settings.acceptShare(),
            scheduler,
            stores,
            pool,
            publisher,
            telemetry,
            context::currentSystemTimeMs);
    limits =
        new SupportLimits(
            settings.maxExamplesPerClass(), settings.maxClassesPerTask(), taskCount, stores);
    limits.open();
    context.schedule(
        Duration.ofMillis(settings.fineTuneIntervalMs()),
        PunctuationType.WALL_CLOCK_TIME,
        now -> fineTunes.startDue());
    context.schedule(
        Duration.ofMillis(Math.min(200, settings.fineTuneIntervalMs())),
        PunctuationType.WALL_CLOCK_TIME,
        now -> fineTunes.installFinished());
  }

  @Override
  public void close() {
    if (fineTunes != null) {
      fineTunes.close();
      limits.close();
    }
  }

  @Override
  public void process(Record<String, LearnerInput> record) {
    LearnerInput input = record.value();
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
    if (sum == null) {
      sum = ClassSum.empty(settings.featureSize());
    }
    stores.putClassSum(task, add.label(), sum.plus(add.feature()));
    stores.putExample(task, add.exampleId(), new StoredExample(add.label(), add.feature()));
    supportChanged(record, task);
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
    publisher.prototypes(
        record, task, state.version(), stores.classSums(task), stores.examples(task));
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
