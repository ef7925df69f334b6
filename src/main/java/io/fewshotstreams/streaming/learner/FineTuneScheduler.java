package io.fewshotstreams.streaming.learner;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The threads that fine-tune, off the stream threads: a punctuation that ran the fine-tuning itself
 * could outlast the transaction timeout under exactly-once. Shared by every learner of an instance.
 */
public final class FineTuneScheduler implements AutoCloseable {
  private final ExecutorService executor;
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicLong submitted = new AtomicLong();
  private final Object idle = new Object();

  /** A scheduler with {@code threads} daemon threads. */
  public FineTuneScheduler(int threads) {
    AtomicInteger count = new AtomicInteger();
    ThreadFactory factory =
        r -> {
          Thread t = new Thread(r, "fewshot-finetune-" + count.incrementAndGet());
          t.setDaemon(true);
          return t;
        };
    this.executor = Executors.newFixedThreadPool(threads, factory);
  }

  /** Runs {@code job} on a fine-tuning thread. */
  void submit(Runnable job) {
    submitted.incrementAndGet();
    pending.incrementAndGet();
    executor.execute(
        () -> {
          try {
            job.run();
          } finally {
            if (pending.decrementAndGet() == 0) {
              synchronized (idle) {
                idle.notifyAll();
              }
            }
          }
        });
  }

  /** Jobs submitted since this scheduler was made, finished or not. */
  public long submitted() {
    return submitted.get();
  }

  /** Jobs submitted and not yet finished. */
  public int pending() {
    return pending.get();
  }

  /**
   * Waits until no job is running or queued.
   *
   * @return whether that happened within the timeout
   */
  public boolean awaitIdle(long timeoutMs) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMs;
    synchronized (idle) {
      while (pending.get() > 0) {
        long left = deadline - System.currentTimeMillis();
        if (left <= 0) {
          return false;
        }
        idle.wait(left);
      }
    }
    return true;
  }

  /** Stops the threads; a job still running is interrupted and its result dropped. */
  @Override
  public void close() {
    executor.shutdownNow();
    try {
      executor.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
