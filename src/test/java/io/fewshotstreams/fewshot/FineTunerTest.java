package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class FineTunerTest {
  // Overlapping clusters in 64 dimensions: prototypes from one shot are clearly imperfect.
  private static final int DIMENSION = 64;
  private static final double SPREAD = 0.35;
  private static final double NOISE = 0.9;

  @Test
  void shouldReduceTheLossAndImproveAccuracyTransductively() {
    double prototypeAccuracy = 0;
    double tunedAccuracy = 0;
    int episodes = 10;
    for (int e = 0; e < episodes; e++) {
      TestData.Episode episode = TestData.clustered(e, 5, 1, 15, DIMENSION, SPREAD, NOISE);
      CosineClassifier init = Methods.prototypeClassifier(episode.support(), FineTuneConfig.DEFAULT_SCALE);
      FineTuneResult result =
          FineTuner.fineTune(
              init, episode.support(), episode.queries(), FineTuneConfig.transductiveDefaults());
      assertThat(result.finalLoss()).isLessThan(result.initialLoss());
      assertThat(result.stepsRun()).isEqualTo(FineTuneConfig.transductiveDefaults().steps());
      prototypeAccuracy += TestData.accuracy(init, episode.queries(), episode.queryClass());
      tunedAccuracy +=
          TestData.accuracy(result.classifier(), episode.queries(), episode.queryClass());
    }
    // Averaged over 10 episodes of 75 queries; 5 points is far above the episode noise here.
    assertThat(tunedAccuracy / episodes).isGreaterThan(prototypeAccuracy / episodes + 0.05);
  }

  @Test
  void shouldFitTheSupportInductively() {
    TestData.Episode episode = TestData.clustered(1, 5, 5, 15, DIMENSION, SPREAD, NOISE);
    CosineClassifier init = Methods.prototypeClassifier(episode.support(), FineTuneConfig.DEFAULT_SCALE);
    FineTuneResult result =
        FineTuner.fineTune(
            init, episode.support(), new float[0][], FineTuneConfig.inductiveDefaults());
    assertThat(result.finalLoss()).isLessThan(result.initialLoss());
    float[][] support = episode.support().features();
    int[] supportClass = episode.support().classIndex();
    assertThat(TestData.accuracy(result.classifier(), support, supportClass)).isEqualTo(1.0);
  }

  @Test
  void shouldKeepPredictionsSpreadWhereEntropyAloneCollapses() {
    FineTuneConfig entropyOnly =
        FineTuneConfig.transductiveDefaults().withQueryWeights(1f, 0f).withAnchorWeight(0f);
    FineTuneConfig chosen = FineTuneConfig.transductiveDefaults();
    double collapsed = 0;
    double spread = 0;
    int episodes = 10;
    for (int e = 0; e < episodes; e++) {
      TestData.Episode episode = TestData.clustered(100 + e, 5, 1, 15, DIMENSION, SPREAD, NOISE);
      collapsed +=
          TestData.largestClassFraction(
              Methods.transductive(entropyOnly).fit(episode.support(), episode.queries()),
              episode.queries());
      spread +=
          TestData.largestClassFraction(
              Methods.transductive(chosen).fit(episode.support(), episode.queries()),
              episode.queries());
    }
    // Balanced queries put 20% in each of 5 classes; over half in one class is a collapse.
    assertThat(collapsed / episodes).isGreaterThan(0.5);
    assertThat(spread / episodes).isLessThan(0.3);
  }

  @Test
  void shouldBeDeterministic() {
    TestData.Episode episode = TestData.clustered(5, 5, 5, 15, DIMENSION, SPREAD, NOISE);
    for (String name : Methods.names()) {
      CosineClassifier first = Methods.byName(name).fit(episode.support(), episode.queries());
      CosineClassifier second = Methods.byName(name).fit(episode.support(), episode.queries());
      assertThat(second).as(name).isEqualTo(first);
    }
  }

  @Test
  void shouldStopEarlyWhenTheLossStopsImproving() {
    TestData.Episode episode = TestData.clustered(2, 5, 5, 15, DIMENSION, SPREAD, NOISE);
    CosineClassifier init = Methods.prototypeClassifier(episode.support(), 10f);
    // A tolerance of 1 over 5 steps is met almost at once: the loss is below 2 to begin with.
    FineTuneConfig config = FineTuneConfig.inductiveDefaults().withSteps(500).withEarlyStopping(1f, 5);
    FineTuneResult result = FineTuner.fineTune(init, episode.support(), new float[0][], config);
    assertThat(result.stepsRun()).isLessThan(500);
  }

  @Test
  void shouldRejectMismatchedInput() {
    TestData.Episode episode = TestData.clustered(3, 2, 1, 1, 4, SPREAD, NOISE);
    CosineClassifier other =
        new CosineClassifier(List.of("x", "y"), new float[][] {{1, 0, 0, 0}, {0, 1, 0, 0}}, new float[2], 10f);
    assertThatThrownBy(
            () -> FineTuner.fineTune(other, episode.support(), new float[0][], FineTuneConfig.inductiveDefaults()))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("labels");
    CosineClassifier init = Methods.prototypeClassifier(episode.support(), 10f);
    assertThatThrownBy(
            () -> FineTuner.fineTune(init, episode.support(), new float[][] {{1, 2}}, FineTuneConfig.inductiveDefaults()))
        .hasMessageContaining("query feature 0 of dimension 4, found dimension 2");
    assertThatThrownBy(() -> FineTuneConfig.inductiveDefaults().withLearningRate(Float.NaN))
        .hasMessageContaining("learningRate");
  }
}
