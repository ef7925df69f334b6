package io.fewshotstreams.streaming;

import java.util.Objects;

/**
 * Where a user's record came from, carried through internal topics so that a record that fails
 * later still names its source on the dead-letter topic. {@code valueBytes} is the size of its
 * value, which is not carried along.
 */
public record Origin(
    String topic, int partition, long offset, long timestamp, String key, int valueBytes) {
  public Origin {
    Objects.requireNonNull(topic, "topic");
  }
}
