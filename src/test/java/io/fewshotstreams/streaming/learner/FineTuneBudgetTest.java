package io.fewshotstreams.streaming.learner;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class FineTuneBudgetTest {
  private static final int FEATURES = 256; // the bundled backbone

  // Bug: at the default limits (1,000 classes of 500 examples) fine-tuning allocated for every
  // example: about 11 GB, an OutOfMemoryError on any sane heap.
  @Test
  void shouldTakeFewerExamplesPerClassSoThatTheLargestDefaultTaskFits() {
    int[] counts = new int[1000];
    Arrays.fill(counts, 500);
    assertThat(FineTuneBudget.estimateBytes(1000, 500_000 + 100, FEATURES))
        .as("everything")
        .isGreaterThan(10_000_000_000L);

    FineTuneBudget.Sample sample = FineTuneBudget.DEFAULT.sample(counts, 100, FEATURES);

    assertThat(sample.perClass()).isEqualTo(11); // the largest that keeps within 256 MiB
    assertThat(sample.poolQueries()).isEqualTo(100);
    assertThat(sample.bytes()).isLessThanOrEqualTo(FineTuneBudget.DEFAULT.maxBytes());
    assertThat(FineTuneBudget.estimateBytes(1000, 12 * 1000 + 100, FEATURES))
        .as("one more per class would not fit")
        .isGreaterThan(FineTuneBudget.DEFAULT.maxBytes());
  }

  @Test
  void shouldTakeEverythingOfASmallTask() {
    FineTuneBudget.Sample sample = FineTuneBudget.DEFAULT.sample(new int[] {5, 3, 7}, 40, FEATURES);
    assertThat(sample.perClass()).as("the setting; every class is smaller").isEqualTo(100);
    assertThat(sample.poolQueries()).isEqualTo(40);
  }

  @Test
  void shouldCapExamplesPerClassAndThePoolAtTheSetting() {
    FineTuneBudget budget = new FineTuneBudget(4, FineTuneBudget.DEFAULT.maxBytes());
    FineTuneBudget.Sample sample = budget.sample(new int[] {50, 2}, 100, FEATURES);
    assertThat(sample.perClass()).isEqualTo(4);
    assertThat(sample.poolQueries()).as("4 per class of 2 classes").isEqualTo(8);
  }

  @Test
  void shouldRefuseATaskTooBigAtOneExamplePerClass() {
    int[] counts = new int[1000];
    Arrays.fill(counts, 1);
    // One example of each of 1,000 classes: 1,000 rows of 20,000+ bytes, about 27 MB.
    FineTuneBudget budget = new FineTuneBudget(100, 16L * 1024 * 1024);
    assertThat(budget.sample(counts, 0, FEATURES)).isNull();
  }
}
