package io.fewshotstreams.evaluation;

import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.fewshotstreams.dataset.FashionMnist;
import io.fewshotstreams.dataset.IdxDataset;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Device;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.fewshot.FeatureTransform;
import io.fewshotstreams.fewshot.Methods;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bundled backbone and the engine together on real images of classes the backbone never saw:
 * the Fashion-MNIST novel classes, test split. Fewer episodes than BENCHMARKS.md, seeded, so the
 * accuracy of the prototypes is a fixed number this test pins.
 */
class BundledBackboneFewShotTest {
  private static IdxDataset novelTest;
  private static Embedder embedder;

  @BeforeAll
  static void open() {
    assumeTrue(
        Files.isDirectory(FashionMnist.DEFAULT_DIR),
        "Fashion-MNIST (Debian package dataset-fashion-mnist) not installed at "
            + FashionMnist.DEFAULT_DIR);
    novelTest =
        FashionMnist.open(FashionMnist.DEFAULT_DIR, "test", FashionMnist.parseClasses("novel"));
    Backbone backbone = Backbone.bundled();
    embedder = OnnxEmbedder.open(backbone, EmbedderOptions.DEFAULT.withDevice(Device.CPU));
  }

  @AfterAll
  static void close() {
    if (embedder != null) {
      embedder.close();
    }
  }

  private List<Summary> evaluate(int shots) {
    List<Episode> episodes = new EpisodeSampler(novelTest).sample(5, shots, 15, 150, 7);
    FeatureTable features = FeatureTable.forEpisodes(novelTest, embedder, episodes, Progress.NONE);
    return new Evaluator(FeatureTransform.none())
        .evaluate(
            episodes,
            features,
            List.of(Methods.prototypes(), Methods.transductive(), Methods.auto()),
            Progress.NONE);
  }

  @Test
  void shouldClassifyNovelClassesWellAboveChanceAndGainFromFineTuningAtFiveShots() {
    List<Summary> results = evaluate(5);
    Summary prototypes = results.get(0);
    Summary auto = results.get(2);

    // Chance is 20%. These 150 episodes are seeded (7) and the CPU backbone and the prototypes are
    // deterministic: they measure 68.59% (BENCHMARKS.md: 68.93% +- 0.45 over 600 episodes). One
    // prediction is 0.009 points, so +-1 point allows another CPU's float rounding and fails any
    // regression of more than a point.
    assertThat(prototypes.meanAccuracy()).isCloseTo(0.6859, within(0.01));
    // the same episodes for both, so the paired gain of several points is far above noise
    assertThat(auto.meanAccuracy()).isGreaterThan(prototypes.meanAccuracy() + 0.01);
  }

  @Test
  void shouldNotCollapseTransductivePredictionsAtOneShot() {
    List<Summary> results = evaluate(1);
    Summary prototypes = results.get(0);
    Summary transductive = results.get(1);

    // a collapse onto one class would score about 20%; it must not fall below the prototypes
    assertThat(transductive.meanAccuracy()).isGreaterThanOrEqualTo(prototypes.meanAccuracy());
  }

  /**
   * The default on the pools a stream sends, not only balanced ones: the same seeded episodes'
   * novel classes at 5 shots, balanced, Dirichlet(2)-skewed and with 2 unregistered classes in a
   * 3-way pool (BENCHMARKS.md, "Realistic pools", has 600 episodes of each). Its accuracy is
   * pinned per pool to within a point, so a regression of the gate, its three fits or the open-set
   * test of more than a point fails here; and on the skewed pools it must stay above the
   * prototypes, which TIM's fit (auto) falls far below.
   */
  @Test
  void shouldPinTheDefaultsAccuracyOnBalancedSkewedAndOpenPools() {
    PoolShape[] shapes = {
      PoolShape.balanced(5, 5, 15),
      new PoolShape(5, 5, 15, 2.0, 0, 0, List.of(), List.of()),
      new PoolShape(3, 5, 15, 0, 2, 15, List.of(), List.of())
    };
    // Measured on these seeded episodes (CPU backbone, deterministic); BENCHMARKS.md's 600 test
    // episodes give 71.28%, 69.15% and 81.81%. One prediction is under 0.01 points here.
    double[] measured = {0.7096, 0.6908, 0.8333};
    for (int i = 0; i < shapes.length; i++) {
      List<Episode> episodes = new EpisodeSampler(novelTest).sample(shapes[i], 150, 7);
      FeatureTable features =
          FeatureTable.forEpisodes(novelTest, embedder, episodes, Progress.NONE);
      List<PoolReport> reports =
          new Evaluator(FeatureTransform.none())
              .evaluatePools(
                  episodes,
                  features,
                  List.of(Methods.prototypes(), Methods.auto(), MethodCatalog.byName("robust")),
                  Progress.NONE);
      double prototypes = reports.get(0).accuracy().mean();
      double auto = reports.get(1).accuracy().mean();
      double robust = reports.get(2).accuracy().mean();
      assertThat(robust).as("robust on a %s", shapes[i].describe())
          .isCloseTo(measured[i], within(0.01));
      if (shapes[i].imbalanced()) {
        // 69.08% against the prototypes' 68.63% and auto's 65.17% on these episodes.
        assertThat(robust).as("robust against the prototypes on skewed pools")
            .isGreaterThan(prototypes);
        assertThat(auto).as("auto on skewed pools, which robust is built to avoid")
            .isLessThan(prototypes - 0.02);
      }
    }
  }
}
