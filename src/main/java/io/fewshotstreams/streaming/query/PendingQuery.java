package io.fewshotstreams.streaming.query;

import io.fewshotstreams.streaming.Origin;
import java.util.Objects;

/**
 * A query waiting in the pending-queries store for its batch: what is needed to finish it after a
 * restart as well as before one. {@code value} is the record's value as read (null for a record
 * without one); like {@code Record}'s value it is shared, not copied, and never modified.
 *
 * @param receivedAtMs wall-clock time the query was read, for its latency when it is finished by
 *     another instance or after a restart
 */
public record PendingQuery(Origin origin, long receivedAtMs, byte[] value) {
  public PendingQuery {
    Objects.requireNonNull(origin, "origin");
    if (value != null && value.length != origin.valueBytes()) {
      throw new IllegalArgumentException(
          "expected a value of "
              + origin.valueBytes()
              + " bytes as the origin says, found "
              + value.length);
    }
  }
}
