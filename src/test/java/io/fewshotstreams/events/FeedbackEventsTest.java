package io.fewshotstreams.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The feedback, outcome and review events: their examples, and what the codec refuses. */
class FeedbackEventsTest {
  private static final EventCodec CODEC = new EventCodec();

  @Test
  void shouldReadTheShippedExamples() {
    assertThat(CODEC.violations(EventType.FEEDBACK, example("feedback.json"))).isEmpty();
    assertThat(CODEC.violations(EventType.OUTCOME, example("outcome.json"))).isEmpty();
    assertThat(CODEC.violations(EventType.REVIEW, example("review.json"))).isEmpty();

    FeedbackEvent feedback = CODEC.readFeedback(example("feedback.json"));
    assertThat(feedback.promoted()).isTrue();
    assertThat(feedback.queryId()).isEqualTo("q-20261129-0001");
    Outcome outcome = CODEC.readOutcome(example("outcome.json"));
    assertThat(outcome.result()).isEqualTo(Outcome.WRONG);
    assertThat(outcome.truthDelayMs()).isEqualTo(outcome.feedbackAt() - outcome.predictedAt());
    assertThat(CODEC.readReview(example("review.json")).reason())
        .isEqualTo(ReviewItem.LOW_CONFIDENCE);
  }

  @Test
  void shouldRoundTripAFeedbackWithoutPromote() {
    FeedbackEvent f = new FeedbackEvent(1, "t", "q", "A", null);

    assertThat(new String(CODEC.write(f), StandardCharsets.UTF_8)).doesNotContain("promote");
    assertThat(CODEC.readFeedback(CODEC.write(f))).isEqualTo(f);
    assertThat(f.promoted()).isFalse();
  }

  @Test
  void shouldRefuseFeedbackWithoutALabelAsASchemaViolation() {
    byte[] json =
        "{\"schemaVersion\":1,\"task\":\"t\",\"queryId\":\"q\"}".getBytes(StandardCharsets.UTF_8);

    assertThatThrownBy(() -> CODEC.readFeedback(json))
        .isInstanceOf(InvalidEventException.class)
        .hasMessageContaining("label");
  }

  @Test
  void shouldRefuseAnOutcomeWhoseCorrectFlagContradictsItsResult() {
    assertThatThrownBy(
            () ->
                new Outcome(
                    1, "t", "q", "A", 0.9, false, "B", true, Outcome.WRONG, true, 1,
                    "prototypes", 0, 1, 1, false))
        .hasMessageContaining("correct=false");
  }

  @Test
  void shouldNameEachResultOfAnAnswer() {
    assertThat(Outcome.resultOf("A", false, "A", true)).isEqualTo(Outcome.CORRECT);
    assertThat(Outcome.resultOf("A", false, "B", true)).isEqualTo(Outcome.WRONG);
    assertThat(Outcome.resultOf("A", true, "Z", false)).isEqualTo(Outcome.TRUE_UNKNOWN);
    assertThat(Outcome.resultOf("A", true, "A", true)).isEqualTo(Outcome.FALSE_UNKNOWN);
    assertThat(Outcome.resultOf("A", false, "Z", false)).isEqualTo(Outcome.OPEN_SET_MISS);
  }

  private static byte[] example(String name) {
    String resource = "/schemas/examples/" + name;
    try (InputStream in = FeedbackEventsTest.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("expected the example " + name + " on the classpath");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
