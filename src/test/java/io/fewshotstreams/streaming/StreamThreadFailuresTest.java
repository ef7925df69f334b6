package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.junit.jupiter.api.Test;

/**
 * The uncaught-exception policy: replace a failed stream thread, but not for ever. Catches the loop
 * of issue 12 item 8, where every failure replaced the thread and /health stayed UP.
 */
class StreamThreadFailuresTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void shouldReplaceUpToTheLimitWithinTheWindowThenShutTheClientDown() {
    AtomicLong now = new AtomicLong();
    StreamThreadFailures policy =
        new StreamThreadFailures(3, Duration.ofMinutes(10), now::get);
    RuntimeException poison = new IllegalStateException("poison");
    for (int i = 0; i < 3; i++) {
      now.addAndGet(45 * SECOND); // issue 12 saw a replacement every ~45 s
      assertThat(policy.handle(poison)).isEqualTo(StreamThreadExceptionResponse.REPLACE_THREAD);
    }
    now.addAndGet(45 * SECOND);
    assertThat(policy.handle(poison)).isEqualTo(StreamThreadExceptionResponse.SHUTDOWN_CLIENT);
  }

  @Test
  void shouldForgetReplacementsOlderThanTheWindow() {
    AtomicLong now = new AtomicLong();
    StreamThreadFailures policy = new StreamThreadFailures(2, Duration.ofMinutes(10), now::get);
    RuntimeException transientFailure = new IllegalStateException("broker hiccup");
    // One failure every 6 minutes: never more than 2 within 10 minutes, so always replaced.
    for (int i = 0; i < 10; i++) {
      now.addAndGet(6 * 60 * SECOND);
      assertThat(policy.handle(transientFailure))
          .as("failure %d", i)
          .isEqualTo(StreamThreadExceptionResponse.REPLACE_THREAD);
    }
  }

  @Test
  void shouldShutDownAtTheFirstFailureWhenNoReplacementIsAllowed() {
    StreamThreadFailures policy = new StreamThreadFailures(0, Duration.ofMinutes(10), () -> 0L);
    assertThat(policy.handle(new OutOfMemoryError("test")))
        .isEqualTo(StreamThreadExceptionResponse.SHUTDOWN_CLIENT);
  }

  @Test
  void shouldTakeItsLimitsFromTheSettings() {
    FewShotConfig config =
        new FewShotConfig(
            Map.of(
                FewShotConfig.THREAD_REPLACEMENTS_MAX_CONFIG, 1,
                FewShotConfig.THREAD_REPLACEMENTS_WINDOW_MS_CONFIG, 60_000L));
    StreamThreadFailures policy = FewShotStreams.threadFailures(config);
    assertThat(policy.handle(new IllegalStateException("one")))
        .isEqualTo(StreamThreadExceptionResponse.REPLACE_THREAD);
    assertThat(policy.handle(new IllegalStateException("two")))
        .isEqualTo(StreamThreadExceptionResponse.SHUTDOWN_CLIENT);
  }
}
