package io.fewshotstreams.streaming.feedback;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

/**
 * The feedback room's settings, read from {@code FewShotConfig}.
 *
 * @param retentionMs how long (wall clock) a prediction is kept for its feedback
 * @param maxRetainedPerTask most predictions kept per task
 * @param windowOutcomes outcomes in each task's sliding window
 * @param promotePolicy which feedback becomes a support example, per task
 * @param reviewThreshold the confidence below which a prediction goes to review, per task
 * @param metricsMaxTasks tasks that get their own tag on the feedback metrics
 */
public record TaskSettings(
    long retentionMs,
    int maxRetainedPerTask,
    int windowOutcomes,
    PerTask<PromotePolicy> promotePolicy,
    PerTask<Double> reviewThreshold,
    int metricsMaxTasks) {

  /** Which feedback becomes a support example. */
  public enum PromotePolicy {
    /** Only feedback with {@code promote} true. */
    FLAGGED,
    /** Also every wrong or unknown answer. */
    WRONG
  }

  public TaskSettings {
    if (retentionMs < 1 || maxRetainedPerTask < 1 || windowOutcomes < 1 || metricsMaxTasks < 0) {
      throw new IllegalArgumentException(
          "expected positive retention, retained and window sizes, found "
              + retentionMs
              + ", "
              + maxRetainedPerTask
              + ", "
              + windowOutcomes);
    }
    Objects.requireNonNull(promotePolicy, "promotePolicy");
    Objects.requireNonNull(reviewThreshold, "reviewThreshold");
  }

  /** A value per task, with {@code fallback} for every task not named. */
  public record PerTask<T>(T fallback, Map<String, T> byTask) {
    public PerTask {
      Objects.requireNonNull(fallback, "fallback");
      byTask = Map.copyOf(byTask);
    }

    /** The value of {@code task}. */
    public T of(String task) {
      return byTask.getOrDefault(task, fallback);
    }
  }

  /**
   * Reads {@code task=value} entries ({@code *} for every other task) with {@code parse}.
   *
   * @throws IllegalArgumentException naming the entry that is not {@code task=value}, names a task
   *     twice, or lacks the {@code *} entry
   */
  public static <T> PerTask<T> perTask(List<String> entries, Function<String, T> parse) {
    Map<String, T> byTask = new HashMap<>();
    T fallback = null;
    for (String entry : entries) {
      int eq = entry.lastIndexOf('=');
      if (eq <= 0 || eq == entry.length() - 1) {
        throw new IllegalArgumentException(
            "expected entries task=value (or *=value), found '" + entry + "'");
      }
      String task = entry.substring(0, eq).trim();
      T value = parse.apply(entry.substring(eq + 1).trim());
      if (task.equals("*")) {
        fallback = value;
      } else if (byTask.put(task, value) != null) {
        throw new IllegalArgumentException("expected each task once, found '" + task + "' twice");
      }
    }
    if (fallback == null) {
      throw new IllegalArgumentException(
          "expected an entry *=value for every other task, found " + entries);
    }
    return new PerTask<>(fallback, byTask);
  }

  /** {@code flagged} or {@code wrong}. */
  public static PromotePolicy promotePolicy(String text) {
    return switch (text.toLowerCase(Locale.ROOT)) {
      case "flagged" -> PromotePolicy.FLAGGED;
      case "wrong" -> PromotePolicy.WRONG;
      default ->
          throw new IllegalArgumentException("expected flagged or wrong, found '" + text + "'");
    };
  }

  /** A number in [0, 1]. */
  public static Double probability(String text) {
    double value;
    try {
      value = Double.parseDouble(text);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("expected a number in [0, 1], found '" + text + "'");
    }
    if (!(value >= 0 && value <= 1)) {
      throw new IllegalArgumentException("expected a number in [0, 1], found " + text);
    }
    return value;
  }

  /** A validator of a list setting of {@code task=value} entries. */
  public static ConfigDef.Validator validator(Function<String, ?> parse) {
    return new ConfigDef.Validator() {
      @Override
      public void ensureValid(String name, Object value) {
        try {
          @SuppressWarnings("unchecked")
          List<String> entries = (List<String>) value;
          perTask(entries, parse);
        } catch (IllegalArgumentException e) {
          throw new ConfigException(name, value, e.getMessage());
        }
      }

      @Override
      public String toString() {
        return "task=value entries, with *=value";
      }
    };
  }
}
