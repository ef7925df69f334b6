package io.fewshotstreams.streaming.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.File;
import java.util.Properties;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.TaskMigratedException;
import org.apache.kafka.streams.processor.StandbyUpdateListener;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.junit.jupiter.api.Test;

/**
 * The guard against a restore that resumes beyond what its store had restored. The sequences are
 * those Kafka Streams reported to a restore listener in {@code LearnerFaultIT}'s runs: the faulty
 * one (restore from 0 suspended with nothing restored, then resumed at 23) and the sound ones.
 * Then the repair: the task of a damaged store is handed back to Kafka Streams, once.
 */
class RestoreGuardTest {
  private static final TopicPartition CHANGELOG =
      new TopicPartition("app-fewshot-tasks-changelog", 0);
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
   * that hands it back for ever: under exactly-once the first check of the task of that store and
   * partition throws {@link TaskMigratedException} naming it, the next does not.
   */
  @Test
  void shouldHandBackTheTaskOfADamagedStoreOnce() {
    MockProcessorContext<Object, Object> task = context(1, 0, StreamsConfig.EXACTLY_ONCE_V2);
    assertThatCode(() -> guard.check(task, STORE)).doesNotThrowAnyException();
    skipOnce();

    assertThatCode(() -> guard.check(context(1, 1, StreamsConfig.EXACTLY_ONCE_V2), STORE))
        .doesNotThrowAnyException();
    assertThatCode(() -> guard.check(task, "fewshot-examples")).doesNotThrowAnyException();
    assertThatThrownBy(() -> guard.check(task, "fewshot-examples", STORE))
        .isInstanceOf(TaskMigratedException.class)
        .hasMessageContaining("stream task 1_0 ");
    assertThat(registry.get("fewshot.state.restore.repaired").counter().count()).isEqualTo(1.0);
    assertThatCode(() -> guard.check(task, STORE)).doesNotThrowAnyException();
  }

  /**
   * Catches a mark that outlives its repair: a task whose thread was handed back because of another
   * task's store is wiped and restored from 0 with it, and must not be handed back again; a restore
   * that starts beyond the gap (from a checkpoint written over it) repairs nothing and keeps it; a
   * standby update from before the gap repairs it too.
   */
  @Test
  void shouldClearTheMarkOnlyWhenARestoreCoversTheGap() {
    MockProcessorContext<Object, Object> task = context(1, 0, StreamsConfig.EXACTLY_ONCE_V2);
    skipOnce();
    guard.onRestoreEnd(CHANGELOG, STORE, 1);
    guard.onRestoreStart(CHANGELOG, STORE, 24, 30);
    guard.onRestoreEnd(CHANGELOG, STORE, 6);
    guard.onRestoreStart(CHANGELOG, STORE, 0, 30);

    assertThatCode(() -> guard.check(task, STORE)).doesNotThrowAnyException();
    skipOnce();
    guard.onRestoreEnd(CHANGELOG, STORE, 1);
    guard.onRestoreStart(CHANGELOG, STORE, 24, 30);
    assertThatThrownBy(() -> guard.check(task, STORE)).isInstanceOf(TaskMigratedException.class);

    // A standby replica that updates the store from 0 repairs it as well.
    skipOnce();
    guard.onRestoreEnd(CHANGELOG, STORE, 1);
    guard.onUpdateStart(CHANGELOG, STORE, 0);
    assertThatCode(() -> guard.check(task, STORE)).doesNotThrowAnyException();
  }

  /**
   * Catches a learner hand-back that loops through the learners Kafka Streams creates anew, or that
   * costs a rebalance per few-shot task: once per stream task, for the instance's life.
   */
  @Test
  void shouldLetALearnerHandBackAStreamTaskOnce() {
    assertThat(guard.firstLearnerHandBack(new TaskId(1, 0))).isTrue();
    assertThat(guard.firstLearnerHandBack(new TaskId(1, 0))).isFalse();
    assertThat(guard.firstLearnerHandBack(new TaskId(1, 1))).isTrue();
  }

  /**
   * With transactional state stores Kafka Streams keeps a store on a dirty close under
   * exactly-once too, so a hand-back would repair nothing, and the learner's own check, which
   * {@link RestoreGuard#repairable} also gates, would let the next record publish over the
   * snapshot it refused. Catches a guard that hands back there.
   */
  @Test
  void shouldNotHandBackWithTransactionalStateStores() {
    Properties transactional = new Properties();
    transactional.put(StreamsConfig.TRANSACTIONAL_STATE_STORES_CONFIG, "true");
    MockProcessorContext<Object, Object> task =
        context(1, 0, StreamsConfig.EXACTLY_ONCE_V2, transactional);
    skipOnce();

    assertThat(RestoreGuard.repairable(task)).isFalse();
    assertThat(RestoreGuard.repairable(context(1, 0, StreamsConfig.EXACTLY_ONCE_V2))).isTrue();
    assertOnlyLogged(task);
  }

  /** Under at-least-once a dirty close keeps the store, so a hand-back would repair nothing. */
  @Test
  void shouldNotHandBackUnderAtLeastOnce() {
    skipOnce();
    assertOnlyLogged(context(1, 0, StreamsConfig.AT_LEAST_ONCE));
  }

  /**
   * The check of {@code task}, whose store skipped records, hands nothing back; it did find the
   * mark, since a repairable check after it does not throw either.
   */
  private void assertOnlyLogged(MockProcessorContext<Object, Object> task) {
    assertThatCode(() -> guard.check(task, STORE)).doesNotThrowAnyException();
    assertThat(registry.get("fewshot.state.restore.repaired").counter().count()).isZero();
    assertThatCode(() -> guard.check(context(1, 0, StreamsConfig.EXACTLY_ONCE_V2), STORE))
        .as("the mark was found, and logged once")
        .doesNotThrowAnyException();
  }

  /**
   * Catches a guard that mistakes a standby's progress for a skip: a restore suspended at 0, then a
   * standby or warm-up replica brings the store to 23, and the next restore rightly starts there.
   */
  @Test
  void shouldNotCountARestoreResumedAfterAStandbyKeptTheStoreUpToDate() {
    guard.onRestoreStart(CHANGELOG, STORE, 0, 24);
    guard.onRestoreSuspended(CHANGELOG, STORE, 0);
    guard.onUpdateStart(CHANGELOG, STORE, 0);
    guard.onBatchLoaded(CHANGELOG, STORE, new TaskId(1, 0), 22, 23, 24);
    guard.onUpdateSuspended(
        CHANGELOG, STORE, 22, 24, StandbyUpdateListener.SuspendReason.PROMOTED);
    guard.onRestoreStart(CHANGELOG, STORE, 23, 24);

    assertThat(guard.skipped()).isZero();
  }

  private void skipOnce() {
    guard.onRestoreStart(CHANGELOG, STORE, 0, 24);
    guard.onRestoreSuspended(CHANGELOG, STORE, 0);
    guard.onRestoreStart(CHANGELOG, STORE, 23, 24);
  }

  private static MockProcessorContext<Object, Object> context(
      int subtopology, int partition, String guarantee) {
    return context(subtopology, partition, guarantee, new Properties());
  }

  private static MockProcessorContext<Object, Object> context(
      int subtopology, int partition, String guarantee, Properties config) {
    config.put(StreamsConfig.APPLICATION_ID_CONFIG, "app");
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    config.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
    return new MockProcessorContext<>(
        config, new TaskId(subtopology, partition), new File(System.getProperty("java.io.tmpdir")));
  }
}
