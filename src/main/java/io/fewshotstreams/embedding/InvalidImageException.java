package io.fewshotstreams.embedding;

import io.fewshotstreams.FewShotException;
import java.util.Objects;

/**
 * One image could not be turned into a tensor. The {@link Reason} is meant for metrics and for the
 * dead-letter record; the message names the problem with the offending values.
 */
public class InvalidImageException extends FewShotException {
  private static final long serialVersionUID = 1L;

  /** Why an image was refused. */
  public enum Reason {
    /** Zero bytes. */
    EMPTY,
    /** More encoded bytes than {@link ImageLimits#maxEncodedBytes()}. */
    TOO_MANY_BYTES,
    /** The header declares more pixels than {@link ImageLimits#maxPixels()}. */
    TOO_MANY_PIXELS,
    /** Not PNG or JPEG, or a PNG/JPEG variant the decoder cannot read. */
    UNSUPPORTED_FORMAT,
    /** Looks like PNG or JPEG but is truncated or damaged. */
    CORRUPT
  }

  private final Reason reason;

  public InvalidImageException(Reason reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public InvalidImageException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public Reason reason() {
    return reason;
  }
}
