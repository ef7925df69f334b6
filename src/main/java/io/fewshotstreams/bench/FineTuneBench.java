package io.fewshotstreams.bench;

import io.fewshotstreams.evaluation.Summary;
import io.fewshotstreams.fewshot.FewShotMethod;
import io.fewshotstreams.fewshot.FineTuneConfig;
import io.fewshotstreams.fewshot.InvalidInputException;
import io.fewshotstreams.fewshot.Methods;
import io.fewshotstreams.fewshot.SupportSet;
import io.fewshotstreams.fewshot.Vectors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Times {@link FewShotMethod#fit} on seeded synthetic episodes: each class is a random unit centre,
 * each example {@code normalize(centre + noise)}. The figures cover the whole fit (prototypes and
 * fine-tuning), one episode at a time on the calling thread.
 */
public final class FineTuneBench {
  /** Per-coordinate noise; with d >= 64 it makes classes overlap, as real features do. */
  private static final double NOISE = 0.1;

  /** Passed as {@code steps}: the method's own number of steps. */
  public static final int DEFAULT_STEPS = -1;

  private FineTuneBench() {}

  /**
   * Per-episode fit times of one configuration.
   *
   * @param millis the measured times in milliseconds, in episode order
   * @param medianMillis median of {@code millis}
   * @param p90Millis 90th percentile of {@code millis} (nearest rank)
   */
  public record Result(
      int ways,
      int shots,
      int queries,
      int dimension,
      String method,
      double[] millis,
      double medianMillis,
      double p90Millis) {

    /** Copies the times. */
    public Result {
      millis = millis.clone();
    }

    @Override
    public double[] millis() {
      return millis.clone();
    }

    @Override
    public String toString() {
      return String.format(
          "%s %d-way %d-shot %d queries d=%d: median %.3f ms, p90 %.3f ms over %d episodes",
          method, ways, shots, queries, dimension, medianMillis, p90Millis, millis.length);
    }
  }

  /**
   * Runs {@code warmup} untimed episodes, then {@code repeats} timed ones.
   *
   * @param method a name from {@link Methods#names()}
   * @param seed seeds the synthetic episodes, so runs are comparable
   */
  public static Result run(
      int ways, int shots, int queries, int dimension, String method, int repeats, int warmup,
      long seed) {
    return run(ways, shots, queries, dimension, method, DEFAULT_STEPS, repeats, warmup, seed);
  }

  /**
   * As {@link #run(int, int, int, int, String, int, int, long)}, with {@code steps} Adam steps
   * (early stopping is off in the defaults, so every step runs).
   *
   * @param steps {@link #DEFAULT_STEPS}, or >= 0 for {@code inductive} and {@code transductive}
   */
  public static Result run(
      int ways, int shots, int queries, int dimension, String method, int steps, int repeats,
      int warmup, long seed) {
    if (ways < 1 || shots < 1 || queries < 0 || dimension < 1 || repeats < 1 || warmup < 0) {
      throw new InvalidInputException(
          String.format(
              "expected ways >= 1, shots >= 1, queries >= 0, dimension >= 1, repeats >= 1,"
                  + " warmup >= 0, found %d, %d, %d, %d, %d, %d",
              ways, shots, queries, dimension, repeats, warmup));
    }
    FewShotMethod fewShot = method(method, steps);
    Random random = new Random(seed);
    double[] millis = new double[repeats];
    long sink = 0;
    for (int e = 0; e < warmup + repeats; e++) {
      Episode episode = Episode.synthetic(random, ways, shots, queries, dimension);
      long start = System.nanoTime();
      int predicted = fewShot.fit(episode.support, episode.queries).numClasses();
      long elapsed = System.nanoTime() - start;
      sink += predicted;
      if (e >= warmup) {
        millis[e - warmup] = elapsed / 1e6;
      }
    }
    if (sink == 0) {
      throw new IllegalStateException("no classifier was built");
    }
    double[] sorted = millis.clone();
    Arrays.sort(sorted);
    double median = Summary.median(sorted);
    double p90 = sorted[(int) Math.ceil(0.9 * sorted.length) - 1];
    return new Result(ways, shots, queries, dimension, method, millis, median, p90);
  }

  /** The named method, with {@code steps} Adam steps unless {@link #DEFAULT_STEPS}. */
  static FewShotMethod method(String name, int steps) {
    if (steps == DEFAULT_STEPS) {
      return Methods.byName(name);
    }
    if (steps < 0) {
      throw new InvalidInputException("expected steps >= 0, found " + steps);
    }
    if (Methods.INDUCTIVE.equals(name)) {
      return Methods.inductive(FineTuneConfig.inductiveDefaults().withSteps(steps));
    }
    if (Methods.TRANSDUCTIVE.equals(name)) {
      return Methods.transductive(FineTuneConfig.transductiveDefaults().withSteps(steps));
    }
    throw new InvalidInputException(
        "expected a step count only for the methods " + Methods.INDUCTIVE + " and "
            + Methods.TRANSDUCTIVE + ", found method '" + name + "' with " + steps + " steps");
  }

  /** Runs a few standard configurations and prints them; arguments: [repeats]. */
  public static void main(String[] args) {
    int repeats = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    for (int dimension : new int[] {256, 512}) {
      for (String method : Methods.names()) {
        for (int shots : new int[] {1, 5}) {
          System.out.println(run(5, shots, 75, dimension, method, repeats, repeats, 42L));
        }
      }
    }
  }

  private record Episode(SupportSet support, float[][] queries) {
    static Episode synthetic(Random random, int ways, int shots, int queries, int dimension) {
      float[][] centres = new float[ways][];
      List<String> labels = new ArrayList<>();
      for (int c = 0; c < ways; c++) {
        centres[c] = gaussian(random, dimension, 1.0 / Math.sqrt(dimension));
        labels.add("class-" + c);
      }
      float[][] support = new float[ways * shots][];
      int[] classIndex = new int[ways * shots];
      for (int i = 0; i < support.length; i++) {
        classIndex[i] = i % ways;
        support[i] = sample(random, centres[i % ways]);
      }
      float[][] query = new float[queries][];
      for (int j = 0; j < queries; j++) {
        query[j] = sample(random, centres[j % ways]);
      }
      return new Episode(new SupportSet(labels, support, classIndex), query);
    }

    private static float[] sample(Random random, float[] centre) {
      float[] noise = gaussian(random, centre.length, NOISE);
      for (int k = 0; k < noise.length; k++) {
        noise[k] += centre[k];
      }
      return Vectors.normalize(noise);
    }

    private static float[] gaussian(Random random, int dimension, double sigma) {
      float[] v = new float[dimension];
      for (int k = 0; k < dimension; k++) {
        v[k] = (float) (random.nextGaussian() * sigma);
      }
      return v;
    }
  }
}
