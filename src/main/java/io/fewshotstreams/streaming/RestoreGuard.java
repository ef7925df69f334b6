package io.fewshotstreams.streaming;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches Kafka Streams' restores for a store that resumes beyond what it had restored.
 *
 * <p>A restore that is suspended (its task closed or moved while it restored) must resume at or
 * before the offset it had reached: the store holds nothing past it. Kafka Streams 4.4 can resume
 * it further on: a task closed while it restored after a corruption, under exactly-once, records
 * the offsets its changelogs were written to as restored, and the next restore skips the records
 * in between, so the task runs on a store that lacks them (RELIABILITY.md, "Broker away longer
 * than the commit and transaction timeouts"). Kafka Streams gives the application no way to stop
 * that, so this guard makes it loud: an error naming the store, the partition and the records
 * skipped, and the counter {@code fewshot.state.restore.skipped}.
 */
final class RestoreGuard implements StateRestoreListener {
  private static final Logger log = LoggerFactory.getLogger(RestoreGuard.class);

  private record Changelog(String store, TopicPartition partition) {}

  /** Restores in progress: the next offset each would restore. */
  private final Map<Changelog, Long> restoring = new ConcurrentHashMap<>();

  /** Suspended restores: the offset each may resume at, at most. */
  private final Map<Changelog, Long> suspended = new ConcurrentHashMap<>();

  private final Counter skipped;

  RestoreGuard(MeterRegistry registry) {
    skipped =
        Counter.builder("fewshot.state.restore.skipped")
            .description(
                "Restores that Kafka Streams resumed beyond what the store had restored: the"
                    + " store lacks the changelog records in between")
            .register(registry);
  }

  @Override
  public void onRestoreStart(
      TopicPartition partition, String store, long startingOffset, long endingOffset) {
    Changelog changelog = new Changelog(store, partition);
    Long reached = suspended.remove(changelog);
    if (reached != null && startingOffset > reached) {
      skipped.increment();
      log.error(
          "store '{}' of changelog {} resumes its restore at offset {}, but its restore was"
              + " suspended at offset {}: the {} records in between were never restored, so its"
              + " tasks run on incomplete state (a defect of Kafka Streams for a task closed while"
              + " it restored after a corruption; see RELIABILITY.md)",
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
    restoring.put(new Changelog(store, partition), batchEndOffset + 1);
  }

  @Override
  public void onRestoreEnd(TopicPartition partition, String store, long totalRestored) {
    restoring.remove(new Changelog(store, partition));
  }

  @Override
  public void onRestoreSuspended(TopicPartition partition, String store, long totalRestored) {
    Changelog changelog = new Changelog(store, partition);
    Long next = restoring.remove(changelog);
    if (next != null) {
      suspended.put(changelog, next);
      log.info(
          "restore of store '{}' of changelog {} suspended at offset {}, after {} records", store,
          partition, next, totalRestored);
    }
  }

  /** Restores resumed beyond what their store had restored, since this guard was made. */
  long skipped() {
    return (long) skipped.count();
  }
}
