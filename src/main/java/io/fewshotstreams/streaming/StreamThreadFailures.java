package io.fewshotstreams.streaming;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.function.LongSupplier;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The uncaught-exception policy of the stream threads. A failed thread is replaced, so that one
 * transient failure does not stop the instance; but a record or state that kills every thread that
 * touches it would have the instance replace threads for ever while {@code /health} says UP. So
 * after {@code fewshot.stream.thread.replacements.max} replacements within {@code
 * fewshot.stream.thread.replacements.window.ms}, the next failure shuts this Kafka Streams client
 * down: its state becomes ERROR, {@code /health} answers 503, and the orchestrator restarts the
 * instance (the tasks move to the other instances meanwhile).
 */
final class StreamThreadFailures implements StreamsUncaughtExceptionHandler {
  private static final Logger log = LoggerFactory.getLogger(StreamThreadFailures.class);

  private final int maxReplacements;
  private final Duration window;
  private final LongSupplier nanoClock;
  /** When each replacement within the window happened, oldest first. */
  private final Deque<Long> replacements = new ArrayDeque<>();

  /**
   * @param maxReplacements replacements allowed within {@code window}; 0 replaces none
   * @param nanoClock monotonic nanoseconds ({@link System#nanoTime} outside tests)
   */
  StreamThreadFailures(int maxReplacements, Duration window, LongSupplier nanoClock) {
    if (maxReplacements < 0) {
      throw new IllegalArgumentException(
          "expected a number of replacements >= 0, found " + maxReplacements);
    }
    this.maxReplacements = maxReplacements;
    this.window = window;
    this.nanoClock = nanoClock;
  }

  @Override
  public synchronized StreamThreadExceptionResponse handle(Throwable failure) {
    long now = nanoClock.getAsLong();
    while (!replacements.isEmpty() && now - replacements.peekFirst() > window.toNanos()) {
      replacements.removeFirst();
    }
    if (replacements.size() < maxReplacements) {
      replacements.addLast(now);
      log.error(
          "stream thread failed; replacing it ({} of at most {} replacements within {} s)",
          replacements.size(),
          maxReplacements,
          window.toSeconds(),
          failure);
      return StreamThreadExceptionResponse.REPLACE_THREAD;
    }
    log.error(
        "stream thread failed after {} replacements within {} s ({}={}, {}={}); shutting this"
            + " Kafka Streams client down: its state goes to ERROR and /health answers 503, so that"
            + " the instance is restarted instead of looping on the same failure",
        replacements.size(),
        window.toSeconds(),
        FewShotConfig.THREAD_REPLACEMENTS_MAX_CONFIG,
        maxReplacements,
        FewShotConfig.THREAD_REPLACEMENTS_WINDOW_MS_CONFIG,
        window.toMillis(),
        failure);
    return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
  }
}
