package io.fewshotstreams.bench;

import java.util.Locale;

/** The machine a benchmark ran on, as printed above every table. */
public final class Machine {
  private Machine() {}

  /**
   * One line: the processors the JVM may use, the maximum heap, the operating system and the Java
   * runtime.
   */
  public static String describe() {
    Runtime runtime = Runtime.getRuntime();
    return String.format(
        Locale.ROOT,
        "%d cores available to the JVM, max heap %d MiB, %s %s (%s), Java %s (%s %s)",
        runtime.availableProcessors(),
        runtime.maxMemory() / (1024 * 1024),
        System.getProperty("os.name"),
        System.getProperty("os.version"),
        System.getProperty("os.arch"),
        System.getProperty("java.version"),
        System.getProperty("java.vm.name"),
        System.getProperty("java.vm.version"));
  }
}
