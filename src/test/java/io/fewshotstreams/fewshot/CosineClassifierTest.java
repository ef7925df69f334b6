package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class CosineClassifierTest {

  @Test
  void shouldComputeScaledCosineSoftmax() {
    // Rows point along x and y; the second row is not unit length, which must not matter.
    CosineClassifier classifier =
        new CosineClassifier(
            List.of("a", "b"), new float[][] {{1, 0}, {0, 3}}, new float[] {0f, 0.5f}, 10f);
    float[] p = classifier.probabilities(new float[] {1, 0});
    // logits: 10 * 1 + 0 = 10 and 10 * 0 + 0.5 = 0.5
    double expectedA = 1 / (1 + Math.exp(0.5 - 10));
    assertThat(p[0]).isCloseTo((float) expectedA, within(1e-6f));
    assertThat(p[0] + p[1]).isCloseTo(1f, within(1e-6f));
    assertThat(classifier.predictLabel(new float[] {0, 2})).isEqualTo("b");
    assertThat(classifier.weights()[1]).containsExactly(0f, 1f);
  }

  @Test
  void shouldRejectInvalidShapesAndValues() {
    float[][] w = {{1, 0}, {0, 1}};
    assertThatThrownBy(() -> new CosineClassifier(List.of(), new float[0][], new float[0], 10f))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("at least one class label");
    assertThatThrownBy(() -> new CosineClassifier(List.of("a", "a"), w, new float[2], 10f))
        .hasMessageContaining("'a' twice");
    assertThatThrownBy(() -> new CosineClassifier(List.of("a", "b"), w, new float[3], 10f))
        .hasMessageContaining("expected 2 bias values");
    assertThatThrownBy(
            () -> new CosineClassifier(List.of("a", "b"), new float[][] {{1, 0}, {1}}, new float[2], 10f))
        .hasMessageContaining("dimension 2, found dimension 1");
    assertThatThrownBy(
            () -> new CosineClassifier(List.of("a", "b"), new float[][] {{1, 0}, {Float.NaN, 1}}, new float[2], 10f))
        .hasMessageContaining("NaN");
    assertThatThrownBy(() -> new CosineClassifier(List.of("a", "b"), w, new float[2], 0f))
        .hasMessageContaining("scale > 0");
    CosineClassifier classifier = new CosineClassifier(List.of("a", "b"), w, new float[2], 10f);
    assertThatThrownBy(() -> classifier.probabilities(new float[3]))
        .hasMessageContaining("dimension 2, found dimension 3");
  }

  @Test
  void shouldNotBeChangedThroughArraysPassedInOrReturned() {
    float[][] w = {{1, 0}, {0, 1}};
    float[] b = {0, 0};
    CosineClassifier classifier = new CosineClassifier(List.of("a", "b"), w, b, 10f);
    w[0][0] = -1;
    b[1] = 100;
    classifier.weights()[0][0] = -1;
    classifier.bias()[1] = 100;
    assertThat(classifier.predict(new float[] {1, 0})).isZero();
    assertThat(classifier).isEqualTo(new CosineClassifier(List.of("a", "b"), new float[][] {{1, 0}, {0, 1}}, new float[2], 10f));
  }
}
