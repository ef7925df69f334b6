package io.fewshotstreams.streaming.learner;

import org.apache.kafka.streams.errors.StreamsException;

/**
 * Which failures belong to Kafka rather than to a record: a processor that turned them into dead
 * letters would hide a migrated task or a fenced producer from Kafka Streams, which must see them
 * to close the task and recover.
 */
final class KafkaFailures {
  private static final String CLIENT_ERRORS = "org.apache.kafka.common.errors";

  private KafkaFailures() {}

  /**
   * Whether {@code e} is Kafka Streams' own ({@link StreamsException} and its subclasses, such as
   * {@code TaskMigratedException}) or a Kafka client error of {@code
   * org.apache.kafka.common.errors} (a fenced producer, a timeout): these go through to Kafka
   * Streams.
   */
  static boolean isKafkas(RuntimeException e) {
    return e instanceof StreamsException || CLIENT_ERRORS.equals(e.getClass().getPackageName());
  }
}
