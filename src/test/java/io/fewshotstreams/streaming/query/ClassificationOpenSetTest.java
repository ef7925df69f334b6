package io.fewshotstreams.streaming.query;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import java.util.List;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

/** The open-set fields of a prediction, from the snapshot's centres and threshold. */
class ClassificationOpenSetTest {

  private static ModelSnapshot snapshot(Float threshold, float[] centreOfA) {
    return new ModelSnapshot(1, "t", 4, ModelSnapshot.FINE_TUNED, "robust", "b", 2, 10f,
        List.of(
            new ModelSnapshot.ClassWeights("A", 2, new float[] {1, 0}, 0f, centreOfA),
            new ModelSnapshot.ClassWeights("B", 2, new float[] {0, 1}, 0f)),
        4, 0, 1L, null, null, threshold);
  }

  private static Prediction predict(ModelSnapshot s, float[] x) {
    return Classification.predict(
        s, Classification.classifier(s), x, "q", null, "b", 1.0, 0L, 1L);
  }

  /**
   * A feature between the classes (cosine 0.6 to A's weights, 0.8 to B's) is labelled B either
   * way; it is unknown under a 0.9 threshold and accepted under 0.7. Catches an inverted comparison
   * or a label that changes with the open-set answer.
   */
  @Test
  void shouldAcceptByTheThresholdAndKeepTheMostProbableLabel() {
    float[] x = {0.6f, 0.8f};
    Prediction strict = predict(snapshot(0.9f, null), x);
    assertThat(strict.label()).isEqualTo("B");
    assertThat(strict.openSetScore()).isCloseTo(0.8, Offset.offset(1e-6));
    assertThat(strict.accepted()).isFalse();
    assertThat(strict.unknown()).isTrue();
    Prediction lenient = predict(snapshot(0.7f, null), x);
    assertThat(lenient.label()).isEqualTo("B");
    assertThat(lenient.accepted()).isTrue();
  }

  /** The score is measured against a class's centre when it has one, not its weights. */
  @Test
  void shouldScoreAgainstTheCentreWhenTheSnapshotHasOne() {
    float[] x = {0.6f, 0.8f};
    // A's centre points at x exactly: score 1, although its weights are at cosine 0.6.
    Prediction p = predict(snapshot(0.9f, new float[] {3, 4}), x);
    assertThat(p.openSetScore()).isCloseTo(1.0, Offset.offset(1e-6));
    assertThat(p.accepted()).isTrue();
  }

  /** A snapshot written before thresholds existed accepts every query. */
  @Test
  void shouldAcceptEverythingWithoutAThreshold() {
    Prediction p = predict(snapshot(null, null), new float[] {-0.6f, -0.8f});
    assertThat(p.openSetScore()).isCloseTo(-0.6, Offset.offset(1e-6));
    assertThat(p.accepted()).isTrue();
  }
}
