package io.fewshotstreams.streaming;

import io.fewshotstreams.embedding.InvalidImageException;
import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.InvalidEventException;
import io.fewshotstreams.fewshot.InvalidInputException;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one bad-record policy of the service: every record that cannot be processed becomes a {@link
 * DeadLetter} with its reason and origin, is logged and counted, and goes to the dead-letter topic. Nothing is
 * dropped silently and nothing stops the application.
 */
public final class DeadLetters {
  private static final Logger log = LoggerFactory.getLogger(DeadLetters.class);

  private final int maxValueBytes;
  private final Telemetry telemetry;

  /** Dead letters that keep values up to {@code maxValueBytes}, counted in {@code telemetry}. */
  public DeadLetters(int maxValueBytes, Telemetry telemetry) {
    this.maxValueBytes = maxValueBytes;
    this.telemetry = telemetry;
  }

  /** The reason for a failure thrown while reading, embedding or applying a record. */
  static DeadLetterReason reasonOf(RuntimeException e) {
    if (e instanceof InvalidEventException invalid) {
      return invalid.reason();
    }
    if (e instanceof InvalidImageException) {
      return DeadLetterReason.INVALID_IMAGE;
    }
    if (e instanceof InvalidInputException) {
      return DeadLetterReason.INVALID_EMBEDDING;
    }
    return DeadLetterReason.INTERNAL_ERROR;
  }

  /** A dead letter for a failure; unexpected failures are logged with their stack trace. */
  public DeadLetter of(
      RuntimeException e, Origin origin, byte[] value, String task, String id, long now) {
    DeadLetterReason reason = reasonOf(e);
    if (reason == DeadLetterReason.INTERNAL_ERROR) {
      log.error("unexpected failure on {}-{}@{}", origin.topic(), origin.partition(), origin.offset(), e);
    }
    String message = e.getMessage() == null ? e.getClass().getName() : e.getMessage();
    return of(reason, message, origin, value, task, id, now);
  }

  /**
   * A dead letter with the record's value, or, when {@code value} is null, none: then {@code
   * valueOmitted} says whether the original had one (its size comes from the origin).
   */
  public DeadLetter of(
      DeadLetterReason reason,
      String message,
      Origin origin,
      byte[] value,
      String task,
      String id,
      long now) {
    log.warn(
        "dead letter {} from {}-{}@{}: {}",
        reason,
        origin.topic(),
        origin.partition(),
        origin.offset(),
        message);
    telemetry.deadLetter(reason, origin.topic());
    int size = value == null ? origin.valueBytes() : value.length;
    // Without the bytes at hand (a record that failed after the repartition) the value is omitted.
    boolean omitted = value == null ? size > 0 : size > maxValueBytes;
    String text = null;
    String encoding = null;
    if (value != null && !omitted) {
      text = utf8(value);
      encoding = DeadLetter.UTF8;
      if (text == null) {
        text = Base64.getEncoder().encodeToString(value);
        encoding = DeadLetter.BASE64;
      }
    }
    return new DeadLetter(
        1,
        reason,
        message,
        origin.topic(),
        origin.partition(),
        origin.offset(),
        origin.timestamp(),
        origin.key(),
        text,
        encoding,
        size,
        omitted,
        task,
        id,
        now);
  }

  private static String utf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  /** Header prefix of the reason and origin of a raw dead letter. */
  public static final String HEADER_PREFIX = "fewshot.dlt.";

  /**
   * Writes dead letters to their topic: as the JSON {@link DeadLetter} envelope, or raw, as the
   * original key and value (with the original headers), with the reason and origin in {@value
   * #HEADER_PREFIX}{@code *} headers ({@code reason}, {@code message}, {@code topic}, {@code
   * partition}, {@code offset}, {@code timestamp}, {@code task}, {@code id}, {@code failed.at}, and
   * {@code value.omitted} when the value was not kept), so that standard tools can replay them.
   */
  static final class Writer implements Processor<String, Routed, String, byte[]> {
    private final EventCodec codec;
    private final boolean raw;
    private ProcessorContext<String, byte[]> context;

    Writer(EventCodec codec, boolean raw) {
      this.codec = codec;
      this.raw = raw;
    }

    @Override
    public void init(ProcessorContext<String, byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(Record<String, Routed> record) {
      DeadLetter letter = ((Routed.ToDeadLetters) record.value()).deadLetter();
      if (!raw) {
        context.forward(record.withValue(codec.write(letter)));
        return;
      }
      Headers headers = new RecordHeaders(record.headers().toArray());
      header(headers, "reason", letter.reason().name());
      header(headers, "message", letter.message());
      header(headers, "topic", letter.sourceTopic());
      header(headers, "partition", String.valueOf(letter.partition()));
      header(headers, "offset", String.valueOf(letter.offset()));
      header(headers, "timestamp", String.valueOf(letter.timestamp()));
      header(headers, "task", letter.task());
      header(headers, "id", letter.id());
      header(headers, "failed.at", String.valueOf(letter.failedAt()));
      if (letter.valueOmitted()) {
        header(headers, "value.omitted", String.valueOf(letter.valueBytes()));
      }
      long timestamp = letter.timestamp() >= 0 ? letter.timestamp() : record.timestamp();
      context.forward(new Record<>(letter.key(), originalValue(letter), timestamp, headers));
    }

    private static void header(Headers headers, String name, String value) {
      if (value != null) {
        headers.add(HEADER_PREFIX + name, value.getBytes(StandardCharsets.UTF_8));
      }
    }
  }

  /** The original value of a dead letter, or null when it was not kept. */
  static byte[] originalValue(DeadLetter letter) {
    if (letter.value() == null) {
      return null;
    }
    return DeadLetter.BASE64.equals(letter.valueEncoding())
        ? Base64.getDecoder().decode(letter.value())
        : letter.value().getBytes(StandardCharsets.UTF_8);
  }
}
