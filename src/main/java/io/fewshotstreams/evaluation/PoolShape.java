package io.fewshotstreams.evaluation;

import java.util.List;

/**
 * The shape of the episodes to draw: N-way K-shot, a query pool of the support classes that is
 * balanced or Dirichlet-imbalanced, and optionally open classes that add queries to the pool.
 *
 * @param ways support classes per episode, >= 2
 * @param shots support examples per class, >= 1
 * @param queries query images per support class on average; the pool holds {@code ways x queries}
 *     known-class images
 * @param dirichletAlpha 0 for a balanced pool (exactly {@code queries} per class); otherwise the
 *     concentration of the Dirichlet the class proportions are drawn from, > 0
 * @param openWays classes absent from the support set whose images join the pool, >= 0
 * @param openQueries images of each open class, >= 0 (and >= 1 when {@code openWays > 0})
 * @param knownClasses classes the support classes are drawn from; empty for every class
 * @param openClasses classes the open classes are drawn from; empty for every class not in the
 *     episode's support
 */
public record PoolShape(
    int ways,
    int shots,
    int queries,
    double dirichletAlpha,
    int openWays,
    int openQueries,
    List<String> knownClasses,
    List<String> openClasses) {

  /** Checks the ranges; messages give the value found. */
  public PoolShape {
    if (ways < 2 || shots < 1 || queries < 1) {
      throw new IllegalArgumentException(
          "episode shape must have ways >= 2, shots >= 1, queries >= 1; found ways=" + ways
              + " shots=" + shots + " queries=" + queries);
    }
    if (!(dirichletAlpha >= 0) || Double.isInfinite(dirichletAlpha)) {
      throw new IllegalArgumentException(
          "expected a Dirichlet alpha > 0 (or 0 for a balanced pool), found " + dirichletAlpha);
    }
    if (openWays < 0 || openQueries < 0 || (openWays > 0 && openQueries < 1)) {
      throw new IllegalArgumentException(
          "expected open ways >= 0 and, with open ways, open queries >= 1; found open ways="
              + openWays + " open queries=" + openQueries);
    }
    knownClasses = knownClasses == null ? List.of() : List.copyOf(knownClasses);
    openClasses = openClasses == null ? List.of() : List.copyOf(openClasses);
  }

  /** A balanced closed-set pool: the classic N-way K-shot Q-query episode. */
  public static PoolShape balanced(int ways, int shots, int queries) {
    return new PoolShape(ways, shots, queries, 0, 0, 0, List.of(), List.of());
  }

  public PoolShape withShots(int newShots) {
    return new PoolShape(
        ways, newShots, queries, dirichletAlpha, openWays, openQueries, knownClasses, openClasses);
  }

  /** Whether the known-class counts are drawn from a Dirichlet. */
  public boolean imbalanced() {
    return dirichletAlpha > 0;
  }

  /** Short description for report headings, e.g. "Dirichlet(2.0) pool, 2 open classes x 15". */
  public String describe() {
    String pool = imbalanced() ? "Dirichlet(" + dirichletAlpha + ") pool" : "balanced pool";
    return openWays == 0 ? pool : pool + ", " + openWays + " open classes x " + openQueries;
  }
}
