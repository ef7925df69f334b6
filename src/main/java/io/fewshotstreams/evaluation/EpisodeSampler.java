package io.fewshotstreams.evaluation;

import io.fewshotstreams.dataset.Dataset;
import io.fewshotstreams.dataset.DatasetException;
import io.fewshotstreams.dataset.Sample;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Draws episodes of a {@link PoolShape}: N distinct support classes, K support samples of each,
 * a balanced or Dirichlet-imbalanced pool of query samples of those classes, and optionally the
 * images of open classes absent from the support. No sample appears twice in an episode. The same
 * dataset, shape and seed always give the same episodes, and balanced closed-set shapes give the
 * episodes earlier versions drew.
 */
public final class EpisodeSampler {
  private final Dataset dataset;
  private final Map<String, List<Integer>> byClass;

  public EpisodeSampler(Dataset dataset) {
    this.dataset = dataset;
    this.byClass = dataset.byClass();
  }

  /** Draws {@code count} balanced closed-set N-way K-shot Q-query episodes. */
  public List<Episode> sample(int ways, int shots, int queries, int count, long seed) {
    return sample(PoolShape.balanced(ways, shots, queries), count, seed);
  }

  /** Draws {@code count} episodes of the given shape. */
  public List<Episode> sample(PoolShape shape, int count, long seed) {
    if (count < 1) {
      throw new IllegalArgumentException("expected episodes >= 1, found " + count);
    }
    int ways = shape.ways();
    int shots = shape.shots();
    int total = ways * shape.queries();
    // The most queries one class can get: all but one per other class.
    int mostQueries = shape.imbalanced() ? total - ways + 1 : shape.queries();
    List<String> eligible = eligible(shape.knownClasses(), shots + mostQueries, "--known-classes");
    if (eligible.size() < ways) {
      throw new DatasetException(
          ways + "-way episodes with " + shots + " shots and up to " + mostQueries
              + " queries per class need " + ways + " classes with at least "
              + (shots + mostQueries) + " samples each; " + dataset.description() + " has "
              + eligible.size() + " such classes");
    }
    List<String> openEligible =
        shape.openWays() == 0
            ? List.of()
            : eligible(shape.openClasses(), shape.openQueries(), "--open-classes");
    Random random = new Random(seed);
    List<Sample> all = dataset.samples();
    List<Episode> episodes = new ArrayList<>(count);
    for (int e = 0; e < count; e++) {
      List<String> classes = new ArrayList<>(eligible);
      Collections.shuffle(classes, random);
      List<String> known = classes.subList(0, ways);
      int[] counts = new int[ways];
      if (shape.imbalanced()) {
        counts = Dirichlet.counts(Dirichlet.proportions(ways, shape.dirichletAlpha(), random), total);
      } else {
        Arrays.fill(counts, shape.queries());
      }
      List<Sample> support = new ArrayList<>(ways * shots);
      List<Sample> query = new ArrayList<>(total);
      for (int c = 0; c < ways; c++) {
        List<Integer> members = new ArrayList<>(byClass.get(known.get(c)));
        Collections.shuffle(members, random);
        for (int i = 0; i < shots; i++) {
          support.add(all.get(members.get(i)));
        }
        for (int i = shots; i < shots + counts[c]; i++) {
          query.add(all.get(members.get(i)));
        }
      }
      List<Sample> open = new ArrayList<>();
      if (shape.openWays() > 0) {
        List<String> candidates = new ArrayList<>(openEligible);
        candidates.removeAll(known);
        if (candidates.size() < shape.openWays()) {
          throw new DatasetException(
              shape.openWays() + " open classes with " + shape.openQueries()
                  + " images each, apart from the " + ways + " support classes, need "
                  + shape.openWays() + " more classes; " + dataset.description() + " has "
                  + candidates.size() + " (support classes " + known + ")");
        }
        Collections.shuffle(candidates, random);
        for (String label : candidates.subList(0, shape.openWays())) {
          List<Integer> members = new ArrayList<>(byClass.get(label));
          Collections.shuffle(members, random);
          for (int i = 0; i < shape.openQueries(); i++) {
            open.add(all.get(members.get(i)));
          }
        }
      }
      episodes.add(new Episode(support, query, open));
    }
    return episodes;
  }

  /** Classes of {@code wanted} (every class when empty) with at least {@code size} samples. */
  private List<String> eligible(List<String> wanted, int size, String option) {
    for (String label : wanted) {
      if (!byClass.containsKey(label)) {
        throw new DatasetException(
            option + " names class '" + label + "', which " + dataset.description()
                + " does not have; it has " + byClass.keySet());
      }
    }
    List<String> out = new ArrayList<>();
    byClass.forEach(
        (label, members) -> {
          if ((wanted.isEmpty() || wanted.contains(label)) && members.size() >= size) {
            out.add(label);
          }
        });
    return out;
  }
}
