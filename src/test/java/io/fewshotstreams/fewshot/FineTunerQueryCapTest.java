package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FineTunerQueryCapTest {
  private static final int DIMENSION = 32;
  private static final double SPREAD = 0.35;
  private static final double NOISE = 0.9;

  @Test
  void shouldCapTheQueriesAtFivePerClassAboveTheDefaultPool() {
    // 5-way 75 queries and the service's default pool of 100 stay whole; 100 ways keep 500.
    assertThat(FineTuner.maxQueries(5)).isEqualTo(100);
    assertThat(FineTuner.maxQueries(20)).isEqualTo(100);
    assertThat(FineTuner.maxQueries(100)).isEqualTo(500);
  }

  @Test
  void shouldFitASubsampledPoolAsItsEvenlySpacedQueriesWithTheirWeights() {
    // 30 ways, 15 queries per class: 450 queries, of which every third (150 = 5 x 30) is kept.
    // Catches a fit that ignores the cap, picks other queries, or keeps the weights unsubsampled.
    TestData.Episode episode = TestData.clustered(7, 30, 1, 15, DIMENSION, SPREAD, NOISE);
    float[][] queries = episode.queries();
    float[] weights = new float[queries.length];
    for (int j = 0; j < weights.length; j++) {
      weights[j] = (j % 7 + 1) / 7f; // uneven, so a misaligned weight changes the fit
    }
    int kept = FineTuner.maxQueries(30);
    assertThat(queries.length).isEqualTo(3 * kept);
    float[][] every3rd = new float[kept][];
    float[] every3rdWeight = new float[kept];
    for (int t = 0; t < kept; t++) {
      every3rd[t] = queries[3 * t];
      every3rdWeight[t] = weights[3 * t];
    }
    CosineClassifier init =
        Methods.prototypeClassifier(episode.support(), FineTuneConfig.DEFAULT_SCALE);
    FineTuneConfig cfg = FineTuneConfig.transductiveDefaults();

    FineTuneResult whole =
        FineTuner.fineTune(init, episode.support(), queries, weights, null, cfg);
    FineTuneResult subset =
        FineTuner.fineTune(init, episode.support(), every3rd, every3rdWeight, null, cfg);

    assertThat(whole.classifier()).isEqualTo(subset.classifier());
    assertThat(whole.finalLoss()).isEqualTo(subset.finalLoss());
  }
}
