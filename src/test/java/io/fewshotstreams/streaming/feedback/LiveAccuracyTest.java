package io.fewshotstreams.streaming.feedback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.fewshotstreams.events.Outcome;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LiveAccuracyTest {
  private static final int WINDOW = 200;

  @Test
  void shouldComputeAccuracyCalibrationAndConfusionOfAHandMadeSet() {
    LiveAccuracy live = new LiveAccuracy();
    live.add(outcome("A", 0.95, "A", true, 1), WINDOW);
    live.add(outcome("A", 0.95, "B", true, 1), WINDOW);
    live.add(outcome("B", 0.55, "B", true, 1), WINDOW);
    live.add(outcome("B", 0.15, "A", true, 1), WINDOW);

    Tally all = live.all;
    assertThat(all.accuracy()).isEqualTo(0.5);
    // bins: [0.9,1] holds 2 answers, 1 right, confidence 1.9; [0.5,0.6) 1 of 1 at 0.55;
    // [0.1,0.2) 0 of 1 at 0.15: (|1 - 1.9| + |1 - 0.55| + |0 - 0.15|) / 4 = 0.375
    assertThat(all.ece()).isCloseTo(0.375, within(1e-12));
    assertThat(all.binOutcomes[9]).isEqualTo(2);
    assertThat(all.binCorrect[5]).isEqualTo(1);
    assertThat(all.confusion)
        .isEqualTo(Map.of("A", Map.of("A", 1L, "B", 1L), "B", Map.of("A", 1L, "B", 1L)));
    assertThat(all.results).isEqualTo(Map.of(Outcome.CORRECT, 2L, Outcome.WRONG, 2L));
  }

  @Test
  void shouldCountUnknownAnswersApartAndRightOnlyForNewLabels() {
    LiveAccuracy live = new LiveAccuracy();
    live.add(outcome("A", 0.3, "Z", false, 1, true), WINDOW);
    live.add(outcome("A", 0.3, "A", true, 1, true), WINDOW);
    live.add(outcome("A", 0.9, "Z", false, 1, false), WINDOW);

    assertThat(live.all.unknownAnswers).isEqualTo(2);
    assertThat(live.all.unknownRight).as("only the unknown answer to a new label").isEqualTo(1);
    assertThat(live.all.results)
        .isEqualTo(
            Map.of(Outcome.TRUE_UNKNOWN, 1L, Outcome.FALSE_UNKNOWN, 1L, Outcome.OPEN_SET_MISS, 1L));
    assertThat(live.all.confusion.get(Tally.UNKNOWN_ROW)).isEqualTo(Map.of("Z", 1L, "A", 1L));
  }

  @Test
  void shouldSlideTheWindowOverTheLastOutcomesOnly() {
    LiveAccuracy live = new LiveAccuracy();
    live.add(outcome("A", 0.9, "B", true, 1), 2);
    live.add(outcome("A", 0.9, "A", true, 2), 2);
    live.add(outcome("B", 0.9, "B", true, 2), 2);

    assertThat(live.windowTally().accuracy()).as("the wrong first answer slid out").isEqualTo(1.0);
    assertThat(live.all.accuracy()).isEqualTo(2.0 / 3);
    assertThat(live.window).hasSize(2);
  }

  @Test
  void shouldBreakDownOnlyTheLatestVersionsButCountEveryOutcome() {
    LiveAccuracy live = new LiveAccuracy();
    for (long v = 1; v <= 20; v++) {
      live.add(outcome("A", 0.9, "A", true, v), WINDOW);
    }
    assertThat(live.byVersion.keySet()).hasSize(LiveAccuracy.VERSIONS);
    assertThat(live.byVersion.firstKey()).isEqualTo(20 - LiveAccuracy.VERSIONS + 1);
    assertThat(live.all.outcomes).isEqualTo(20);
    assertThat(live.byMethod.get("prototypes").outcomes).isEqualTo(20);
  }

  @Test
  void shouldReadBackWhatItWrote() {
    LiveAccuracy live = new LiveAccuracy();
    live.add(outcome("A", 0.95, "A", true, 3), WINDOW);
    live.add(outcome("B", 0.45, "A", true, 4, true), WINDOW);
    var serde = FeedbackSerdes.accuracy();

    LiveAccuracy back =
        serde.deserializer().deserialize("t", serde.serializer().serialize("t", live));

    assertThat(back.view("t", WINDOW)).isEqualTo(live.view("t", WINDOW));
  }

  private static Outcome outcome(
      String predicted, double p, String truth, boolean known, long version) {
    return outcome(predicted, p, truth, known, version, false);
  }

  private static Outcome outcome(
      String predicted, double p, String truth, boolean known, long version, boolean unknown) {
    String result = Outcome.resultOf(predicted, unknown, truth, known);
    boolean right = result.equals(Outcome.CORRECT) || result.equals(Outcome.TRUE_UNKNOWN);
    return new Outcome(
        1, "t", "q", predicted, p, unknown, truth, known, result, right, version, "prototypes", 0,
        10, 10, false);
  }
}
