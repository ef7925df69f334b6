package io.fewshotstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SteadyStateTest {

  @Test
  void shouldSettleOnceTheLastWindowsAgreeWithinTheTolerance() {
    SteadyState s = new SteadyState(0.05, 3);
    // A JIT warm-up: the rate climbs, then holds within 5% (1000 to 1040 is 4%).
    for (double r : new double[] {100, 600, 900}) {
      assertThat(s.add(r)).isFalse();
    }
    assertThat(s.add(1000)).isFalse();
    assertThat(s.add(1040)).isFalse(); // 900, 1000, 1040: 16% apart
    assertThat(s.add(1020)).isTrue(); // 1000, 1040, 1020
    assertThat(s.describe()).contains("settled").contains("1040").contains("within 5%");
  }

  @Test
  void shouldNotSettleWhileTheRateStillClimbs() {
    // Catches a rule that compares only two windows or accepts any rise below the tolerance
    // once: each step is 3%, but 3 windows span 6%.
    SteadyState s = new SteadyState(0.05, 3);
    double r = 1000;
    for (int i = 0; i < 10; i++) {
      assertThat(s.add(r)).as("window %d at %.0f", i, r).isFalse();
      r *= 1.03;
    }
    assertThat(s.describe()).contains("not settled");
  }

  @Test
  void shouldNeverCountTheFirstWindow() {
    // The first window holds the ramp from idle; three equal windows after it are needed.
    SteadyState s = new SteadyState(0.05, 3);
    assertThat(s.add(1000)).isFalse();
    assertThat(s.add(1000)).isFalse();
    assertThat(s.add(1000)).isFalse();
    assertThat(s.add(1000)).isTrue();
  }

  @Test
  void shouldNotSettleOnWindowsThatAnsweredNothing() {
    SteadyState s = new SteadyState(0.05, 2);
    s.add(0);
    s.add(0);
    assertThat(s.add(0)).isFalse();
  }

  @Test
  void shouldRejectATolerenceOutsideZeroToOne() {
    assertThatThrownBy(() -> new SteadyState(0, 3)).hasMessageContaining("found 0.0");
    assertThatThrownBy(() -> new SteadyState(0.05, 1)).hasMessageContaining("found 1");
  }
}
