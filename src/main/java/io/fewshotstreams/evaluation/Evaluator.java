package io.fewshotstreams.evaluation;

import io.fewshotstreams.dataset.Sample;
import io.fewshotstreams.fewshot.CosineClassifier;
import io.fewshotstreams.fewshot.FeatureTransform;
import io.fewshotstreams.fewshot.FewShotMethod;
import io.fewshotstreams.fewshot.OpenSetClassifier;
import io.fewshotstreams.fewshot.OpenSetMethod;
import io.fewshotstreams.fewshot.SupportSet;
import io.fewshotstreams.fewshot.SupportStatistics;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Runs few-shot methods on the same episodes and scores them. Plain Java: the features are
 * computed beforehand, so this needs neither a backbone nor native code.
 */
public final class Evaluator {
  /** Bins of the expected calibration error. */
  public static final int ECE_BINS = 15;

  /** Name of the baseline scored by the highest cosine to a support prototype. */
  public static final String MAX_COSINE = "baseline:max-cosine";

  /** Name of the baseline scored by the cosine to the nearest support example. */
  public static final String NEAREST_SUPPORT = "baseline:nearest-support";

  private static final int BOOTSTRAP = 200;

  private final FeatureTransform transform;
  private final float acceptShare;

  /** An evaluator whose leave-one-out thresholds accept 95% of known-class images. */
  public Evaluator(FeatureTransform transform) {
    this(transform, 0.95f);
  }

  /**
   * @param acceptShare the share of known-class images the thresholds of the methods without their
   *     own open-set rule, and of the baselines, are set to accept from the support set
   */
  public Evaluator(FeatureTransform transform, float acceptShare) {
    this.transform = transform;
    this.acceptShare = acceptShare;
  }

  /** Scores every method on every episode; results are in the order of {@code methods}. */
  public List<Summary> evaluate(
      List<Episode> episodes, FeatureTable features, List<FewShotMethod> methods,
      Progress progress) {
    int m = methods.size();
    double[][] accuracy = new double[m][episodes.size()];
    double[][] millis = new double[m][episodes.size()];
    for (int e = 0; e < episodes.size(); e++) {
      Episode episode = episodes.get(e);
      List<String> classes = episode.classes();
      SupportSet support =
          new SupportSet(
              classes,
              transform.applyAll(features.getAll(episode.support())),
              classIndices(episode.support(), classes));
      float[][] queries = transform.applyAll(features.getAll(episode.query()));
      int[] truth = classIndices(episode.query(), classes);
      for (int k = 0; k < m; k++) {
        long start = System.nanoTime();
        CosineClassifier classifier = methods.get(k).fit(support, queries);
        int correct = 0;
        for (int q = 0; q < queries.length; q++) {
          if (classifier.predict(queries[q]) == truth[q]) {
            correct++;
          }
        }
        millis[k][e] = (System.nanoTime() - start) / 1e6;
        accuracy[k][e] = correct / (double) queries.length;
      }
      progress.update("episodes", e + 1, episodes.size());
    }
    List<Summary> out = new ArrayList<>(m);
    for (int k = 0; k < m; k++) {
      out.add(Summary.of(methods.get(k).name(), accuracy[k], millis[k]));
    }
    return out;
  }

