package io.fewshotstreams.events;

import io.fewshotstreams.FewShotException;
import java.util.Objects;

/** An incoming event that cannot be read; {@link #reason()} goes on its dead-letter record. */
public class InvalidEventException extends FewShotException {
  private static final long serialVersionUID = 1L;

  private final DeadLetterReason reason;

  public InvalidEventException(DeadLetterReason reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public InvalidEventException(DeadLetterReason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public DeadLetterReason reason() {
    return reason;
  }
}
