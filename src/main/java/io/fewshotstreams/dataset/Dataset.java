package io.fewshotstreams.dataset;

import io.fewshotstreams.embedding.Embedder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A labelled set of images (or of precomputed embeddings) for offline work: {@code embed} and
 * {@code evaluate}. Implementations are immutable.
 */
public interface Dataset {

  /** Human-readable origin, e.g. the folder or files it was read from. */
  String description();

  /** All samples, in a stable order. */
  List<Sample> samples();

  /**
   * Raw (untransformed) feature vectors of the given samples, in order.
   *
   * @param embedder the backbone; ignored by datasets that already hold embeddings
   */
  float[][] features(Embedder embedder, List<Sample> samples);

  /** Whether {@link #features} needs an embedder. */
  default boolean needsEmbedder() {
    return true;
  }

  /** Class names in order of first appearance. */
  default List<String> classes() {
    return List.copyOf(byClass().keySet());
  }

  /** Indices into {@link #samples()} grouped by class, classes in order of first appearance. */
  default Map<String, List<Integer>> byClass() {
    Map<String, List<Integer>> groups = new LinkedHashMap<>();
    List<Sample> all = samples();
    for (int i = 0; i < all.size(); i++) {
      groups.computeIfAbsent(all.get(i).label(), k -> new ArrayList<>()).add(i);
    }
    return groups;
  }
}