  /**
   * Scores every method, then the open-set baselines, on every episode, each method seeing the
   * known-class queries and the open-set images of an episode together as one unlabelled pool.
   * Methods that are {@link OpenSetMethod}s are scored by their own open-set score and threshold;
   * the others by their maximum softmax probability, with the threshold from the support set's
   * leave-one-out prototype predictions (none at one shot). Results are in the order of {@code
   * methods}, then {@value #MAX_COSINE} and {@value #NEAREST_SUPPORT}.
   */
  public List<PoolReport> evaluatePools(
      List<Episode> episodes, FeatureTable features, List<FewShotMethod> methods,
      Progress progress) {
    int rows = methods.size() + 2;
    int n = episodes.size();
    double[][] accuracy = new double[rows][n];
    double[][] auroc = new double[rows][n];
    double[][] unknownRejected = new double[rows][n];
    double[][] knownRejected = new double[rows][n];
    double[][][] confidence = new double[rows][n][];
    boolean[][][] correct = new boolean[rows][n][];
    double[][] millis = new double[rows][n];
    double[][] taskGap = new double[rows][n];
    List<Map<String, Integer>> fits = new ArrayList<>();
    for (int k = 0; k < rows; k++) {
      fits.add(new TreeMap<>());
    }
    for (int e = 0; e < n; e++) {
      Episode episode = episodes.get(e);
      List<String> classes = episode.classes();
      SupportSet support =
          new SupportSet(
              classes,
              transform.applyAll(features.getAll(episode.support())),
              classIndices(episode.support(), classes));
      float[][] known = transform.applyAll(features.getAll(episode.query()));
      float[][] open =
          episode.open().isEmpty()
              ? new float[0][]
              : transform.applyAll(features.getAll(episode.open()));
      float[][] pool = new float[known.length + open.length][];
      System.arraycopy(known, 0, pool, 0, known.length);
      System.arraycopy(open, 0, pool, known.length, open.length);
      int[] truth = classIndices(episode.query(), classes);
      float[][] loo = SupportStatistics.leaveOneOutCosines(support);
      for (int k = 0; k < rows; k++) {
        long start = System.nanoTime();
        Scored scored =
            k < methods.size()
                ? scoreMethod(methods.get(k), support, pool, loo)
                : k == methods.size() ? maxCosine(support, pool, loo) : nearestSupport(support, pool);
        millis[k][e] = (System.nanoTime() - start) / 1e6;
        if (!scored.fit().isEmpty()) {
          fits.get(k).merge(scored.fit(), 1, Integer::sum);
        }
        int hits = 0;
        confidence[k][e] = new double[known.length];
        correct[k][e] = new boolean[known.length];
        double[] knownScores = new double[known.length];
        double[] openScores = new double[open.length];
        int knownOut = 0;
        for (int q = 0; q < known.length; q++) {
          boolean right = scored.predicted[q] == truth[q];
          hits += right ? 1 : 0;
          correct[k][e][q] = right;
          confidence[k][e][q] = scored.confidence[q];
          knownScores[q] = scored.score[q];
          knownOut += scored.score[q] < scored.threshold ? 1 : 0;
        }
        int openOut = 0;
        for (int q = 0; q < open.length; q++) {
          openScores[q] = scored.score[known.length + q];
          openOut += openScores[q] < scored.threshold ? 1 : 0;
        }
        boolean thresholded = !Double.isNaN(scored.threshold);
        accuracy[k][e] = hits / (double) known.length;
        taskGap[k][e] = OpenSetMetrics.taskGap(confidence[k][e], correct[k][e]);
        auroc[k][e] = open.length == 0 ? Double.NaN : OpenSetMetrics.auroc(knownScores, openScores);
        knownRejected[k][e] = thresholded ? knownOut / (double) known.length : Double.NaN;
        unknownRejected[k][e] =
            thresholded && open.length > 0 ? openOut / (double) open.length : Double.NaN;
      }
      progress.update("episodes", e + 1, n);
    }
    List<PoolReport> out = new ArrayList<>(rows);
    for (int k = 0; k < rows; k++) {
      String name =
          k < methods.size() ? methods.get(k).name() : k == methods.size() ? MAX_COSINE : NEAREST_SUPPORT;
      double[] ece =
          OpenSetMetrics.pooledCalibrationError(confidence[k], correct[k], ECE_BINS, BOOTSTRAP, 7);
      boolean baseline = k >= methods.size();
      out.add(
          new PoolReport(
              name, n, Interval.of(accuracy[k]), Interval.of(auroc[k]),
              Interval.of(unknownRejected[k]), Interval.of(knownRejected[k]),
              baseline ? Double.NaN : ece[0], baseline ? Double.NaN : ece[1],
              baseline ? Double.NaN : ece[2], baseline ? Interval.NONE : Interval.of(taskGap[k]),
              Interval.of(millis[k]).mean(),
              Summary.median(millis[k]), accuracy[k],
              baseline
                  ? List.of()
                  : OpenSetMetrics.pooledReliability(confidence[k], correct[k], ECE_BINS),
              fits.get(k)));
    }
    return out;
  }

  /** Per pool image: predicted class and its probability, open-set score; and the threshold. */
  private record Scored(
      int[] predicted, double[] confidence, double[] score, double threshold, String fit) {
    Scored(int[] predicted, double[] confidence, double[] score, double threshold) {
      this(predicted, confidence, score, threshold, "");
    }
  }

