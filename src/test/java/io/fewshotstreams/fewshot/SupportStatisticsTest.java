package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SupportStatisticsTest {

  @Test
  void shouldScoreEachExampleAgainstItsOwnClassBuiltWithoutIt() {
    // Class a: (1,0) and (0,1); class b: (-1,0) alone. Leaving (1,0) out, a's prototype is (0,1):
    // cosine 0; b's prototype (-1,0): cosine -1. Class b has one example and gives no row.
    SupportSet support =
        new SupportSet(
            List.of("a", "b"),
            new float[][] {{1, 0}, {0, 1}, {-1, 0}},
            new int[] {0, 0, 1});

    float[][] rows = SupportStatistics.leaveOneOutCosines(support);

    assertThat(rows).hasNumberOfRows(2);
    assertThat(rows[0]).containsExactly(0f, -1f, 0f);
    assertThat(rows[1]).containsExactly(0f, 0f, 0f);
  }

  @Test
  void shouldHaveNoRowsForAOneShotSupportSet() {
    SupportSet support =
        new SupportSet(List.of("a", "b"), new float[][] {{1, 0}, {0, 1}}, new int[] {0, 1});

    assertThat(SupportStatistics.leaveOneOutCosines(support)).isEmpty();
  }

  @Test
  void shouldPutTheThresholdAtTheQuantileThatAcceptsTheShare() {
    float[] scores = {1.0f, 0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f, 0.3f, 0.2f, 0.1f};

    // Share 0.9: position 0.1 x 9 = 0.9 between the lowest two, 0.1 + 0.9 x 0.1 = 0.19.
    assertThat(SupportStatistics.quantileThreshold(scores, 0.9f)).isCloseTo(0.19f, within(1e-6f));
    // Share 1: the lowest score, so every support score is accepted.
    assertThat(SupportStatistics.quantileThreshold(scores, 1f)).isEqualTo(0.1f);
  }

  @Test
  void shouldFitASharperTemperatureWhenLeaveOneOutPredictionsAreRight() {
    // Every row puts its own class 0.2 above the other: the likelihood grows with the
    // temperature, so the search ends at its upper end.
    float[][] right = {{0.6f, 0.4f, 0f}, {0.4f, 0.6f, 1f}};
    // Half the rows are wrong by the same margin: the best temperature is 0 (uniform), so the
    // search ends at its lower end.
    float[][] mixed = {{0.6f, 0.4f, 0f}, {0.6f, 0.4f, 1f}};

    assertThat(SupportStatistics.fitTemperature(right, 2f, 60f)).isCloseTo(60f, within(0.5f));
    assertThat(SupportStatistics.fitTemperature(mixed, 2f, 60f)).isCloseTo(2f, within(0.05f));
  }

  @Test
  void shouldGiveTheOwnClassColumnAloneExactlyAsTheFullTable() {
    // the learner's threshold uses the one-pass column; it must be the same numbers, bit for bit
    TestData.Episode episode = TestData.clustered(11, 6, 4, 1, 32, 0.6, 0.5);
    float[][] table = SupportStatistics.leaveOneOutCosines(episode.support());
    float[] own = SupportStatistics.ownClassCosines(episode.support());
    assertThat(own).hasSize(table.length).hasSize(24);
    for (int r = 0; r < table.length; r++) {
      int c = (int) table[r][table[r].length - 1];
      assertThat(own[r]).isEqualTo(table[r][c]);
    }
  }

  @Test
  void shouldSpreadAtMostTheAskedRowsEvenlyOverTheEligibleExamples() {
    Random random = new Random(3);
    int perClass = 6;
    float[][] x = new float[3 * perClass + 1][];
    int[] y = new int[x.length];
    for (int i = 0; i < x.length; i++) {
      x[i] = Vectors.normalize(new float[] {random.nextFloat(), random.nextFloat(), 1});
      // The last example is class c's only one: it gives no row.
      y[i] = i == x.length - 1 ? 3 : i / perClass;
    }
    SupportSet support = new SupportSet(List.of("a", "b", "c", "d"), x, y);
    float[][] all = SupportStatistics.leaveOneOutCosines(support);
    assertThat(all).hasNumberOfRows(18);

    float[][] six = SupportStatistics.leaveOneOutCosines(support, 6);

    // Every third eligible example, each row exactly as in the full computation: 2 per class.
    assertThat(six).hasNumberOfRows(6);
    for (int r = 0; r < 6; r++) {
      assertThat(six[r]).containsExactly(all[3 * r]);
    }
    assertThat(SupportStatistics.leaveOneOutCosines(support, 100)).isDeepEqualTo(all);
    assertThatThrownBy(() -> SupportStatistics.leaveOneOutCosines(support, 0))
        .hasMessageContaining("maxRows >= 1, found 0");
  }

  /**
   * A class whose examples cancel out has no prototype to score against: its column is 0, as its
   * own rows are, instead of an exception. The prototype snapshot measures on at most 32 examples
   * of a class, which can cancel where the class's whole sum does not.
   */
  @Test
  void shouldScoreAgainstAClassWhoseExamplesCancelOutAsOrthogonal() {
    SupportSet support =
        new SupportSet(
            List.of("a", "b"),
            new float[][] {{1, 0}, {-1, 0}, {0.6f, 0.8f}, {0.8f, 0.6f}},
            new int[] {0, 0, 1, 1});

    float[][] rows = SupportStatistics.leaveOneOutCosines(support);

    assertThat(rows).hasNumberOfRows(4);
    // b's rows: cosine 0 to a (no direction), and to b without themselves.
    assertThat(rows[2][0]).isEqualTo(0f);
    assertThat(rows[2][1]).isCloseTo(0.96f, within(1e-6f));
    assertThat(new CalibratedPrototypes().temperature(support)).isPositive();
  }
}
