package io.fewshotstreams.evaluation;

import io.fewshotstreams.dataset.Sample;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One few-shot episode: labelled support samples and query samples whose labels are hidden from
 * the method and used only for scoring. Classes are ordered by first appearance in the support set.
 */
public record Episode(List<Sample> support, List<Sample> query) {
  public Episode {
    support = List.copyOf(support);
    query = List.copyOf(query);
    if (support.isEmpty()) {
      throw new IllegalArgumentException("an episode needs at least one support sample");
    }
    if (query.isEmpty()) {
      throw new IllegalArgumentException("an episode needs at least one query sample");
    }
    Set<String> classes = new HashSet<>();
    support.forEach(s -> classes.add(s.label()));
    for (Sample q : query) {
      if (!classes.contains(q.label())) {
        throw new IllegalArgumentException(
            "query " + q.path() + " has label '" + q.label() + "' that no support sample has; "
                + "support classes are " + classes);
      }
    }
  }

  /** Class names in order of first appearance in the support set. */
  public List<String> classes() {
    List<String> out = new ArrayList<>();
    for (Sample s : support) {
      if (!out.contains(s.label())) {
        out.add(s.label());
      }
    }
    return out;
  }
}
