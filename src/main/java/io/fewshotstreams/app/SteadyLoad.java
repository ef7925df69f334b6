package io.fewshotstreams.app;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.bench.SteadyState;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.BitSet;
import java.util.Locale;
import java.util.function.IntFunction;
import java.util.function.ToIntFunction;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Sustained throughput in steady state, the harness of the {@code end-to-end} and {@code kafka}
 * suites: queries are published as fast as the system takes them (at most {@code maxInFlight}
 * unanswered, so the backlog stays bounded), answers are counted in windows of fixed length until
 * the window rate stops rising ({@link SteadyState}) or the warm-up time runs out (a window
 * lasts at least its time and 100 answers, at most five times its time), then the next
 * {@code measuredQueries} answers are timed. Every line it prints is flushed at once: a profiler
 * driver may start on the {@code measuring} line and stop on the {@code measured} line.
 */
final class SteadyLoad {
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final int MIN_WINDOW_ANSWERS = 100;

  /** How the run warms up and how much it measures. */
  record Settings(
      double windowSeconds,
      double tolerance,
      int windows,
      double maxWarmUpSeconds,
      int measuredQueries,
      int minInFlight) {
    Settings {
      if (!(windowSeconds > 0)) {
        throw new FewShotException("expected a window of more than 0 s, found " + windowSeconds);
      }
      if (!(maxWarmUpSeconds >= 0)) {
        throw new FewShotException("expected a warm-up limit >= 0 s, found " + maxWarmUpSeconds);
      }
      if (measuredQueries < 1) {
        throw new FewShotException("expected >= 1 measured queries, found " + measuredQueries);
      }
      if (minInFlight < 1) {
        throw new FewShotException("expected >= 1 queries in flight, found " + minInFlight);
      }
      try {
        new SteadyState(tolerance, windows); // validates both
      } catch (IllegalArgumentException e) {
        throw new FewShotException("steady state: " + e.getMessage(), e);
      }
    }

    /** The rule, for the heading of a table. */
    String describe() {
      return String.format(
          Locale.ROOT,
          "steady state: queries sent as fast as taken, answers counted in windows of %.1f s (and"
              + " at least 100 answers, up to 5 times as long); the"
              + " warm-up ends when the last %d window rates (the first window never counts) lie"
              + " within %.0f%% of each other, or after %.0f s; then %d queries timed",
          windowSeconds, windows, 100 * tolerance, maxWarmUpSeconds, measuredQueries);
    }
  }

  /** Called as the measured span starts and ends (to read counters over exactly that span). */
  interface Span {
    void started();

    void ended();

    Span NONE =
        new Span() {
          @Override
          public void started() {}

          @Override
          public void ended() {}
        };
  }

  /**
   * The figures of one run.
   *
   * @param warmUpSeconds from the first send to the start of the measured span
   * @param decision how the warm-up ended: the window rates and the rule
   */
  record Result(
      int queries,
      double seconds,
      double queriesPerSecond,
      boolean settled,
      double warmUpSeconds,
      int warmUpQueries,
      String decision) {}

  private SteadyLoad() {}

  /**
   * Runs one measurement.
   *
   * @param query the {@code i}-th query record, for every {@code i} from 0
   * @param answered the index of the query a record answers, or -1 when it answers none of these
   * @param label names the run in the lines printed
   */
  static Result run(
      KafkaProducer<String, byte[]> producer,
      KafkaConsumer<String, byte[]> consumer,
      IntFunction<ProducerRecord<String, byte[]>> query,
      ToIntFunction<ConsumerRecord<String, byte[]>> answered,
      Settings settings,
      Span span,
      PrintWriter out,
      String label) {
    SteadyState steady = new SteadyState(settings.tolerance(), settings.windows());
    BitSet seen = new BitSet();
    long windowNanos = (long) (settings.windowSeconds() * 1e9);
    long maxWarmUpNanos = (long) (settings.maxWarmUpSeconds() * 1e9);
    int inFlight = settings.minInFlight();
    int sent = 0;
    int received = 0;
    long start = System.nanoTime();
    long windowStart = start;
    int windowFirst = 0;
    long measureStart = -1;
    int measureFirst = 0;
    boolean settled = false;
    while (true) {
      while (sent - received < inFlight) {
        producer.send(query.apply(sent++));
      }
      received += poll(consumer, answered, seen, Duration.ofMillis(5));
      long now = System.nanoTime();
      // A window closes after its time and at least MIN_WINDOW_ANSWERS answers (a rate of two or
      // three answers a window says nothing), or after five times its time regardless.
      long open = now - windowStart;
      if (measureStart < 0
          && open >= windowNanos
          && (received - windowFirst >= MIN_WINDOW_ANSWERS || open >= 5 * windowNanos)) {
        double rate = (received - windowFirst) / ((now - windowStart) / 1e9);
        settled = steady.add(rate);
        // Enough in flight for half a second at the rate seen: covers several commit intervals.
        inFlight = Math.max(settings.minInFlight(), (int) (rate / 2));
        windowStart = now;
        windowFirst = received;
        if (settled || now - start >= maxWarmUpNanos) {
          measureStart = now;
          measureFirst = received;
          out.printf(
              Locale.ROOT, "%s: warm-up %.1f s, %d answers; %s%n", label, (now - start) / 1e9,
              received, steady.describe());
          out.printf("%s: measuring %d queries%n", label, settings.measuredQueries());
          out.flush();
          span.started();
        }
      }
      if (measureStart >= 0 && received - measureFirst >= settings.measuredQueries()) {
        span.ended();
        int n = received - measureFirst;
        double seconds = (now - measureStart) / 1e9;
        out.printf(Locale.ROOT, "%s: measured %d queries in %.2f s%n", label, n, seconds);
        out.flush();
        drain(consumer, answered, seen, sent, received);
        return new Result(
            n, seconds, n / seconds, settled, (measureStart - start) / 1e9, measureFirst,
            steady.describe());
      }
    }
  }

  /** Waits for the answers still owed, so the next run starts on an idle system. */
  private static void drain(
      KafkaConsumer<String, byte[]> consumer,
      ToIntFunction<ConsumerRecord<String, byte[]>> answered,
      BitSet seen,
      int sent,
      int received) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (received < sent) {
      if (System.nanoTime() > deadline) {
        throw new FewShotException(
            "expected " + sent + " answers within " + WAIT.toSeconds() + " s of the last send,"
                + " found " + received);
      }
      received += poll(consumer, answered, seen, Duration.ofMillis(20));
    }
  }

  private static int poll(
      KafkaConsumer<String, byte[]> consumer,
      ToIntFunction<ConsumerRecord<String, byte[]>> answered,
      BitSet seen,
      Duration timeout) {
    int fresh = 0;
    for (ConsumerRecord<String, byte[]> r : consumer.poll(timeout)) {
      int i = answered.applyAsInt(r);
      // At-least-once may answer a query twice; it counts once.
      if (i >= 0 && !seen.get(i)) {
        seen.set(i);
        fresh++;
      }
    }
    return fresh;
  }
}
