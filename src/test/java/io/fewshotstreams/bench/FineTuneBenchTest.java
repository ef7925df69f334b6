package io.fewshotstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.fewshot.InvalidInputException;
import org.junit.jupiter.api.Test;

class FineTuneBenchTest {

  @Test
  void shouldTimeEveryRepeatWithAGivenNumberOfSteps() {
    FineTuneBench.Result r = FineTuneBench.run(5, 5, 75, 64, "transductive", 3, 4, 1, 42);
    assertThat(r.millis()).hasSize(4);
    assertThat(r.medianMillis()).isPositive();
    assertThat(r.p90Millis()).isGreaterThanOrEqualTo(r.medianMillis());
  }

  @Test
  void shouldTakeFewerStepsFasterThanManyOnTheSameEpisodes() {
    // 1 step against 300: two orders of magnitude more work, far beyond timing noise.
    double few = FineTuneBench.run(5, 5, 75, 64, "inductive", 1, 20, 20, 42).medianMillis();
    double many = FineTuneBench.run(5, 5, 75, 64, "inductive", 300, 20, 20, 42).medianMillis();
    assertThat(many).isGreaterThan(few);
  }

  @Test
  void shouldRefuseAStepCountForAMethodWithoutSteps() {
    assertThatThrownBy(() -> FineTuneBench.run(5, 1, 5, 8, "auto", 10, 1, 0, 42))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("found method 'auto' with 10 steps");
  }
}
