package io.fewshotstreams.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.dataset.Dataset;
import io.fewshotstreams.dataset.DatasetException;
import io.fewshotstreams.dataset.Sample;
import io.fewshotstreams.embedding.Embedder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EpisodeSamplerTest {

  /** {@code classes} classes of {@code perClass} samples each. */
  static Dataset dataset(int classes, int perClass) {
    List<Sample> samples = new ArrayList<>();
    for (int c = 0; c < classes; c++) {
      for (int i = 0; i < perClass; i++) {
        samples.add(new Sample("c" + c + "/" + i, "c" + c));
      }
    }
    return new Dataset() {
      @Override
      public String description() {
        return "synthetic";
      }

      @Override
      public List<Sample> samples() {
        return samples;
      }

      @Override
      public float[][] features(Embedder embedder, List<Sample> wanted) {
        throw new UnsupportedOperationException();
      }
    };
  }

  @Test
  void shouldDrawEpisodesOfTheRequestedShapeWithDistinctSamples() {
    List<Episode> episodes = new EpisodeSampler(dataset(8, 30)).sample(5, 3, 4, 50, 7);

    assertThat(episodes).hasSize(50);
    for (Episode e : episodes) {
      assertThat(e.classes()).hasSize(5);
      assertThat(e.support()).hasSize(15);
      assertThat(e.query()).hasSize(20);
      Set<Sample> seen = new HashSet<>(e.support());
      seen.addAll(e.query());
      assertThat(seen).as("support and query never share or repeat a sample").hasSize(35);
      for (String c : e.classes()) {
        assertThat(e.support().stream().filter(s -> s.label().equals(c))).hasSize(3);
        assertThat(e.query().stream().filter(s -> s.label().equals(c))).hasSize(4);
      }
    }
  }

  @Test
  void shouldDrawTheSameEpisodesForTheSameSeedAndDifferentOnesOtherwise() {
    EpisodeSampler sampler = new EpisodeSampler(dataset(8, 30));

    assertThat(sampler.sample(5, 1, 15, 20, 42)).isEqualTo(sampler.sample(5, 1, 15, 20, 42));
    assertThat(sampler.sample(5, 1, 15, 20, 42)).isNotEqualTo(sampler.sample(5, 1, 15, 20, 43));
  }

  @Test
  void shouldSayWhyAnEpisodeShapeCannotBeDrawn() {
    assertThatThrownBy(() -> new EpisodeSampler(dataset(4, 30)).sample(5, 1, 15, 1, 1))
        .isInstanceOf(DatasetException.class)
        .hasMessageContaining("has 4 such classes");
    assertThatThrownBy(() -> new EpisodeSampler(dataset(8, 10)).sample(5, 5, 15, 1, 1))
        .isInstanceOf(DatasetException.class)
        .hasMessageContaining("at least 20 samples");
  }

  @Test
  void shouldDrawDirichletPoolsWithEveryClassPresentAndTheTotalKept() {
    PoolShape shape = new PoolShape(5, 2, 6, 2.0, 0, 0, List.of(), List.of());
    List<Episode> episodes = new EpisodeSampler(dataset(8, 40)).sample(shape, 50, 11);

    boolean someUnequal = false;
    for (Episode e : episodes) {
      assertThat(e.query()).as("ways x queries in all").hasSize(30);
      for (String c : e.classes()) {
        long n = e.query().stream().filter(s -> s.label().equals(c)).count();
        assertThat(n).as("at least one query of %s", c).isGreaterThanOrEqualTo(1);
        someUnequal |= n != 6;
      }
      Set<Sample> seen = new HashSet<>(e.support());
      seen.addAll(e.query());
      assertThat(seen).hasSize(40);
    }
    assertThat(someUnequal).as("Dirichlet(2) pools are not all balanced").isTrue();
  }

  @Test
  void shouldAddOpenClassImagesFromTheNamedClassesOnly() {
    PoolShape shape =
        new PoolShape(3, 1, 4, 0, 2, 5, List.of("c0", "c1", "c2", "c3"), List.of("c5", "c6", "c7"));
    List<Episode> episodes = new EpisodeSampler(dataset(8, 30)).sample(shape, 30, 5);

    for (Episode e : episodes) {
      assertThat(e.classes()).isSubsetOf("c0", "c1", "c2", "c3");
      assertThat(e.open()).hasSize(10);
      Set<String> openLabels = new HashSet<>();
      e.open().forEach(s -> openLabels.add(s.label()));
      assertThat(openLabels).hasSize(2).isSubsetOf("c5", "c6", "c7");
    }
  }
}
