package io.fewshotstreams.app;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Waits for Ctrl-C or SIGTERM, then holds the JVM's exit until the caller has closed what it runs
 * (so state stores are flushed and transactions end cleanly).
 */
final class ShutdownSignal implements AutoCloseable {
  private final CountDownLatch requested = new CountDownLatch(1);
  private final CountDownLatch finished = new CountDownLatch(1);

  ShutdownSignal() {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  requested.countDown();
                  try {
                    finished.await(60, TimeUnit.SECONDS);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                },
                "fewshot-shutdown"));
  }

  /** Blocks until a shutdown is requested. */
  void await() throws InterruptedException {
    requested.await();
  }

  /** Lets the JVM exit; call after everything is closed. */
  @Override
  public void close() {
    finished.countDown();
  }
}
