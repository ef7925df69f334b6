package io.fewshotstreams.streaming.query;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * A task's pool takes at most its size per fine-tune interval: the pool is read once an interval,
 * so more would be overwritten unread (issue 14: the pool's three Kafka records per query).
 */
class PoolAdmissionTest {

  @Test
  void shouldAdmitTheLimitPerTaskPerIntervalThenAgainInTheNext() {
    PoolAdmission admission = new PoolAdmission(3, 1_000);
    int admitted = 0;
    for (int i = 0; i < 10; i++) {
      admitted += admission.admit("shop", 100 + i) ? 1 : 0;
    }
    // Catches a cap that is not applied (10) or not per interval (0 in the next one).
    assertThat(admitted).isEqualTo(3);
    assertThat(admission.admit("shop", 1_099)).as("still the first interval").isFalse();
    assertThat(admission.admit("shop", 1_100)).as("the next interval").isTrue();
  }

  @Test
  void shouldCountEachTaskApart() {
    PoolAdmission admission = new PoolAdmission(1, 1_000);
    assertThat(admission.admit("a", 0)).isTrue();
    assertThat(admission.admit("a", 1)).isFalse();
    assertThat(admission.admit("b", 2)).as("another task's count").isTrue();
  }

  @Test
  void shouldStartAFreshIntervalWhenTheClockGoesBack() {
    PoolAdmission admission = new PoolAdmission(1, 1_000);
    assertThat(admission.admit("a", 5_000)).isTrue();
    // A wall clock set back must not shut the pool for the time it went back.
    assertThat(admission.admit("a", 10)).isTrue();
  }

  @Test
  void shouldAdmitNothingAtZero() {
    assertThat(new PoolAdmission(0, 1_000).admit("a", 0)).isFalse();
  }
}
