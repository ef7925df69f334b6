package io.fewshotstreams.events;

/**
 * Reads incoming events, validated against the schemas under {@code schemas/}, and writes outgoing
 * ones. Thread-safe.
 */
public final class EventCodec {

  /** Largest record accepted by default: a 10 MiB image in base64 plus the envelope. */
  public static final int DEFAULT_MAX_RECORD_BYTES = 14 * 1024 * 1024;

  public EventCodec() {
    this(DEFAULT_MAX_RECORD_BYTES);
  }

  /** A codec that refuses records larger than {@code maxRecordBytes}. */
  public EventCodec(int maxRecordBytes) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /**
   * Parses and validates a support event.
   *
   * @throws InvalidEventException with {@link DeadLetterReason#RECORD_TOO_LARGE}, {@link
   *     DeadLetterReason#INVALID_JSON} or {@link DeadLetterReason#SCHEMA_VIOLATION}
   */
  public SupportEvent readSupport(byte[] value) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /** Parses and validates a query event; throws as {@link #readSupport}. */
  public QueryEvent readQuery(byte[] value) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /** Parses and validates a model snapshot; throws as {@link #readSupport}. */
  public ModelSnapshot readSnapshot(byte[] value) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /** Parses a prediction (for clients and tests); throws as {@link #readSupport}. */
  public Prediction readPrediction(byte[] value) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /** Parses a dead letter (for clients and tests); throws as {@link #readSupport}. */
  public DeadLetter readDeadLetter(byte[] value) {
    throw new UnsupportedOperationException("not yet implemented");
  }

  /** The JSON of any event record of this package, as UTF-8. */
  public byte[] write(Object event) {
    throw new UnsupportedOperationException("not yet implemented");
  }
}
