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

  @Test
  void shouldGiveTheWilsonIntervalOfAProportion() {
    // 50 of 100: the textbook Wilson interval is 0.4038 to 0.5962.
    double[] half = Summary.wilsonInterval(50, 100);
    assertThat(half[0]).isCloseTo(0.4038, within(1e-4));
    assertThat(half[1]).isCloseTo(0.5962, within(1e-4));
    // All right: the interval stays inside [0, 1] and is not a single point.
    double[] all = Summary.wilsonInterval(20, 20);
    assertThat(all[1]).isEqualTo(1.0);
    assertThat(all[0]).isCloseTo(0.8389, within(1e-4));
  }
}
