package io.fewshotstreams.streaming.query;

import io.fewshotstreams.streaming.BoundedMaps;
import java.util.Map;

/**
 * Which answered queries go on to their task's pool: at most {@code limit} per task per fine-tune
 * interval. The pool is a ring of the task's last {@code fewshot.query.pool.size} queries, read once
 * an interval, so beyond that many per interval a query would be overwritten before any fine-tune
 * read it; each one costs a repartition record and two changelog writes. Counted per stream task,
 * in memory: a restart or a moved task starts a fresh count, which admits at most one pool's worth
 * more.
 */
final class PoolAdmission {
  /** Tasks whose interval is tracked; the oldest started is forgotten beyond (it admits anew). */
  static final int TRACKED_TASKS = 65_536;

  private final int limit;
  private final long intervalMs;
  private final Map<String, long[]> windows =
      BoundedMaps.of(TRACKED_TASKS, false);

  /**
   * @param limit queries admitted per task per interval; 0 admits none
   * @param intervalMs the fine-tune interval, > 0
   */
  PoolAdmission(int limit, long intervalMs) {
    if (limit < 0 || intervalMs <= 0) {
      throw new IllegalArgumentException(
          "expected a limit >= 0 and an interval > 0, found " + limit + " and " + intervalMs);
    }
    this.limit = limit;
    this.intervalMs = intervalMs;
  }

  /** Whether a query of {@code task} answered at {@code nowMs} goes to the pool; counts it if so. */
  boolean admit(String task, long nowMs) {
    if (limit == 0) {
      return false;
    }
    long[] window = windows.get(task); // {start of the interval, admitted in it}
    if (window == null || nowMs - window[0] >= intervalMs || nowMs < window[0]) {
      window = new long[] {nowMs, 0};
      windows.remove(task);
      windows.put(task, window);
    }
    if (window[1] >= limit) {
      return false;
    }
    window[1]++;
    return true;
  }
}
