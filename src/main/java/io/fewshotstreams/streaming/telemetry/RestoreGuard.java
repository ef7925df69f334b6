package io.fewshotstreams.streaming.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.TaskCorruptedException;
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
 * record; under exactly-once it throws {@link TaskCorruptedException} for a damaged one, which
 * Kafka Streams answers as for its own corruptions: it closes the task, wipes its state and
 * restores it from the changelogs' beginning. Under at-least-once a dirty close keeps the store, so
 * a hand-back would repair nothing: the check logs an error instead. A restore closed before the
 * listener heard that it started is not seen (the learner's own check covers its tasks). As a
 * standby update listener it forgets a suspended restore whose store a standby or warm-up replica
 * then kept up to date, which resumes legitimately beyond where the restore stopped.
 */
public final class RestoreGuard implements StateRestoreListener, StandbyUpdateListener {
  private static final Logger log = LoggerFactory.getLogger(RestoreGuard.class);

  private record Changelog(String store, int partition) {}

  /** Restores in progress: the next offset each would restore. */
  private final Map<Changelog, Long> restoring = new ConcurrentHashMap<>();

  /** Suspended restores: the offset each may resume at, at most. */
  private final Map<Changelog, Long> suspended = new ConcurrentHashMap<>();

  /** Store partitions whose restore skipped records, until their task is restored again. */
  private final Set<Changelog> damaged = ConcurrentHashMap.newKeySet();

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
                "Tasks handed back to Kafka Streams as corrupted, to be restored from the"
                    + " beginning, because a restore of one of their stores skipped records or the"
                    + " learner's state of a task fell behind its published snapshot")
            .register(registry);
  }

  /**
   * Throws {@link TaskCorruptedException} for the context's task when a restore of one of {@code
   * stores} at the task's partition skipped records, once per skip, under exactly-once; under
   * at-least-once logs an error instead. Cheap when nothing was skipped.
   */
  public void check(ProcessorContext<?, ?> context, String... stores) {
    if (damaged.isEmpty()) {
      return;
    }
    TaskId task = context.taskId();
    boolean hit = false;
    for (String store : stores) {
      hit |= damaged.remove(new Changelog(store, task.partition()));
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
    handedBack();
    log.warn(
        "task {} holds a store whose restore skipped changelog records; handing it back to"
            + " Kafka Streams as corrupted, to be restored from the beginning",
        task);
    throw new TaskCorruptedException(Set.of(task));
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
    Long reached = suspended.remove(changelog);
    if (reached != null && startingOffset > reached) {
      skipped.increment();
      damaged.add(changelog);
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

  /** Counts a task handed back to Kafka Streams as corrupted, by this guard or by a processor. */
  public void handedBack() {
    repaired.increment();
  }

  /** Restores resumed beyond what their store had restored, since this guard was made. */
  long skipped() {
    return (long) skipped.count();
  }
}
