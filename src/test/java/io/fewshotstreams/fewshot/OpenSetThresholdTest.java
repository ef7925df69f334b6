package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class OpenSetThresholdTest {

  /**
   * The prototype snapshot and the robust fine-tune must answer "unknown" by the same rule: for
   * the same support and share, the same threshold. Catches the two rules drifting apart.
   */
  @Test
  void shouldGiveTheThresholdRobustTransductionGives() {
    Random random = new Random(5);
    int d = 16;
    float[][] x = new float[15][d];
    int[] y = new int[15];
    for (int i = 0; i < x.length; i++) {
      y[i] = i % 3;
      for (int k = 0; k < d; k++) {
        x[i][k] = (float) (0.4 * random.nextGaussian());
      }
      x[i][y[i]] += 1f;
    }
    SupportSet support = new SupportSet(List.of("a", "b", "c"), x, y);
    for (float share : new float[] {0.8f, 0.95f}) {
      float expected =
          new RobustTransduction(RobustConfig.defaults().with("acceptShare", share))
              .fitOpenSet(support, new float[0][])
              .threshold();
      assertThat(OpenSetThreshold.of(support, share)).isEqualTo(expected);
    }
    // A higher share accepts more, so its threshold is lower (the quantile moves down).
    assertThat(OpenSetThreshold.of(support, 0.95f)).isLessThan(OpenSetThreshold.of(support, 0.5f));
  }

  @Test
  void shouldFallBackToTheOneShotThresholdWithOneExamplePerClass() {
    SupportSet oneShot =
        new SupportSet(List.of("a", "b"), new float[][] {{1, 0}, {0, 1}}, new int[] {0, 1});
    assertThat(OpenSetThreshold.of(oneShot, 0.95f))
        .isEqualTo(RobustConfig.defaults().oneShotThreshold());
  }

  @Test
  void shouldRefuseAShareOutsideZeroToOne() {
    SupportSet oneShot =
        new SupportSet(List.of("a", "b"), new float[][] {{1, 0}, {0, 1}}, new int[] {0, 1});
    assertThatThrownBy(() -> OpenSetThreshold.of(oneShot, 0f))
        .hasMessageContaining("expected an accept share in (0, 1], found 0.0");
  }
}
