package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.fewshotstreams.FewShotException;
import org.junit.jupiter.api.Test;

class VectorsAndTransformTest {

  @Test
  void shouldComputeDotAndNorm() {
    assertThat(Vectors.dot(new float[] {1, 2, 3}, new float[] {4, 5, 6})).isEqualTo(32f);
    // 3-4-5 triangle
    assertThat(Vectors.norm(new float[] {3, 4})).isEqualTo(5f);
  }

  @Test
  void shouldNormaliseWithoutChangingTheInput() {
    float[] v = {3, 4};
    float[] unit = Vectors.normalize(v);
    assertThat(unit).containsExactly(new float[] {0.6f, 0.8f}, within(1e-7f));
    assertThat(v).containsExactly(3, 4);
  }

  @Test
  void shouldRejectZeroVectorWhenNormalising() {
    assertThatThrownBy(() -> Vectors.normalize(new float[3]))
        .isInstanceOf(FewShotException.class)
        .hasMessageContaining("non-zero");
  }

  @Test
  void shouldRejectNonFiniteValuesNamingTheIndex() {
    assertThatThrownBy(() -> Vectors.checkFinite(new float[] {1, Float.NaN}, "embedding"))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("NaN at index 1");
    assertThatThrownBy(() -> Vectors.dot(new float[2], new float[3]))
        .hasMessageContaining("found 2 and 3");
  }

  @Test
  void shouldCentreThenNormalise() {
    FeatureTransform transform = FeatureTransform.centring(new float[] {1, 1});
    // (4, 5) - (1, 1) = (3, 4), whose direction is (0.6, 0.8)
    assertThat(transform.apply(new float[] {4, 5})).containsExactly(new float[] {0.6f, 0.8f}, within(1e-7f));
    assertThat(FeatureTransform.none().apply(new float[] {0, 2})).containsExactly(0f, 1f);
  }

  @Test
  void shouldRejectEmbeddingsOfTheWrongDimensionOrNotFinite() {
    FeatureTransform transform = FeatureTransform.centring(new float[] {1, 1});
    assertThatThrownBy(() -> transform.apply(new float[3]))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("dimension 2, found dimension 3");
    assertThatThrownBy(() -> FeatureTransform.none().apply(new float[] {Float.POSITIVE_INFINITY}))
        .hasMessageContaining("Infinity");
    assertThatThrownBy(() -> transform.applyAll(new float[][] {{1, 2}, {1, 2, 3}}))
        .hasMessageContaining("row 1");
  }

  @Test
  void shouldKeepTheCentreImmutable() {
    float[] centre = {1, 1};
    FeatureTransform transform = FeatureTransform.centring(centre);
    centre[0] = 100;
    transform.centre()[1] = 100;
    assertThat(transform.apply(new float[] {4, 5})).containsExactly(new float[] {0.6f, 0.8f}, within(1e-7f));
  }
}
