package io.fewshotstreams.streaming.learner;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * How many tasks the learners of this instance hold, against {@code fewshot.max.tasks}. Each
 * learner adds the tasks of its store when it opens and takes them back when it closes, so the
 * count follows the partitions as they move between instances.
 */
public final class TaskCount {
  private final int limit;
  private final AtomicInteger held = new AtomicInteger();

  /** A count of none, against at most {@code limit} tasks. */
  public TaskCount(int limit) {
    this.limit = limit;
  }

  int limit() {
    return limit;
  }

  int held() {
    return held.get();
  }

  void add(int tasks) {
    held.addAndGet(tasks);
  }

  /** Takes one more task if the limit allows it. */
  boolean tryAddOne() {
    while (true) {
      int now = held.get();
      if (now >= limit) {
        return false;
      }
      if (held.compareAndSet(now, now + 1)) {
        return true;
      }
    }
  }
}
