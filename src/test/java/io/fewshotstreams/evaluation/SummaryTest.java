package io.fewshotstreams.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class SummaryTest {
  @Test
  void shouldReportMeanAndNinetyFivePercentInterval() {
    // accuracies 0.5, 0.7, 0.9: mean 0.7, sample sd 0.2, so ci95 = 1.96 * 0.2 / sqrt(3)
    Summary s = Summary.of("m", new double[] {0.5, 0.7, 0.9}, new double[] {3, 1, 2});

    assertThat(s.meanAccuracy()).isCloseTo(0.7, within(1e-12));
    assertThat(s.ci95()).isCloseTo(1.96 * 0.2 / Math.sqrt(3), within(1e-12));
    assertThat(s.meanMillis()).isCloseTo(2.0, within(1e-12));
    assertThat(s.medianMillis()).isCloseTo(2.0, within(1e-12));
  }
}
