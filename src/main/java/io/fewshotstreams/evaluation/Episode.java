package io.fewshotstreams.evaluation;

import io.fewshotstreams.dataset.Sample;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One few-shot episode: labelled support samples, query samples of the support classes, and
 * optionally open samples of classes the support does not have. The labels of query and open
 * samples are hidden from the method and used only for scoring; the method sees query and open
 * samples together as one unlabelled pool. Classes are ordered by first appearance in the support
 * set.
 */
public record Episode(List<Sample> support, List<Sample> query, List<Sample> open) {
  public Episode {
    support = List.copyOf(support);
    query = List.copyOf(query);
    open = open == null ? List.of() : List.copyOf(open);
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
    for (Sample o : open) {
      if (classes.contains(o.label())) {
        throw new IllegalArgumentException(
            "open sample " + o.path() + " has label '" + o.label() + "' of a support class; "
                + "open samples must belong to none of " + classes);
      }
    }
  }

  /** A closed-set episode: no open samples. */
  public Episode(List<Sample> support, List<Sample> query) {
    this(support, query, List.of());
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
