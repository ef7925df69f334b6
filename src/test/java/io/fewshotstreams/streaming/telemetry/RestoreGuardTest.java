package io.fewshotstreams.streaming.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.errors.TaskCorruptedException;
import org.apache.kafka.streams.processor.TaskId;
import org.junit.jupiter.api.Test;

/**
 * The guard against a restore that resumes beyond what its store had restored. The sequences are
 * those Kafka Streams reported to a restore listener in {@code LearnerFaultIT}'s runs: the faulty
 * one (restore from 0 suspended with nothing restored, then resumed at 23) and the sound ones.
 * Then the repair: the task of a damaged store is handed back to Kafka Streams as corrupted, once.
 */
class RestoreGuardTest {
  private static final TopicPartition CHANGELOG = new TopicPartition("app-fewshot-tasks-changelog", 0);
  private static final String STORE = "fewshot-tasks";

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final RestoreGuard guard = new RestoreGuard(registry);

  /** Catches a guard that misses the skip: the store restored nothing, yet resumes at 23. */
  @Test
  void shouldCountARestoreThatResumesBeyondWhatItRestored() {
    guard.onRestoreStart(CHANGELOG, STORE, 0, 24);
    guard.onRestoreSuspended(CHANGELOG, STORE, 0);
    guard.onRestoreStart(CHANGELOG, STORE, 23, 24);

    assertThat(guard.skipped()).isEqualTo(1);
    assertThat(registry.get("fewshot.state.restore.skipped").counter().count()).isEqualTo(1.0);
  }

  /** Catches a guard that counts sound resumes: after batches up to 19, resuming at 20 is right. */
  @Test
  void shouldNotCountARestoreThatResumesWhereItStopped() {
    guard.onRestoreStart(CHANGELOG, STORE, 0, 24);
    guard.onBatchRestored(CHANGELOG, STORE, 19, 20);
    guard.onRestoreSuspended(CHANGELOG, STORE, 20);
    guard.onRestoreStart(CHANGELOG, STORE, 20, 24);
    guard.onBatchRestored(CHANGELOG, STORE, 23, 4);
    guard.onRestoreEnd(CHANGELOG, STORE, 4);

    assertThat(guard.skipped()).isZero();
  }

  /** A wiped store starts again at 0; a finished restore may later start anywhere. */
  @Test
  void shouldNotCountAWipedStoreOrARestoreAfterAFinishedOne() {
    guard.onRestoreStart(CHANGELOG, STORE, 0, 24);
    guard.onRestoreSuspended(CHANGELOG, STORE, 0);
    guard.onRestoreStart(CHANGELOG, STORE, 0, 24);
    guard.onBatchRestored(CHANGELOG, STORE, 23, 20);
    guard.onRestoreEnd(CHANGELOG, STORE, 20);
    guard.onRestoreStart(CHANGELOG, STORE, 23, 30);

    assertThat(guard.skipped()).isZero();
  }

  /** Each store and partition is its own restore: a skip on one is not blamed on another. */
  @Test
  void shouldKeepEachChangelogApart() {
    TopicPartition other = new TopicPartition("app-fewshot-tasks-changelog", 1);
    guard.onRestoreStart(CHANGELOG, STORE, 0, 24);
    guard.onRestoreStart(other, STORE, 0, 24);
    guard.onBatchRestored(other, STORE, 23, 20);
    guard.onRestoreSuspended(CHANGELOG, STORE, 0);
    guard.onRestoreSuspended(other, STORE, 20);
    guard.onRestoreStart(other, STORE, 23, 24);

    assertThat(guard.skipped()).isZero();
    guard.onRestoreStart(CHANGELOG, STORE, 23, 24);
    assertThat(guard.skipped()).isEqualTo(1);
  }

  /**
   * Catches a processor check that lets a task run on a store whose restore skipped records, or
   * that hands it back for ever: the first check of the task of that store and partition throws
   * {@link TaskCorruptedException} for it, the next does not.
   */
  @Test
  void shouldHandBackTheTaskOfADamagedStoreOnce() {
    TaskId task = new TaskId(1, 0);
    assertThatCode(() -> guard.check(task, STORE)).doesNotThrowAnyException();
    guard.onRestoreStart(CHANGELOG, STORE, 0, 24);
    guard.onRestoreSuspended(CHANGELOG, STORE, 0);
    guard.onRestoreStart(CHANGELOG, STORE, 23, 24);

    assertThatCode(() -> guard.check(new TaskId(1, 1), STORE)).doesNotThrowAnyException();
    assertThatCode(() -> guard.check(task, "fewshot-examples")).doesNotThrowAnyException();
    assertThatThrownBy(() -> guard.check(task, "fewshot-examples", STORE))
        .isInstanceOf(TaskCorruptedException.class)
        .satisfies(e -> assertThat(((TaskCorruptedException) e).corruptedTasks()).containsExactly(task));
    assertThat(registry.get("fewshot.state.restore.repaired").counter().count()).isEqualTo(1.0);
    assertThatCode(() -> guard.check(task, STORE)).doesNotThrowAnyException();
  }
}
