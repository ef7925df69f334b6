package io.fewshotstreams.app;

import io.fewshotstreams.bench.FineTuneBench;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code bench}: performance figures. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Measures fine-tuning time per episode on synthetic episodes (single thread).")
final class BenchCommand implements Callable<Integer> {

  @Option(names = "--ways", split = ",", description = "Ways (default: ${DEFAULT-VALUE}).")
  List<Integer> ways = new ArrayList<>(List.of(5));

  @Option(names = "--shots", split = ",", description = "Shots (default: ${DEFAULT-VALUE}).")
  List<Integer> shots = new ArrayList<>(List.of(1, 5));

  @Option(names = "--queries", description = "Queries per class (default: ${DEFAULT-VALUE}).")
  int queries = 15;

  @Option(names = "--dims", split = ",", description = "Feature sizes (default: ${DEFAULT-VALUE}).")
  List<Integer> dims = new ArrayList<>(List.of(256));

  @Option(
      names = "--methods",
      split = ",",
      description = "Methods (default: ${DEFAULT-VALUE}).")
  List<String> methods = new ArrayList<>(List.of("inductive", "transductive", "auto"));

  @Option(names = "--repeats", description = "Timed episodes per row, after as many warm-up ones (default: ${DEFAULT-VALUE}).")
  int repeats = 200;

  @Option(names = "--seed", description = "Seed of the synthetic episodes (default: ${DEFAULT-VALUE}).")
  long seed = 42;

  @Override
  public Integer call() {
    System.out.printf(
        "%-13s %5s %5s %7s %5s %10s %10s%n", "method", "ways", "shots", "queries", "dim",
        "median ms", "p90 ms");
    for (String method : methods) {
      for (int w : ways) {
        for (int k : shots) {
          for (int d : dims) {
            FineTuneBench.Result r = FineTuneBench.run(w, k, w * queries, d, method, repeats, repeats, seed);
            System.out.printf(
                "%-13s %5d %5d %7d %5d %10.3f %10.3f%n", method, w, k, w * queries, d,
                r.medianMillis(), r.p90Millis());
          }
        }
      }
    }
    return 0;
  }
}
