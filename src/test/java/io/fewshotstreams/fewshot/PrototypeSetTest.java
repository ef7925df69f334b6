package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PrototypeSetTest {

  @Test
  void shouldAverageNormalisedEmbeddings() {
    FeatureTransform transform = FeatureTransform.none();
    // Raw (2, 0) and (0, 5) normalise to (1, 0) and (0, 1); their mean (0.5, 0.5) normalises to
    // (1/sqrt 2, 1/sqrt 2): the raw lengths must not weight the prototype.
    SupportSet support =
        SupportSet.of(
            List.of("cat", "cat", "dog"),
            transform.applyAll(new float[][] {{2, 0}, {0, 5}, {-3, 0}}));
    float[][] prototypes = support.prototypes();
    float half = (float) Math.sqrt(0.5);
    assertThat(prototypes[0]).containsExactly(new float[] {half, half}, within(1e-7f));
    assertThat(prototypes[1]).containsExactly(-1f, 0f);
    CosineClassifier classifier = PrototypeSet.of(support).toClassifier(10f);
    assertThat(classifier.weights()).isDeepEqualTo(prototypes);
    assertThat(classifier.bias()).containsExactly(0f, 0f);
  }

  @Test
  void shouldMatchRecomputationAfterAddsRemovesAndDeletes() {
    Random random = new Random(3);
    PrototypeSet set = new PrototypeSet();
    Map<String, List<float[]>> kept = new LinkedHashMap<>();
    List<String> labels = List.of("a", "b", "c");
    // Hundreds of random adds and removes over three classes, so every class empties and refills.
    for (int step = 0; step < 600; step++) {
      String label = labels.get(random.nextInt(labels.size()));
      List<float[]> examples = kept.computeIfAbsent(label, l -> new ArrayList<>());
      if (!examples.isEmpty() && random.nextInt(3) == 0) {
        set.remove(label, examples.remove(random.nextInt(examples.size())));
        if (examples.isEmpty()) {
          kept.remove(label);
        }
      } else {
        // Noise of 2 around a mean of 1..8: directions vary a lot between examples.
        float[] x = TestData.sample(random, new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 2.0);
        float[] transformed = FeatureTransform.none().apply(x);
        set.add(label, transformed);
        examples.add(transformed);
      }
    }
    set.deleteClass("b");
    kept.remove("b");

    List<String> exampleLabels = new ArrayList<>();
    List<float[]> features = new ArrayList<>();
    kept.forEach(
        (label, list) -> list.forEach(
            x -> {
              exampleLabels.add(label);
              features.add(x);
            }));
    SupportSet fromScratch = SupportSet.of(exampleLabels, features.toArray(new float[0][]));
    assertThat(set.labels()).containsExactlyInAnyOrderElementsOf(fromScratch.labels());
    for (int c = 0; c < fromScratch.numClasses(); c++) {
      String label = fromScratch.labels().get(c);
      assertThat(set.count(label)).isEqualTo(fromScratch.counts()[c]);
      // 600 float updates summed in double: agreement to float rounding
      assertThat(set.prototype(label)).containsExactly(fromScratch.prototypes()[c], within(1e-6f));
    }
  }

  @Test
  void shouldDropAClassWhenItsLastExampleIsRemoved() {
    PrototypeSet set = new PrototypeSet(2);
    set.add("a", new float[] {1, 0});
    set.add("b", new float[] {0, 1});
    set.remove("a", new float[] {1, 0});
    assertThat(set.labels()).containsExactly("b");
    assertThat(set.deleteClass("b")).isTrue();
    assertThat(set.isEmpty()).isTrue();
    assertThatThrownBy(() -> set.toClassifier(10f)).hasMessageContaining("at least one class");
  }

  @Test
  void shouldRejectInvalidExamples() {
    PrototypeSet set = new PrototypeSet(2);
    assertThatThrownBy(() -> set.add("a", new float[3]))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("dimension 2, found dimension 3");
    assertThatThrownBy(() -> set.add(" ", new float[2])).hasMessageContaining("non-blank");
    assertThatThrownBy(() -> set.add("a", new float[] {Float.NaN, 0})).hasMessageContaining("NaN");
    assertThatThrownBy(() -> set.remove("z", new float[2])).hasMessageContaining("no class 'z'");
  }

  @Test
  void shouldRejectInvalidSupportSets() {
    assertThatThrownBy(() -> new SupportSet(List.of("a", "b"), new float[][] {{1, 0}}, new int[] {0}))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("none for 'b'");
    assertThatThrownBy(() -> new SupportSet(List.of("a"), new float[][] {{1, 0}}, new int[] {1}))
        .hasMessageContaining("found 1");
    assertThatThrownBy(() -> new SupportSet(List.of("a"), new float[0][], new int[0]))
        .hasMessageContaining("at least one support example");
  }
}
