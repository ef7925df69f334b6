package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MethodsTest {

  @Test
  void shouldFindEveryMethodByItsName() {
    assertThat(Methods.names()).containsExactly("prototypes", "inductive", "transductive", "auto");
    for (String name : Methods.names()) {
      assertThat(Methods.byName(name).name()).isEqualTo(name);
    }
  }

  @Test
  void shouldListValidNamesForAnUnknownMethod() {
    assertThatThrownBy(() -> Methods.byName("magic"))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("[prototypes, inductive, transductive, auto]")
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
}
