package io.fewshotstreams.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Objects;

/**
 * A record the service could not process, with the reason and where it came from. The original
 * value travels along ({@code value}, as UTF-8 text or base64) unless it is larger than the
 * configured limit, in which case {@code valueOmitted} is true and {@code sourceTopic}, {@code
 * partition} and {@code offset} point at it.
 *
 * @param reason the machine-readable reason
 * @param message what was expected and what was found
 * @param sourceTopic the topic the record was read from (the user-facing topic, also for records
 *     that failed after an internal repartition)
 * @param partition its partition
 * @param offset its offset
 * @param timestamp its timestamp, epoch milliseconds
 * @param key its key as UTF-8 text, or null
 * @param value the original value, or null when omitted or absent
 * @param valueEncoding {@code utf8} or {@code base64}, for {@code value}
 * @param valueBytes the size of the original value in bytes
 * @param valueOmitted whether the value was left out for its size
 * @param task the task named by the record, when it could be read
 * @param id the example or query id named by the record, when it could be read
 * @param failedAt when the record was dead-lettered, epoch milliseconds
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record DeadLetter(
    int schemaVersion,
    DeadLetterReason reason,
    String message,
    String sourceTopic,
    int partition,
    long offset,
    long timestamp,
    String key,
    String value,
    String valueEncoding,
    int valueBytes,
    boolean valueOmitted,
    String task,
    String id,
    long failedAt) {

  public static final String UTF8 = "utf8";
  public static final String BASE64 = "base64";

  public DeadLetter {
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(message, "message");
    Objects.requireNonNull(sourceTopic, "sourceTopic");
  }
}
