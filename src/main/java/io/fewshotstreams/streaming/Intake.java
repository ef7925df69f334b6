package io.fewshotstreams.streaming;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/** Helpers shared by the processors that read users' records. */
public final class Intake {
  private Intake() {}

  /**
   * Forwards a failed record to the dead letters, keyed by its task when it could be read, else by
   * its own key.
   */
  public static void deadLetter(
      ProcessorContext<String, Routed> context,
      Record<byte[], byte[]> record,
      Origin origin,
      DeadLetters deadLetters,
      RuntimeException failure,
      String task,
      String id) {
    context.forward(
        record
            .withKey(task != null ? task : origin.key())
            .withValue(
                new Routed.ToDeadLetters(
                    deadLetters.of(
                        failure, origin, record.value(), task, id, context.currentSystemTimeMs()))));
  }

  /** The origin of the record being processed. */
  public static Origin origin(ProcessorContext<?, ?> context, Record<byte[], byte[]> record) {
    RecordMetadata meta =
        context
            .recordMetadata()
            .orElseThrow(() -> new IllegalStateException("expected record metadata, found none"));
    String key = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
    int size = record.value() == null ? 0 : record.value().length;
    return new Origin(meta.topic(), meta.partition(), meta.offset(), record.timestamp(), key, size);
  }
}
