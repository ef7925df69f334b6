package io.fewshotstreams.streaming.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.TaskMigratedException;
import org.apache.kafka.streams.processor.Punctuator;
import org.apache.kafka.streams.processor.StandbyUpdateListener;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches Kafka Streams' restores for a store that resumes beyond what it had restored, and has
 * such a task restored again.
 *
 * <p>A restore that is suspended (its task closed while it restored) must resume at or before the
 * offset it had reached: the store holds nothing past it. Kafka Streams (4.2 and 4.4 alike) can
 * resume it further on: a task revived after a corruption under exactly-once, and closed as lost
 * while it restored, comes back with the offsets its changelogs had been written to, and its next
 * restore skips the records in between, so the task would run on a store that lacks them
 * (RELIABILITY.md, "A task revived after a corruption is closed as lost before its restore
 * finishes").
 *
 * <p>The guard sees it as a restore listener: it logs an error naming the store, the partition
 * and the records skipped, counts it ({@code fewshot.state.restore.skipped}), and marks the store's
 * partition damaged. The processors that own stores call {@link #check} before they process a
 * record and schedule their punctuations {@link #guarded} by it; it hands a damaged task back ({@link #handBack})
 * where that repairs it ({@link #repairable}), and logs an error elsewhere. A restore closed before
 * the listener heard that it started is not seen (the learner's own check covers its tasks). A
 * later restore, or standby update, that starts at or before the gap repairs the store and clears
 * its mark. As a standby update listener it also forgets a suspended restore whose store a standby
 * or warm-up replica then kept up to date, which resumes legitimately beyond where the restore
 * stopped.
 *
 * <p>To hand a task back is to throw {@link TaskMigratedException} from its processor, before the
 * record or punctuation touches the stores. Kafka Streams answers it as it answers a fenced
 * thread: it closes the thread's running tasks dirty, which under exactly-once aborts the open
 * transaction and wipes their state directories, closes the tasks still restoring clean (they keep
 * what they restored, and their marks), and rejoins the group with a fresh subscription, so the
 * wiped tasks restore from the changelogs' beginning and read their input again from the committed
 * offsets, the refused record included. Kafka Streams logs it as "Detected that the thread is being
 * fenced": expected here. A {@code TaskCorruptedException} would revive the task in place and set
 * its input back only once the revived task was restored; the rebalance a corruption triggers
 * under exactly-once created the task again before that, and the refused record was never
 * processed (3 of 4 runs of {@code LearnerFaultIT}'s evicted variant).
 */
public final class RestoreGuard implements StateRestoreListener, StandbyUpdateListener {
  private static final Logger log = LoggerFactory.getLogger(RestoreGuard.class);

  private record Changelog(String store, int partition) {}

  /** Restores in progress: the next offset each would restore. */
  private final Map<Changelog, Long> restoring = new ConcurrentHashMap<>();

  /** Suspended restores: the offset each may resume at, at most. */
  private final Map<Changelog, Long> suspended = new ConcurrentHashMap<>();

  /**
   * Store partitions whose restore skipped records, each with the offset the skip began at, until
   * their task is handed back or a restore starts at or before that offset.
   */
  private final Map<Changelog, Long> damaged = new ConcurrentHashMap<>();

  /** Stream tasks a learner has handed back. */
  private final Set<TaskId> learnerHandBacks = ConcurrentHashMap.newKeySet();

  private final Counter skipped;
  private final Counter repaired;

  public RestoreGuard(MeterRegistry registry) {
    skipped =
        Counter.builder("fewshot.state.restore.skipped")
            .description(
                "Restores that Kafka Streams resumed beyond what the store had restored: the"
                    + " store lacks the changelog records in between")
            .register(registry);
    repaired =
        Counter.builder("fewshot.state.restore.repaired")
            .description(
                "Stream tasks handed back to Kafka Streams, to be restored from the changelogs'"
                    + " beginning, because a restore of one of their stores skipped records or the"
                    + " learner's state of a task fell behind its published snapshot")
            .register(registry);
  }

  /**
   * Hands the context's task back ({@link #handBack}) when a restore of one of {@code stores} at
   * the task's partition skipped records, once per skip, where a hand-back repairs it ({@link
   * #repairable}); elsewhere logs an error instead. Cheap when nothing was skipped. Processors call
   * it before they apply a record, and their punctuations call it first ({@link #guarded}).
   */
  public void check(ProcessorContext<?, ?> context, String... stores) {
    if (damaged.isEmpty()) {
      return;
    }
    TaskId task = context.taskId();
    boolean hit = false;
    for (String store : stores) {
      hit |= damaged.remove(new Changelog(store, task.partition())) != null;
    }
    if (!hit) {
      return;
    }
    if (!repairable(context)) {
      log.error(
          "task {} holds a store whose restore skipped changelog records; Kafka Streams keeps a"
              + " store on a dirty close under at-least-once or with transactional state stores,"
              + " so it runs on: stop this instance and start it with an empty state directory to"
              + " restore it whole",
          task);
      return;
    }
    log.warn("task {} holds a store whose restore skipped changelog records", task);
    throw handBack(context);
  }

  /**
   * {@code punctuator}, {@link #check checked} first: how a processor that owns {@code stores}
   * schedules a punctuation, so that none acts on a store whose restore skipped records.
   */
  public Punctuator guarded(
      ProcessorContext<?, ?> context, String[] stores, Punctuator punctuator) {
    return now -> {
      check(context, stores);
      punctuator.punctuate(now);
    };
  }

  /**
   * The exception a processor throws, before the record or punctuation touches its stores, to hand
   * its stream task back to Kafka Streams (see the class comment; only where {@link #repairable});
   * counted in {@code fewshot.state.restore.repaired}. Every running task of the stream thread is
   * restored from the changelogs' beginning, not this one alone.
   */
  public TaskMigratedException handBack(ProcessorContext<?, ?> context) {
    repaired.increment();
    log.warn(
        "handing stream task {} back to Kafka Streams as migrated: its thread closes its running"
            + " tasks dirty, which wipes their state, and rejoins the group, so they are restored"
            + " from the changelogs' beginning and read their input again from the committed"
            + " offsets (the \"thread is being fenced\" warning that follows is this hand-back)",
        context.taskId());
    return new TaskMigratedException(
        "stream task " + context.taskId() + " is handed back to be restored from the beginning:"
            + " its stores lack changelog records (see the log line before)");
  }

  /**
   * Whether a learner should hand back its stream task {@code task}: once for the instance's life,
   * so that a hand-back that does not repair the learner's state cannot loop through the learners
   * Kafka Streams creates anew, and so that a learner that starts on an empty state against a
   * models topic that holds snapshots (a new application id on the same topics, or a reset that
   * kept the models topic) costs one rebalance per stream task, not one per few-shot task.
   */
  public boolean firstLearnerHandBack(TaskId task) {
    return learnerHandBacks.add(task);
  }

  /**
   * Whether a hand-back repairs a task of the application of {@code context}: under exactly-once
   * (v2) without transactional state stores, where Kafka Streams wipes the state of a task it
   * closes dirty. Under at-least-once, or with {@code enable.transactional.statestores}, it keeps
   * the stores, so a hand-back would repair nothing.
   */
  public static boolean repairable(ProcessorContext<?, ?> context) {
    Map<String, Object> configs = context.appConfigs();
    Object guarantee = configs.get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG);
    Object transactional = configs.get(StreamsConfig.TRANSACTIONAL_STATE_STORES_CONFIG);
    return guarantee != null
        && StreamsConfig.EXACTLY_ONCE_V2.equals(guarantee.toString())
        && (transactional == null || !Boolean.parseBoolean(transactional.toString()));
  }

  @Override
  public void onRestoreStart(
      TopicPartition partition, String store, long startingOffset, long endingOffset) {
    Changelog changelog = new Changelog(store, partition.partition());
    repairedFrom(changelog, partition, startingOffset);
    Long reached = suspended.remove(changelog);
    if (reached != null && startingOffset > reached) {
      skipped.increment();
      damaged.merge(changelog, reached, Math::min);
      log.error(
          "store '{}' of changelog {} resumes its restore at offset {}, but its restore was"
              + " suspended at offset {}: the {} records in between were never restored (a"
              + " defect of Kafka Streams for a task closed while it restored after a"
              + " corruption; see RELIABILITY.md). Under exactly-once its task is handed back,"
              + " to be restored again, before it processes a record or punctuation on it",
          store,
          partition,
          startingOffset,
          reached,
          startingOffset - reached);
    }
    restoring.put(changelog, startingOffset);
  }

  @Override
  public void onBatchRestored(
      TopicPartition partition, String store, long batchEndOffset, long numRestored) {
    restoring.put(new Changelog(store, partition.partition()), batchEndOffset + 1);
  }

  @Override
  public void onRestoreEnd(TopicPartition partition, String store, long totalRestored) {
    restoring.remove(new Changelog(store, partition.partition()));
  }

  @Override
  public void onRestoreSuspended(TopicPartition partition, String store, long totalRestored) {
    Changelog changelog = new Changelog(store, partition.partition());
    Long next = restoring.remove(changelog);
    if (next != null) {
      suspended.put(changelog, next);
      log.info(
          "restore of store '{}' of changelog {} suspended at offset {}, after {} records", store,
          partition, next, totalRestored);
    }
  }

  @Override
  public void onUpdateStart(TopicPartition partition, String store, long startingOffset) {
    // A standby or warm-up replica keeps the store up to date from here: a later restore may
    // resume beyond where an earlier one was suspended.
    Changelog changelog = new Changelog(store, partition.partition());
    suspended.remove(changelog);
    restoring.remove(changelog);
    repairedFrom(changelog, partition, startingOffset);
  }

  /**
   * Clears the mark of a damaged store partition whose restore or standby update starts at {@code
   * startingOffset}, at or before the records its earlier restore skipped, so over them.
   */
  private void repairedFrom(Changelog changelog, TopicPartition partition, long startingOffset) {
    Long gap = damaged.get(changelog);
    if (gap != null && startingOffset <= gap && damaged.remove(changelog, gap)) {
      log.info(
          "store '{}' of changelog {} is brought up to date again from offset {}, over the"
              + " records its earlier restore skipped",
          changelog.store(),
          partition,
          startingOffset);
    }
  }

  @Override
  public void onBatchLoaded(
      TopicPartition partition,
      String store,
      TaskId task,
      long batchEndOffset,
      long batchSize,
      long currentEndOffset) {}

  @Override
  public void onUpdateSuspended(
      TopicPartition partition,
      String store,
      long storeOffset,
      long currentEndOffset,
      SuspendReason reason) {
    suspended.remove(new Changelog(store, partition.partition()));
  }

  /** Restores resumed beyond what their store had restored, since this guard was made. */
  long skipped() {
    return (long) skipped.count();
  }
}
