package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CalibratedPrototypesTest {

  /** {@code perClass} noisy examples around each of {@code classes} random directions in 16-d. */
  private static SupportSet support(int classes, int perClass, long seed) {
    Random random = new Random(seed);
    int d = 16;
    float[][] centres = new float[classes][d];
    for (float[] c : centres) {
      for (int k = 0; k < d; k++) {
        c[k] = (float) random.nextGaussian();
      }
    }
    float[][] x = new float[classes * perClass][d];
    int[] y = new int[x.length];
    List<String> labels = new java.util.ArrayList<>();
    for (int c = 0; c < classes; c++) {
      labels.add("c" + c);
    }
    for (int i = 0; i < x.length; i++) {
      y[i] = i % classes;
      for (int k = 0; k < d; k++) {
        x[i][k] = centres[y[i]][k] + (float) (0.8 * random.nextGaussian());
      }
      x[i] = Vectors.normalize(x[i]);
    }
    return new SupportSet(labels, x, y);
  }

  /**
   * The service's first snapshot answers with the prototypes at the temperature robust gives them:
   * the leave-one-out one, shrunk; the labels, centres and threshold are those of the prototypes.
   * Catches the snapshot answering at the fixed scale 15 again (over-confident: ECE 0.10 at 5
   * shots on the train split, against 0.026).
   */
  @Test
  void shouldAnswerWithThePrototypesAtRobustsTemperature() {
    SupportSet support = support(3, 5, 5);
    RobustTransduction robust = new RobustTransduction();
    float expected =
        robust.prototypeTemperature(SupportStatistics.leaveOneOutCosines(support));

    OpenSetClassifier fitted = new CalibratedPrototypes().fitOpenSet(support, new float[0][]);

    assertThat(fitted.classifier().scale()).isEqualTo(expected).isNotEqualTo(15f);
    assertThat(fitted.classifier().weights())
        .isDeepEqualTo(Methods.prototypeClassifier(support, 15f).weights());
    assertThat(fitted.threshold()).isEqualTo(OpenSetThreshold.of(support, 0.95f));
    // The shrinkage is on: the fitted leave-one-out temperature alone differs.
    assertThat(expected)
        .isNotEqualTo(
            SupportStatistics.fitTemperature(
                SupportStatistics.leaveOneOutCosines(support),
                RobustConfig.defaults().minScale(),
                RobustConfig.defaults().maxScale()));
  }

  @Test
  void shouldAnswerAtTheOneShotTemperatureWithoutTwoExamplesOfAClass() {
    SupportSet support = support(4, 1, 6);

    assertThat(new CalibratedPrototypes().temperature(support))
        .isEqualTo(RobustConfig.defaults().oneShotPrototypeScale());
  }

  /**
   * On the stream thread the work is bounded: with 600 classes, {@link
   * CalibratedPrototypes#LOO_BUDGET} / 600 = 13 leave-one-out rows, not 1,200. Catches the bound
   * being dropped (each support change of a large task would then cost 1,200 x 600 cosines and
   * 40 passes of as many exponentials).
   */
  @Test
  void shouldFitTheTemperatureOnABoundedNumberOfRows() {
    SupportSet support = support(600, 2, 7);
    RobustTransduction robust = new RobustTransduction();
    int rows = CalibratedPrototypes.LOO_BUDGET / 600;
    assertThat(rows).isEqualTo(13);

    float bounded = new CalibratedPrototypes().temperature(support);

    assertThat(bounded)
        .isEqualTo(
            robust.prototypeTemperature(SupportStatistics.leaveOneOutCosines(support, rows)))
        .isNotEqualTo(robust.prototypeTemperature(SupportStatistics.leaveOneOutCosines(support)));
  }
}
