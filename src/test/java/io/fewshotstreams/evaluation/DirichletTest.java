package io.fewshotstreams.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class DirichletTest {

  @Test
  void shouldGiveEachClassOneQueryAndShareTheRestByProportion() {
    // 25 queries, 5 classes: 1 each, then 20 shared as 10, 6, 4, 0, 0.
    int[] counts = Dirichlet.counts(new double[] {0.5, 0.3, 0.2, 0, 0}, 25);

    assertThat(counts).containsExactly(11, 7, 5, 1, 1);
  }

  @Test
  void shouldHandOutTheRoundingRemainderByLargestFractionSoCountsSumToTheTotal() {
    // 7 queries, 3 equal classes: 1 each, 4 shared as 1.33 each: floors give 1, 1, 1 and the
    // one left goes to the first of the tied fractions.
    int[] counts = Dirichlet.counts(new double[] {1.0 / 3, 1.0 / 3, 1.0 / 3}, 7);

    assertThat(counts).containsExactly(3, 2, 2);
  }

  @Test
  void shouldRefuseFewerQueriesThanClasses() {
    assertThatThrownBy(() -> Dirichlet.counts(new double[] {0.5, 0.5}, 1))
        .hasMessageContaining("found total 1 for 2 classes");
  }

  @Test
  void shouldDrawProportionsWithTheDirichletMeanAndVariance() {
    assertMoments(2.0);
    assertMoments(0.5); // alpha < 1 goes through the boosted Gamma draw
  }

  /** Symmetric Dirichlet over K = 5: mean 1/K, variance (1/K)(1 - 1/K) / (K alpha + 1). */
  private static void assertMoments(double alpha) {
    int k = 5;
    int draws = 20000;
    Random random = new Random(3);
    double sum = 0;
    double squares = 0;
    for (int i = 0; i < draws; i++) {
      double[] p = Dirichlet.proportions(k, alpha, random);
      double total = 0;
      for (double v : p) {
        assertThat(v).isBetween(0.0, 1.0);
        total += v;
      }
      assertThat(total).isCloseTo(1.0, within(1e-9));
      sum += p[0];
      squares += p[0] * p[0];
    }
    double mean = sum / draws;
    double variance = squares / draws - mean * mean;
    double expectedVariance = 0.2 * 0.8 / (k * alpha + 1); // 0.014545 at 2, 0.045714 at 0.5
    // Standard error of the mean is sqrt(var / 20000) <= 0.0016; 0.005 is three of them.
    assertThat(mean).as("mean at alpha %s", alpha).isCloseTo(0.2, within(0.005));
    // The sample variance of 20000 draws is within about 3% of the true one; 8% leaves room.
    assertThat(variance)
        .as("variance at alpha %s", alpha)
        .isCloseTo(expectedVariance, within(0.08 * expectedVariance));
  }
}
