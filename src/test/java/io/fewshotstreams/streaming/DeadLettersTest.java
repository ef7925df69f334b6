package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.embedding.InvalidImageException;
import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.InvalidEventException;
import io.fewshotstreams.fewshot.InvalidInputException;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

class DeadLettersTest {
  private static final Origin ORIGIN = new Origin("fewshot-queries", 1, 99, 5L, "key", 12);

  @Test
  void shouldKeepTextValuesAsTextAndBinaryValuesAsBase64() {
    DeadLetters policy = new DeadLetters(1024, new Telemetry(new SimpleMeterRegistry(), 0));
    DeadLetter text =
        policy.of(
            DeadLetterReason.INVALID_JSON, "m", ORIGIN, "{é".getBytes(StandardCharsets.UTF_8), null, null, 7);
    assertThat(text.value()).isEqualTo("{é");
    assertThat(text.valueEncoding()).isEqualTo(DeadLetter.UTF8);
    byte[] binary = {(byte) 0xff, (byte) 0xfe, 0};
    DeadLetter b = policy.of(DeadLetterReason.INVALID_JSON, "m", ORIGIN, binary, null, null, 7);
    assertThat(Base64.getDecoder().decode(b.value())).containsExactly(binary);
    assertThat(b.valueEncoding()).isEqualTo(DeadLetter.BASE64);
    assertThat(b.sourceTopic()).isEqualTo("fewshot-queries");
    assertThat(b.partition()).isEqualTo(1);
    assertThat(b.offset()).isEqualTo(99);
  }

  @Test
  void shouldLeaveOutAValueLargerThanTheLimitButSayHowLargeItWas() {
    DeadLetter d =
        new DeadLetters(10, new Telemetry(new SimpleMeterRegistry(), 0))
            .of(DeadLetterReason.RECORD_TOO_LARGE, "m", ORIGIN, new byte[11], null, null, 7);
    assertThat(d.value()).isNull();
    assertThat(d.valueOmitted()).isTrue();
    assertThat(d.valueBytes()).isEqualTo(11);
  }

  @Test
  void shouldNameTheReasonOfEachKindOfFailure() {
    assertThat(DeadLetters.reasonOf(new InvalidEventException(DeadLetterReason.SCHEMA_VIOLATION, "x")))
        .isEqualTo(DeadLetterReason.SCHEMA_VIOLATION);
    assertThat(
            DeadLetters.reasonOf(
                new InvalidImageException(InvalidImageException.Reason.CORRUPT, "x")))
        .isEqualTo(DeadLetterReason.INVALID_IMAGE);
    assertThat(DeadLetters.reasonOf(new InvalidInputException("NaN")))
        .isEqualTo(DeadLetterReason.INVALID_EMBEDDING);
    assertThat(DeadLetters.reasonOf(new IllegalStateException("bug")))
        .isEqualTo(DeadLetterReason.INTERNAL_ERROR);
  }

  @Test
  void shouldMarkTheValueOmittedWhenTheRecordFailedAfterTheRepartition() {
    // The learner has the origin (12 bytes of value) but not the bytes themselves.
    DeadLetter d =
        new DeadLetters(1024, new Telemetry(new SimpleMeterRegistry(), 0)).of(DeadLetterReason.UNKNOWN_EXAMPLE, "m", ORIGIN, null, "t", "e", 7);
    assertThat(d.value()).isNull();
    assertThat(d.valueOmitted()).isTrue();
    assertThat(d.valueBytes()).isEqualTo(12);
  }
}
