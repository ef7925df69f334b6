package io.fewshotstreams.streaming.learner;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TaskStateTest {
  private static final int POOL = 100;

  @Test
  void shouldWantAFineTuneAfterASupportChangeOnly() {
    TaskState changed = TaskState.NEW.supportChanged(1);
    assertThat(TaskState.NEW.needsFineTune()).isFalse();
    assertThat(changed.needsFineTune()).isTrue();
    TaskState tuned = changed.tuned(2, changed.supportChanges(), changed.poolAdds());
    assertThat(tuned.needsFineTune()).isFalse();
    assertThat(tuned.version()).isEqualTo(2);
  }

  @Test
  void shouldWantAFineTuneOnceThePoolTookInHalfAsManyQueriesAsItHolds() {
    TaskState state = TaskState.NEW.supportChanged(1);
    for (int i = 0; i < 60; i++) {
      state = state.pooled(POOL);
    }
    state = state.tuned(2, state.supportChanges(), state.poolAdds());
    for (int i = 0; i < 29; i++) {
      state = state.pooled(POOL);
    }
    // 89 pooled, 29 new since the fine-tune: fewer than half of 89.
    assertThat(state.needsFineTune()).isFalse();
    for (int i = 0; i < 16; i++) {
      state = state.pooled(POOL);
    }
    // The pool is now full (100) and took in 45 new ones: still fewer than 50.
    assertThat(state.poolCount()).isEqualTo(POOL);
    assertThat(state.needsFineTune()).isFalse();
    for (int i = 0; i < 5; i++) {
      state = state.pooled(POOL);
    }
    assertThat(state.needsFineTune()).isTrue();
  }

  @Test
  void shouldWriteThePoolAsARing() {
    TaskState state = TaskState.NEW;
    for (int i = 0; i < 3; i++) {
      state = state.pooled(3);
    }
    assertThat(state.nextPoolSlot(3)).as("the fourth query overwrites the first slot").isZero();
    assertThat(state.poolCount()).isEqualTo(3);
  }
}
