package io.fewshotstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PercentilesTest {

  @Test
  void shouldTakeTheMiddleValueOrTheMeanOfTheTwoMiddleOnes() {
    assertThat(Percentiles.median(new double[] {9, 1, 5})).isEqualTo(5);
    assertThat(Percentiles.median(new double[] {4, 1, 2, 3})).isEqualTo(2.5);
  }

  @Test
  void shouldReportTheNearestRankSoOneSlowValueInAHundredIsTheP99() {
    double[] values = new double[100];
    for (int i = 0; i < values.length; i++) {
      values[i] = i + 1;
    }
    assertThat(Percentiles.percentile(values, 99)).isEqualTo(99);
    assertThat(Percentiles.percentile(values, 100)).isEqualTo(100);
    assertThat(Percentiles.percentile(new double[] {7}, 50)).isEqualTo(7);
  }

  @Test
  void shouldRefuseNoValuesAndPercentilesOutsideTheRange() {
    assertThatThrownBy(() -> Percentiles.median(new double[0]))
        .hasMessageContaining("expected at least one value");
    assertThatThrownBy(() -> Percentiles.percentile(new double[] {1}, 0))
        .hasMessageContaining("expected a percentile in (0, 100], found 0.0");
  }
}
