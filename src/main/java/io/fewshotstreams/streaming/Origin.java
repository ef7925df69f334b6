package io.fewshotstreams.streaming;

import java.util.Objects;

/**
 * Where a user's record came from, carried through internal topics so that a record that fails
 * later still names its source on the dead-letter topic.
 */
record Origin(String topic, int partition, long offset, long timestamp, String key) {
  Origin {
    Objects.requireNonNull(topic, "topic");
  }
}
