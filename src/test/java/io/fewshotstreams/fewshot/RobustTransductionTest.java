package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class RobustTransductionTest {

  /** Unit vectors near {@code centre}; noise 0.1 per coordinate in 32-d, so clusters overlap little. */
  private static float[][] around(float[] centre, int count, Random random) {
    float[][] out = new float[count][];
    for (int i = 0; i < count; i++) {
      float[] v = new float[centre.length];
      for (int k = 0; k < v.length; k++) {
        v[k] = centre[k] + (float) (0.1 * random.nextGaussian());
      }
      out[i] = Vectors.normalize(v);
    }
    return out;
  }

  private static float[] axis(int k) {
    float[] v = new float[32];
    v[k] = 1;
    return v;
  }

  @Test
  void shouldAcceptImagesOfRegisteredClassesAndRejectThoseOfAnotherClass() {
    Random random = new Random(5);
    float[][] a = around(axis(0), 5, random);
    float[][] b = around(axis(1), 5, random);
    float[][] support = new float[10][];
    int[] classIndex = new int[10];
    for (int i = 0; i < 5; i++) {
      support[i] = a[i];
      support[5 + i] = b[i];
      classIndex[5 + i] = 1;
    }
    SupportSet set = new SupportSet(java.util.List.of("a", "b"), support, classIndex);
    // Pool: 20 of a, 4 of b (imbalanced), 10 of an unregistered class on axis 2.
    float[][] knownA = around(axis(0), 20, random);
    float[][] knownB = around(axis(1), 4, random);
    float[][] outliers = around(axis(2), 10, random);
    float[][] pool = new float[34][];
    System.arraycopy(knownA, 0, pool, 0, 20);
    System.arraycopy(knownB, 0, pool, 20, 4);
    System.arraycopy(outliers, 0, pool, 24, 10);

    OpenSetClassifier fitted = new RobustTransduction().fitOpenSet(set, pool);

    int accepted = 0;
    int right = 0;
    for (int j = 0; j < 24; j++) {
      accepted += fitted.accepts(pool[j]) ? 1 : 0;
      right += fitted.classifier().predict(pool[j]) == (j < 20 ? 0 : 1) ? 1 : 0;
    }
    int rejected = 0;
    for (int j = 24; j < 34; j++) {
      rejected += fitted.accepts(pool[j]) ? 0 : 1;
    }
    // Own-class cosines are about 0.85 and cosines to another axis about 0, so a threshold read
    // off the support's leave-one-out cosines (5% of them below it) accepts nearly all knowns
    // (22 of 24 allows for the 5%) and no outlier; the imbalance must not move b's queries to a.
    assertThat(accepted).as("registered-class images accepted").isGreaterThanOrEqualTo(22);
    assertThat(rejected).as("unregistered images rejected").isEqualTo(10);
    assertThat(right).as("the rare class b is not swallowed by the frequent class a").isEqualTo(24);
  }

  @Test
  void shouldGiveTheSameClassifierForTheSameInput() {
    TestData.Episode e = TestData.clustered(3, 5, 5, 15, 64, 0.5, 0.6);
    RobustTransduction method = new RobustTransduction();

    OpenSetClassifier first = method.fitOpenSet(e.support(), e.queries());
    OpenSetClassifier second = method.fitOpenSet(e.support(), e.queries());

    assertThat(second.classifier()).isEqualTo(first.classifier());
    assertThat(second.threshold()).isEqualTo(first.threshold());
  }
}
