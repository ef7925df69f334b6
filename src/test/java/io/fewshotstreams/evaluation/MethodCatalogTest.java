package io.fewshotstreams.evaluation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.fewshot.OpenSetMethod;
import io.fewshotstreams.fewshot.SupportSet;
import java.util.List;
import org.junit.jupiter.api.Test;

class MethodCatalogTest {
  private static final SupportSet ONE_SHOT =
      new SupportSet(List.of("a", "b"), new float[][] {{1, 0}, {0, 1}}, new int[] {0, 1});

  /**
   * The prototype snapshot's settings can be tried offline, as robust's can: docs/backbones.md
   * tells users to measure them for their own backbone this way. Catches the overrides ignored
   * (the default one-shot temperature, 4) or the spec refused.
   */
  @Test
  void shouldApplyOverridesToTheCalibratedPrototypes() {
    OpenSetMethod tuned =
        (OpenSetMethod) MethodCatalog.byName("prototypes:calibrated:oneShotPrototypeScale=9");
    OpenSetMethod plain = (OpenSetMethod) MethodCatalog.byName("prototypes:calibrated");

    assertThat(tuned.name()).isEqualTo("prototypes:calibrated:oneShotPrototypeScale=9");
    assertThat(tuned.fitOpenSet(ONE_SHOT, new float[0][]).classifier().scale()).isEqualTo(9f);
    assertThat(plain.fitOpenSet(ONE_SHOT, new float[0][]).classifier().scale()).isEqualTo(4f);
    assertThat(MethodCatalog.byName("prototypes").name()).isEqualTo("prototypes");
    assertThatThrownBy(() -> MethodCatalog.byName("prototypes:calibrated:nope=1"))
        .hasMessageContaining("found 'nope'");
    assertThatThrownBy(() -> MethodCatalog.byName("robustly"))
        .hasMessageContaining("found 'robustly'");
  }

  /**
   * A spec's settings are checked together, so two that bound each other can be raised in
   * either order: one at a time, {@code jointZ=4} would be refused against the default
   * {@code inductiveZ} of 3 before {@code inductiveZ=5} is read. Catches settings applied one by
   * one; a pair out of order together is still refused. (That the values reach the method is
   * {@link #shouldApplyOverridesToTheCalibratedPrototypes}'s subject: both methods read their
   * settings through the same parser.)
   */
  @Test
  void shouldCheckASpecsSettingsTogether() {
    assertThat(MethodCatalog.byName("robust:jointZ=4;inductiveZ=5").name())
        .isEqualTo("robust:jointZ=4;inductiveZ=5");
    assertThatThrownBy(() -> MethodCatalog.byName("robust:jointZ=5;inductiveZ=4"))
        .hasMessageContaining("jointZ <= inductiveZ");
  }
}
