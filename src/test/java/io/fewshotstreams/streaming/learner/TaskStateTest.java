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
    TaskState tuned = changed.installed(2, changed.supportChanges(), changed.poolAdds());
    assertThat(tuned.needsFineTune()).isFalse();
    assertThat(tuned.version()).isEqualTo(2);
    assertThat(tuned.fineTuned()).isTrue();
    TaskState given = changed.tuned(changed.supportChanges(), changed.poolAdds());
    assertThat(given.needsFineTune()).isFalse();
    assertThat(given.version()).as("given up: the prototype snapshot stays").isEqualTo(1);
    assertThat(given.fineTuned()).isFalse();
  }

  /**
   * A fine-tune may install over held changes but never over a prototype snapshot published after
   * it started. Catches a rule that compares with the support changes (fine-tunes under a steady
   * stream of promoted feedback would never install) or ignores the prototype snapshot (a removed
   * example or deleted class would come back with the stale fine-tune).
   */
  @Test
  void shouldInstallAFineTuneOverHeldChangesOnly() {
    TaskState tuning = TaskState.NEW.supportChanged(1).supportChanged(2);
    long at = tuning.supportChanges();
    assertThat(tuning.installable(at)).isTrue();
    TaskState installed = tuning.installed(3, at, 0);
    TaskState held = installed.held().held();
    assertThat(held.version()).as("held changes publish nothing").isEqualTo(3);
    assertThat(held.fineTuned()).isTrue();
    assertThat(held.needsFineTune()).isTrue();
    assertThat(held.installable(held.supportChanges() - 1))
        .as("a fine-tune started between two held changes")
        .isTrue();
    TaskState published = held.supportChanged(4);
    assertThat(published.fineTuned()).isFalse();
    assertThat(published.installable(held.supportChanges()))
        .as("a fine-tune started before the prototype snapshot")
        .isFalse();
    assertThat(published.installable(published.supportChanges())).isTrue();
  }

  @Test
  void shouldWantAFineTuneOnceThePoolTookInHalfAsManyQueriesAsItHolds() {
    TaskState state = TaskState.NEW.supportChanged(1);
    for (int i = 0; i < 60; i++) {
      state = state.pooled(POOL);
    }
    state = state.installed(2, state.supportChanges(), state.poolAdds());
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
