package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class MethodsTest {
  // These tests check which classifier comes back, not its accuracy: small, easy episodes suffice
  // (seed, ways, shots, queries per class, dimension 16, spread 0.5, noise 0.5).

  @Test
  void shouldFindEveryMethodByItsName() {
    assertThat(Methods.names()).containsExactly("prototypes", "inductive", "transductive", "auto", "robust");
    for (String name : Methods.names()) {
      assertThat(Methods.byName(name).name()).isEqualTo(name);
    }
  }

  @Test
  void shouldListValidNamesForAnUnknownMethod() {
    assertThatThrownBy(() -> Methods.byName("magic"))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("[prototypes, inductive, transductive, auto, robust]")
        .hasMessageContaining("'magic'");
  }

  @Test
  void shouldReturnPrototypesUnchangedForThePrototypeMethod() {
    TestData.Episode episode = TestData.clustered(4, 3, 2, 5, 16, 0.5, 0.5);
    CosineClassifier classifier = Methods.prototypes().fit(episode.support(), episode.queries());
    assertThat(classifier.weights()).isDeepEqualTo(episode.support().prototypes());
    assertThat(classifier.labels()).isEqualTo(episode.support().labels());
  }

  @Test
  void shouldFitWithoutQueries() {
    TestData.Episode episode = TestData.clustered(4, 3, 2, 5, 16, 0.5, 0.5);
    for (String name : Methods.names()) {
      CosineClassifier classifier = Methods.byName(name).fit(episode.support(), new float[0][]);
      assertThat(classifier.labels()).as(name).isEqualTo(episode.support().labels());
    }
  }

  @Test
  void shouldChooseAutomaticallyByShotsAndQueries() {
    TestData.Episode oneShot = TestData.clustered(6, 5, 1, 15, 16, 0.5, 0.5);
    // Without enough unlabelled queries (4 per class) one shot gives the plain prototypes.
    float[][] few = Arrays.copyOf(oneShot.queries(), 19);
    assertThat(Methods.auto().fit(oneShot.support(), few))
        .isEqualTo(Methods.prototypes().fit(oneShot.support(), few));
    assertThat(Methods.auto().fit(oneShot.support(), oneShot.queries()))
        .isEqualTo(Methods.transductive().fit(oneShot.support(), oneShot.queries()));
    TestData.Episode fiveShot = TestData.clustered(7, 5, 5, 4, 16, 0.5, 0.5);
    // 20 queries for 5 classes of 5 shots: fewer queries per class than shots, so inductive.
    assertThat(Methods.auto().fit(fiveShot.support(), fiveShot.queries()))
        .isEqualTo(Methods.inductive().fit(fiveShot.support(), new float[0][]));
  }

  @Test
  void shouldNameTheMethodAutoChoosesForTheLearner() {
    TestData.Episode oneShot = TestData.clustered(6, 5, 1, 15, 16, 0.5, 0.5);
    assertThat(Methods.autoChoice(oneShot.support(), 0)).isEqualTo(Methods.PROTOTYPES);
    // 5 classes need at least 4 pooled queries each before auto goes transductive.
    assertThat(Methods.autoChoice(oneShot.support(), 19)).isEqualTo(Methods.PROTOTYPES);
    assertThat(Methods.autoChoice(oneShot.support(), 20)).isEqualTo(Methods.TRANSDUCTIVE);
    TestData.Episode fiveShot = TestData.clustered(7, 5, 5, 4, 16, 0.5, 0.5);
    assertThat(Methods.autoChoice(fiveShot.support(), 24)).isEqualTo(Methods.INDUCTIVE);
    assertThat(Methods.autoChoice(fiveShot.support(), 25)).isEqualTo(Methods.TRANSDUCTIVE);
  }
  @Test
  void shouldReportTheLossOfTheSameFineTuneAsFit() {
    TestData.Episode episode = TestData.clustered(4, 3, 2, 5, 16, 0.5, 0.5);
    for (String name : new String[] {Methods.INDUCTIVE, Methods.TRANSDUCTIVE}) {
      FineTuneResult result = Methods.fineTune(name, episode.support(), episode.queries());
      assertThat(result.classifier())
          .as(name)
          .isEqualTo(Methods.byName(name).fit(episode.support(), episode.queries()));
      // Adam from the prototypes lowers the objective on an easy episode.
      assertThat(result.finalLoss()).as(name).isLessThan(result.initialLoss());
    }
  }

  @Test
  void shouldRefuseToFineTuneWithAMethodThatDoesNotTrain() {
    TestData.Episode episode = TestData.clustered(4, 3, 2, 5, 16, 0.5, 0.5);
    assertThatThrownBy(() -> Methods.fineTune(Methods.PROTOTYPES, episode.support(), null))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("[inductive, transductive]")
        .hasMessageContaining("'prototypes'");
  }
}