  private Scored scoreMethod(
      FewShotMethod method, SupportSet support, float[][] pool, float[][] loo) {
    int size = pool.length;
    int[] predicted = new int[size];
    double[] confidence = new double[size];
    double[] score = new double[size];
    if (method instanceof OpenSetMethod openSet) {
      OpenSetClassifier fitted = openSet.fitOpenSet(support, pool);
      for (int q = 0; q < size; q++) {
        float[] p = fitted.classifier().probabilities(pool[q]);
        predicted[q] = argmax(p);
        confidence[q] = p[predicted[q]];
        score[q] = fitted.score(pool[q]);
      }
      return new Scored(predicted, confidence, score, fitted.threshold(), fitted.fit());
    }
    CosineClassifier classifier = method.fit(support, pool);
    for (int q = 0; q < size; q++) {
      float[] p = classifier.probabilities(pool[q]);
      predicted[q] = argmax(p);
      confidence[q] = p[predicted[q]];
      score[q] = confidence[q];
    }
    double threshold = Double.NaN;
    if (loo.length > 0) {
      float[] msp = new float[loo.length];
      int classes = support.numClasses();
      for (int r = 0; r < loo.length; r++) {
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) {
          max = Math.max(max, loo[r][c]);
        }
        double sum = 0;
        for (int c = 0; c < classes; c++) {
          sum += Math.exp(classifier.scale() * (loo[r][c] - max));
        }
        msp[r] = (float) (1 / sum);
      }
      threshold = SupportStatistics.quantileThreshold(msp, acceptShare);
    }
    return new Scored(predicted, confidence, score, threshold);
  }

  private Scored maxCosine(SupportSet support, float[][] pool, float[][] loo) {
    float[][] prototypes = support.prototypes();
    int size = pool.length;
    int[] predicted = new int[size];
    double[] score = new double[size];
    for (int q = 0; q < size; q++) {
      double best = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < prototypes.length; c++) {
        double cos = dot(prototypes[c], pool[q]);
        if (cos > best) {
          best = cos;
          predicted[q] = c;
        }
      }
      score[q] = best;
    }
    double threshold = Double.NaN;
    if (loo.length > 0) {
      float[] own = new float[loo.length];
      int classes = support.numClasses();
      for (int r = 0; r < loo.length; r++) {
        own[r] = loo[r][(int) loo[r][classes]];
      }
      threshold = SupportStatistics.quantileThreshold(own, acceptShare);
    }
    return new Scored(predicted, new double[size], score, threshold);
  }

  private Scored nearestSupport(SupportSet support, float[][] pool) {
    float[][] x = support.features();
    int[] y = support.classIndex();
    int[] counts = support.counts();
    int size = pool.length;
    int[] predicted = new int[size];
    double[] score = new double[size];
    for (int q = 0; q < size; q++) {
      double best = Double.NEGATIVE_INFINITY;
      for (int i = 0; i < x.length; i++) {
        double cos = dot(x[i], pool[q]);
        if (cos > best) {
          best = cos;
          predicted[q] = y[i];
        }
      }
      score[q] = best;
    }
    List<Float> leftOut = new ArrayList<>();
    for (int i = 0; i < x.length; i++) {
      if (counts[y[i]] < 2) {
        continue;
      }
      double best = Double.NEGATIVE_INFINITY;
      for (int j = 0; j < x.length; j++) {
        if (j != i) {
          best = Math.max(best, dot(x[i], x[j]));
        }
      }
      leftOut.add((float) best);
    }
    double threshold = Double.NaN;
    if (!leftOut.isEmpty()) {
      float[] scores = new float[leftOut.size()];
      for (int i = 0; i < scores.length; i++) {
        scores[i] = leftOut.get(i);
      }
      threshold = SupportStatistics.quantileThreshold(scores, acceptShare);
    }
    return new Scored(predicted, new double[size], score, threshold);
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int k = 0; k < a.length; k++) {
      s += a[k] * b[k];
    }
    return s;
  }

  private static int argmax(float[] p) {
    int best = 0;
    for (int c = 1; c < p.length; c++) {
      if (p[c] > p[best]) {
        best = c;
      }
    }
    return best;
  }

  private static int[] classIndices(List<Sample> samples, List<String> classes) {
    int[] out = new int[samples.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = classes.indexOf(samples.get(i).label());
    }
    return out;
  }
}
