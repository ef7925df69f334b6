package io.fewshotstreams.evaluation;

import io.fewshotstreams.dataset.Sample;
import io.fewshotstreams.fewshot.CosineClassifier;
import io.fewshotstreams.fewshot.FeatureTransform;
import io.fewshotstreams.fewshot.FewShotMethod;
import io.fewshotstreams.fewshot.SupportSet;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs few-shot methods on the same episodes and scores them. Plain Java: the features are
 * computed beforehand, so this needs neither a backbone nor native code.
 */
public final class Evaluator {
  private final FeatureTransform transform;

  public Evaluator(FeatureTransform transform) {
    this.transform = transform;
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

  private static int[] classIndices(List<Sample> samples, List<String> classes) {
    int[] out = new int[samples.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = classes.indexOf(samples.get(i).label());
    }
    return out;
  }
}
