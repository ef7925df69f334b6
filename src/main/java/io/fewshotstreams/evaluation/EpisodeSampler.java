package io.fewshotstreams.evaluation;

import io.fewshotstreams.dataset.Dataset;
import io.fewshotstreams.dataset.DatasetException;
import io.fewshotstreams.dataset.Sample;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Draws N-way K-shot Q-query episodes: N distinct classes, then K + Q distinct samples of each.
 * The same dataset, shape and seed always give the same episodes.
 */
public final class EpisodeSampler {
  private final Dataset dataset;
  private final Map<String, List<Integer>> byClass;

  public EpisodeSampler(Dataset dataset) {
    this.dataset = dataset;
    this.byClass = dataset.byClass();
  }

  /** Draws {@code count} episodes of the given shape. */
  public List<Episode> sample(int ways, int shots, int queries, int count, long seed) {
    if (ways < 2 || shots < 1 || queries < 1 || count < 1) {
      throw new IllegalArgumentException(
          "episode shape must have ways >= 2, shots >= 1, queries >= 1, episodes >= 1; found ways="
              + ways + " shots=" + shots + " queries=" + queries + " episodes=" + count);
    }
    List<String> eligible = new ArrayList<>();
    byClass.forEach(
        (label, members) -> {
          if (members.size() >= shots + queries) {
            eligible.add(label);
          }
        });
    if (eligible.size() < ways) {
      throw new DatasetException(
          ways + "-way episodes with " + shots + " shots and " + queries + " queries need "
              + ways + " classes with at least " + (shots + queries) + " samples each; "
              + dataset.description() + " has " + eligible.size() + " such classes");
    }
    Random random = new Random(seed);
    List<Sample> all = dataset.samples();
    List<Episode> episodes = new ArrayList<>(count);
    for (int e = 0; e < count; e++) {
      List<String> classes = new ArrayList<>(eligible);
      Collections.shuffle(classes, random);
      List<Sample> support = new ArrayList<>(ways * shots);
      List<Sample> query = new ArrayList<>(ways * queries);
      for (String label : classes.subList(0, ways)) {
        List<Integer> members = new ArrayList<>(byClass.get(label));
        Collections.shuffle(members, random);
        for (int i = 0; i < shots; i++) {
          support.add(all.get(members.get(i)));
        }
        for (int i = shots; i < shots + queries; i++) {
          query.add(all.get(members.get(i)));
        }
      }
      episodes.add(new Episode(support, query));
    }
    return episodes;
  }
}
