package io.fewshotstreams.streaming.query;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerInterceptor;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * A consumer interceptor of the stream threads' main consumer that remembers, per partition, the
 * offset of the last record a poll returned, so that {@link QueryClassifier} knows whether more
 * records of its partition are already waiting to be processed (a backlog: worth batching) or the
 * record in hand is the last one there is (the input is idle: answer now).
 *
 * <p>The consumer calls the interceptor on the thread that polls, which is the stream thread that
 * then processes the records, so the offsets are kept per thread and need no locking.
 * Installed by {@code FewShotConfig} as {@code main.consumer.interceptor.classes} unless the user
 * sets interceptors of their own.
 */
public final class FetchedOffsets<K, V> implements ConsumerInterceptor<K, V> {
  private static final ThreadLocal<Map<TopicPartition, Long>> LAST =
      ThreadLocal.withInitial(HashMap::new);

  public FetchedOffsets() {
    // Made by the consumer from the class name.
  }

  @Override
  public ConsumerRecords<K, V> onConsume(ConsumerRecords<K, V> records) {
    for (TopicPartition partition : records.partitions()) {
      List<ConsumerRecord<K, V>> polled = records.records(partition);
      if (!polled.isEmpty()) {
        fetched(partition, polled.get(polled.size() - 1).offset());
      }
    }
    return records;
  }

  /** Notes that this thread's consumer has returned the records of {@code partition} up to
   * {@code lastOffset}. */
  static void fetched(TopicPartition partition, long lastOffset) {
    // The latest poll, not the highest offset: after a seek back the partition starts over.
    LAST.get().put(partition, lastOffset);
  }

  /**
   * Whether records after {@code offset} of the partition were already returned to this thread:
   * true when this thread has no interceptor, so that batching then waits for a full batch or
   * the linger as before.
   */
  static boolean moreAfter(String topic, int partition, long offset) {
    Long last = LAST.get().get(new TopicPartition(topic, partition));
    return last == null || last > offset;
  }

  /** Forgets what this thread was told, as a thread without the interceptor. */
  static void forget() {
    LAST.get().clear();
  }

  @Override
  public void onCommit(Map<TopicPartition, OffsetAndMetadata> offsets) {
    // Nothing to do: only fetches matter.
  }

  @Override
  public void close() {
    LAST.remove();
  }

  @Override
  public void configure(Map<String, ?> configs) {
    // No settings.
  }
}
