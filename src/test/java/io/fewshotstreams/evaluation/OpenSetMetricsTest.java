package io.fewshotstreams.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class OpenSetMetricsTest {

  @Test
  void shouldCountEachPositiveNegativePairWithTiesAsHalf() {
    // Pairs: 0.9 and 0.8 beat both negatives (4), 0.4 loses to 0.5 (0) and ties 0.4 (0.5): 4.5 / 6.
    double auroc = OpenSetMetrics.auroc(new double[] {0.9, 0.8, 0.4}, new double[] {0.5, 0.4});

    assertThat(auroc).isCloseTo(0.75, within(1e-12));
  }

  @Test
  void shouldGiveOneForPerfectSeparationAndZeroForReversedScores() {
    assertThat(OpenSetMetrics.auroc(new double[] {2, 3}, new double[] {0, 1})).isEqualTo(1.0);
    assertThat(OpenSetMetrics.auroc(new double[] {0, 1}, new double[] {2, 3})).isEqualTo(0.0);
  }

  @Test
  void shouldRefuseAnAurocWithoutNegatives() {
    assertThatThrownBy(() -> OpenSetMetrics.auroc(new double[] {1}, new double[0]))
        .hasMessageContaining("found 1 and 0");
  }

  @Test
  void shouldWeighEachBinsGapBetweenAccuracyAndConfidenceByItsShare() {
    // 15 bins: 0.95 falls in bin 14, where 1 of 2 is right at mean confidence 0.95 (gap 0.45);
    // 0.55 in bin 8, where 2 of 2 are right (gap 0.45). Each bin holds half: ECE = 0.45.
    double ece =
        OpenSetMetrics.expectedCalibrationError(
            new double[] {0.95, 0.95, 0.55, 0.55}, new boolean[] {true, false, true, true}, 15);

    assertThat(ece).isCloseTo(0.45, within(1e-12));
  }

  @Test
  void shouldGiveZeroForConfidencesThatMatchTheAccuracyOfTheirBin() {
    // Confidence 1.0 belongs to the last bin, and all such predictions are right: no gap.
    // Confidence 0.5 (bin 7) with one of two right: no gap either.
    double ece =
        OpenSetMetrics.expectedCalibrationError(
            new double[] {1.0, 1.0, 0.5, 0.5}, new boolean[] {true, true, true, false}, 15);

    assertThat(ece).isCloseTo(0.0, within(1e-12));
  }

  @Test
  void shouldDrawTheReliabilityDiagramBehindTheEce() {
    double[][] confidence = {{0.9, 0.9}, {0.9, 0.9}, {0.6, 0.6}};
    boolean[][] correct = {{true, true}, {true, false}, {false, false}};

    java.util.List<OpenSetMetrics.ReliabilityBin> bins =
        OpenSetMetrics.pooledReliability(confidence, correct, 15);

    // Only the two bins that hold predictions, in order of confidence: bin 9 ([0.6, 0.667)) with
    // 2 at 0.6, none right; bin 13 ([0.867, 0.933)) with 4 at 0.9, 3 right. Their weighted gaps
    // add up to the pooled ECE (catches bins mislabelled, or a diagram that is not the ECE's).
    assertThat(bins).hasSize(2);
    assertThat(bins.get(0).lower()).isCloseTo(9 / 15.0, within(1e-12));
    assertThat(bins.get(0).upper()).isCloseTo(10 / 15.0, within(1e-12));
    assertThat(bins.get(0).count()).isEqualTo(2);
    assertThat(bins.get(0).confidence()).isCloseTo(0.6, within(1e-12));
    assertThat(bins.get(0).accuracy()).isEqualTo(0.0);
    assertThat(bins.get(1).lower()).isCloseTo(13 / 15.0, within(1e-12));
    assertThat(bins.get(1).count()).isEqualTo(4);
    assertThat(bins.get(1).confidence()).isCloseTo(0.9, within(1e-12));
    assertThat(bins.get(1).accuracy()).isEqualTo(0.75);
    double fromBins = 0;
    for (OpenSetMetrics.ReliabilityBin b : bins) {
      fromBins += b.count() / 6.0 * Math.abs(b.accuracy() - b.confidence());
    }
    assertThat(fromBins)
        .isCloseTo(
            OpenSetMetrics.pooledCalibrationError(confidence, correct, 15, 0, 1)[0],
            within(1e-12));
  }

  @Test
  void shouldPoolEpisodesAndBracketTheEceWithItsBootstrapInterval() {
    double[][] confidence = {{0.9, 0.9}, {0.9, 0.9}, {0.6, 0.6}};
    boolean[][] correct = {{true, true}, {true, false}, {false, false}};

    double[] ece = OpenSetMetrics.pooledCalibrationError(confidence, correct, 15, 100, 1);

    // Pooled: bin 13 holds 4 at 0.9 with 3 right (gap 0.6 / 6), bin 9 holds 2 at 0.6, none right
    // (gap 1.2 / 6): 0.3.
    assertThat(ece[0]).isCloseTo(0.3, within(1e-12));
    assertThat(ece[1]).isLessThanOrEqualTo(ece[0]);
    assertThat(ece[2]).isGreaterThanOrEqualTo(ece[0]);
  }

  @Test
  void shouldGiveOneTasksGapBetweenMeanConfidenceAndAccuracy() {
    // Mean confidence 0.6, 1 of 4 right: 0.35 over-confident; the reverse is as far off.
    assertThat(
            OpenSetMetrics.taskGap(
                new double[] {0.9, 0.5, 0.5, 0.5}, new boolean[] {true, false, false, false}))
        .isCloseTo(0.35, within(1e-12));
    assertThat(
            OpenSetMetrics.taskGap(
                new double[] {0.4, 0.4, 0.4, 0.4}, new boolean[] {true, true, true, false}))
        .isCloseTo(0.35, within(1e-12));
    // It asks nothing of each bin: one over-confident and one under-confident answer cancel.
    assertThat(
            OpenSetMetrics.taskGap(new double[] {0.9, 0.1}, new boolean[] {false, true}))
        .isCloseTo(0.0, within(1e-12));
    assertThatThrownBy(() -> OpenSetMetrics.taskGap(new double[0], new boolean[0]))
        .hasMessageContaining("found 0 and 0");
  }
}
