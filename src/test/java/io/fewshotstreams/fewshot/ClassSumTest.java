package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ClassSumTest {
  private static final int DIMENSION = 64;

  /**
   * The learner applies every add and remove of a class's life to one running sum. Catches sums
   * kept in float (their rounding drifts by about 1e-3 over such a sequence) and a minus that does
   * not undo its plus.
   */
  @Test
  void shouldEqualRecomputationFromScratchAfterALongRandomSequenceOfAddsAndRemoves() {
    Random random = new Random(11);
    ClassSum running = ClassSum.empty(DIMENSION);
    List<float[]> held = new ArrayList<>();
    int steps = 20_000;
    for (int step = 0; step < steps; step++) {
      if (held.isEmpty() || random.nextBoolean()) {
        float[] x = unitNear(random);
        running = running.plus(x);
        held.add(x);
      } else {
        running = running.minus(held.remove(random.nextInt(held.size())));
      }
      // Bounds the sum's components by 512 (unit vectors), which the tolerance below relies on.
      assertThat(held.size()).isLessThan(512);
    }

    double[] fromScratch = new double[DIMENSION];
    for (float[] x : held) {
      for (int k = 0; k < DIMENSION; k++) {
        fromScratch[k] += x[k];
      }
    }
    assertThat(running.count()).isEqualTo(held.size());
    // Each of the 20,000 updates rounds a double below 512 by at most half an ulp (2^-44, about
    // 5.7e-14): at most 1.2e-9 in all, and from scratch adds as little again.
    assertThat(running.sum()).containsExactly(fromScratch, within(2.5e-9));
    // Sums that close normalise to unit vectors within two float ulps near 1 (2^-23 each).
    assertThat(running.prototype())
        .containsExactly(ClassSum.of(held.size(), fromScratch).prototype(), within(2.4e-7f));
  }

  @Test
  void shouldLeaveTheSumItWasMadeFromUnchanged() {
    ClassSum empty = ClassSum.empty(2);
    ClassSum one = empty.plus(new float[] {1, 0});
    assertThat(empty.count()).isZero();
    assertThat(empty.sum()).containsExactly(0, 0);
    one.sum()[0] = 9;
    assertThat(one.sum()).containsExactly(1, 0);
    assertThat(one.minus(new float[] {1, 0})).isEqualTo(empty);
  }

  @Test
  void shouldNormaliseTheSumToThePrototype() {
    // (1, 0) and (0, 1) sum to (1, 1): the prototype is (1/sqrt 2, 1/sqrt 2), the mean's direction.
    ClassSum sum = ClassSum.empty(2).plus(new float[] {1, 0}).plus(new float[] {0, 1});
    float half = (float) Math.sqrt(0.5);
    assertThat(sum.prototype()).containsExactly(new float[] {half, half}, within(1e-7f));
  }

  @Test
  void shouldHaveNoPrototypeWhenItsExamplesCancelOut() {
    ClassSum cancelled = ClassSum.empty(2).plus(new float[] {1, 0}).plus(new float[] {-1, 0});
    assertThat(cancelled.hasDirection()).isFalse();
    assertThatThrownBy(cancelled::prototype)
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("zero sum of 2 examples");
  }

  @Test
  void shouldRefuseWhatItCannotHold() {
    assertThatThrownBy(() -> ClassSum.empty(2).minus(new float[] {1, 0}))
        .hasMessageContaining("found none");
    assertThatThrownBy(() -> ClassSum.empty(2).plus(new float[] {1, 0, 0}))
        .hasMessageContaining("dimension 2, found dimension 3");
    assertThatThrownBy(() -> ClassSum.of(-1, new double[] {1}))
        .hasMessageContaining("count >= 0, found -1");
    assertThatThrownBy(() -> ClassSum.of(1, new double[] {Double.NaN}))
        .hasMessageContaining("finite sum, found NaN");
  }

  /** A unit vector around the all-ones direction, so a class's sum does not cancel out. */
  private static float[] unitNear(Random random) {
    float[] x = new float[DIMENSION];
    for (int k = 0; k < DIMENSION; k++) {
      x[k] = (float) (0.5 + random.nextGaussian());
    }
    return Vectors.normalize(x);
  }
}
