package io.fewshotstreams.streaming.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.TaskMigratedException;
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
 * record; under exactly-once it hands a damaged one back ({@link #handBack}). Under at-least-once
 * a dirty close keeps the store, so a hand-back would repair nothing: the check logs an error
 * instead. A restore closed before the listener heard that it started is not seen (the learner's
 * own check covers its tasks). A later restore that starts at or before the gap repairs the store
 * and clears its mark. As a standby update listener it forgets a suspended restore whose store a
 * standby or warm-up replica then kept up to date, which resumes legitimately beyond where the
 * restore stopped.
 *
 * <p>A hand-back is a {@link TaskMigratedException}, not a {@code TaskCorruptedException}. Kafka
 * Streams answers a corruption by reviving the task in place and setting its input back to the
 * committed offsets only once the revived task is restored; a rebalance in between (which the
 * corruption itself triggers under exactly-once) created the task again without that reset, and
 * the record that was refused was never processed (3 of 4 runs of {@code LearnerFaultIT}'s evicted
 * variant). A migrated thread instead closes all its tasks as lost, which under exactly-once wipes
 * their state directories and aborts the open transaction, and rejoins the group with a fresh
 * subscription, so its new tasks restore from the changelogs' beginning and read their input again
 * from the committed offsets, the refused record included.
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

  /** The published snapshot version of each task at its last hand-back by a learner. */
  private final Map<String, Long> learnerHandBacks = new ConcurrentHashMap<>();

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
   * the task's partition skipped records, once per skip, under exactly-once; under at-least-once
   * logs an error instead. Cheap when nothing was skipped.
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
    if (!exactlyOnce(context)) {
      log.error(
          "task {} holds a store whose restore skipped changelog records; under at-least-once"
              + " Kafka Streams keeps the store on a dirty close, so it runs on: stop this"
              + " instance and start it with an empty state directory to restore it whole",
          task);
      return;
    }
    log.warn("task {} holds a store whose restore skipped changelog records", task);
    throw handBack(context);
  }

  /**
   * Whether, under exactly-once, a restore of one of {@code stores} at the context's task partition
   * skipped records and the task has not been handed back since. A punctuation that would act on
   * those stores (a fine-tune round) waits while this holds: it cannot hand the task back itself,
   * and the task's next record does ({@link #check}). Under at-least-once false: the check only
   * logs there, and the task runs on.
   */
  public boolean damaged(ProcessorContext<?, ?> context, String... stores) {
    if (damaged.isEmpty() || !exactlyOnce(context)) {
      return false;
    }
    int partition = context.taskId().partition();
    for (String store : stores) {
      if (damaged.containsKey(new Changelog(store, partition))) {
        return true;
      }
    }
    return false;
  }

  /**
   * The exception a processor throws, before it applies the record to its stores, to hand its
   * stream task back to Kafka Streams to be restored from the changelogs' beginning (exactly-once
   * only: see the class comment); counted in {@code fewshot.state.restore.repaired}. Kafka Streams
   * closes every task of the stream thread as lost, wipes their state, rejoins the group and
   * processes the refused record again from the committed offsets.
   */
  public TaskMigratedException handBack(ProcessorContext<?, ?> context) {
    repaired.increment();
    log.warn(
        "handing stream task {} back to Kafka Streams: its thread closes its tasks as lost, which"
            + " wipes their state under exactly-once, and rejoins the group, so they are restored"
            + " from the changelogs' beginning and the refused record is read again",
        context.taskId());
    return new TaskMigratedException(
        "stream task " + context.taskId() + " is handed back to be restored from the beginning:"
            + " its stores lack changelog records (see the log line before)");
  }

  /**
   * Whether a learner should hand back {@code task}, whose published snapshot is at {@code
   * version}: once per published version, for the whole instance, so that a hand-back that does
   * not repair the learner's state cannot loop through the learners Kafka Streams creates anew.
   */
  public boolean firstLearnerHandBack(String task, long version) {
    Long before = learnerHandBacks.get(task);
    if (before != null && before >= version) {
      return false;
    }
    learnerHandBacks.put(task, version);
    return true;
  }

  /** Whether the application of {@code context} runs under exactly-once. */
  public static boolean exactlyOnce(ProcessorContext<?, ?> context) {
    Object guarantee = context.appConfigs().get(StreamsConfig.PROCESSING_GUARANTEE_CONFIG);
    return guarantee != null && StreamsConfig.EXACTLY_ONCE_V2.equals(guarantee.toString());
  }

  @Override
  public void onRestoreStart(
      TopicPartition partition, String store, long startingOffset, long endingOffset) {
    Changelog changelog = new Changelog(store, partition.partition());
    Long gap = damaged.get(changelog);
    if (gap != null && startingOffset <= gap) {
      damaged.remove(changelog);
      log.info(
          "store '{}' of changelog {} is restored again from offset {}, over the records its"
              + " earlier restore skipped",
          store,
          partition,
          startingOffset);
    }
    Long reached = suspended.remove(changelog);
    if (reached != null && startingOffset > reached) {
      skipped.increment();
      damaged.put(changelog, reached);
      log.error(
          "store '{}' of changelog {} resumes its restore at offset {}, but its restore was"
              + " suspended at offset {}: the {} records in between were never restored (a"
              + " defect of Kafka Streams for a task closed while it restored after a"
              + " corruption; see RELIABILITY.md). Its task will be restored again before it"
              + " processes input",
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
