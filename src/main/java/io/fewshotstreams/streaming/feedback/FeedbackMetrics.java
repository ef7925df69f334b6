package io.fewshotstreams.streaming.feedback;

import io.fewshotstreams.events.Outcome;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The feedback meters, shared by the stream threads of an instance:
 *
 * <ul>
 *   <li>{@code fewshot.feedback.outcomes{task,method,result}}: outcomes counted by this instance;
 *   <li>{@code fewshot.feedback.accuracy{task,scope}}: the task's accuracy since start ({@code
 *       scope=all}, from the changelogged state, so it survives restarts) and over its window
 *       ({@code scope=window}), set on each outcome;
 *   <li>{@code fewshot.feedback.review{task,reason}}: predictions sent to review.
 * </ul>
 *
 * The {@code task} tag is bounded: the first {@code maxTasks} tasks an instance sees keep their
 * name, every later one is tagged {@value #OTHER} (its accuracy gauges are left out, since tasks
 * cannot be averaged into one gauge). So a series count is at most (maxTasks + 1) x 2 methods x 5
 * results for the counter and maxTasks x 2 for the gauges.
 */
final class FeedbackMetrics {
  static final String OTHER = "other";

  private final MeterRegistry registry;
  private final int maxTasks;
  private final AtomicInteger named = new AtomicInteger();
  private final Map<String, String> tags = new ConcurrentHashMap<>();
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();
  private final Map<String, Accuracy> accuracy = new ConcurrentHashMap<>();

  /** The gauges' values, written by a stream thread and read by the scrape. */
  private static final class Accuracy {
    volatile double all = Double.NaN;
    volatile double window = Double.NaN;
  }

  FeedbackMetrics(MeterRegistry registry, int maxTasks) {
    this.registry = registry;
    this.maxTasks = maxTasks;
  }

  /** The tag of {@code task}: its name for the first {@code maxTasks} tasks, else other. */
  String tag(String task) {
    return tags.computeIfAbsent(
        task, t -> named.getAndIncrement() < maxTasks ? t : OTHER);
  }

  /** Counts an outcome and sets the task's accuracy gauges. */
  void outcome(Outcome outcome, double accuracyAll, double accuracyWindow) {
    String task = tag(outcome.task());
    counters
        .computeIfAbsent(
            task + '\0' + outcome.method() + '\0' + outcome.result(),
            k ->
                Counter.builder("fewshot.feedback.outcomes")
                    .description("Predictions joined with their true label")
                    .tag("task", task)
                    .tag("method", outcome.method())
                    .tag("result", outcome.result())
                    .register(registry))
        .increment();
    accuracy(outcome.task(), accuracyAll, accuracyWindow);
  }

  /** Sets the accuracy gauges of a task (also after a restart, from its restored state). */
  void accuracy(String task, double all, double window) {
    String tag = tag(task);
    if (tag.equals(OTHER)) {
      return;
    }
    Accuracy values =
        accuracy.computeIfAbsent(
            task,
            t -> {
              Accuracy v = new Accuracy();
              Gauge.builder("fewshot.feedback.accuracy", v, a -> a.all)
                  .description("Share of correct answers among the task's outcomes")
                  .tag("task", tag)
                  .tag("scope", "all")
                  .register(registry);
              Gauge.builder("fewshot.feedback.accuracy", v, a -> a.window)
                  .description("Share of correct answers among the task's outcomes")
                  .tag("task", tag)
                  .tag("scope", "window")
                  .register(registry);
              return v;
            });
    values.all = all;
    values.window = window;
  }

  /** Counts a prediction sent to review. */
  void review(String task, String reason) {
    String tag = tag(task);
    counters
        .computeIfAbsent(
            "review\0" + tag + '\0' + reason,
            k ->
                Counter.builder("fewshot.feedback.review")
                    .description("Predictions sent to the review topic")
                    .tag("task", tag)
                    .tag("reason", reason)
                    .register(registry))
        .increment();
  }
}
