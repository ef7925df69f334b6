package io.fewshotstreams.streaming.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.errors.TaskCorruptedException;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.processor.TaskId;
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
 * (RELIABILITY.md, "Broker away longer than the commit and transaction timeouts").
 *
 * <p>The guard sees it as a restore listener: it logs an error naming the store, the partition
 * and the records skipped, counts it ({@code fewshot.state.restore.skipped}), and marks the store's
 * partition damaged. The processors that own stores call {@link #check} before they touch them;
 * for a damaged one it throws {@link TaskCorruptedException}, which Kafka Streams answers as for
 * its own corruptions: it closes the task, wipes its state under exactly-once and restores it from
 * the changelogs' beginning. So no input is applied to the incomplete store. A restore that was
 * suspended before it restored anything, before the listener heard of it, is not seen.
 */
public final class RestoreGuard implements StateRestoreListener {
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
                    + " beginning, because a restore of one of their stores skipped records")
            .register(registry);
  }

  /**
   * Throws {@link TaskCorruptedException} for {@code task} when a restore of one of {@code stores}
   * at the task's partition skipped records, once per skip. Cheap when nothing was skipped.
   */
  public void check(TaskId task, String... stores) {
    if (damaged.isEmpty()) {
      return;
    }
    boolean hit = false;
    for (String store : stores) {
      hit |= damaged.remove(new Changelog(store, task.partition()));
    }
    if (hit) {
      handedBack();
      log.warn(
          "task {} holds a store whose restore skipped changelog records; handing it back to"
              + " Kafka Streams as corrupted, to be restored from the beginning",
          task);
      throw new TaskCorruptedException(Set.of(task));
    }
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

  /** Counts a task handed back to Kafka Streams as corrupted, by this guard or by a processor. */
  public void handedBack() {
    repaired.increment();
  }

  /** Restores resumed beyond what their store had restored, since this guard was made. */
  long skipped() {
    return (long) skipped.count();
  }
}
