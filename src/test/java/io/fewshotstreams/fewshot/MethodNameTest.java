package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MethodNameTest {

  /** Every name reads back as its method, and byName builds the method of that name. */
  @Test
  void shouldRoundTripEveryName() {
    for (MethodName m : MethodName.values()) {
      assertThat(MethodName.of(m.id())).isEqualTo(m);
      assertThat(Methods.byName(m.id()).name()).isEqualTo(m.id());
    }
    assertThat(Methods.names()).containsExactly(
        "prototypes", "inductive", "transductive", "auto", "robust");
  }

  /** Catches a misspelt setting slipping through as some default. */
  @Test
  void shouldRefuseAnUnknownNameNamingTheValidOnes() {
    assertThatThrownBy(() -> MethodName.of("Robust"))
        .isInstanceOf(InvalidInputException.class)
        .hasMessage(
            "expected a few-shot method among [prototypes, inductive, transductive, auto, robust],"
                + " found 'Robust'");
  }

  /** Only inductive fine-tuning and the prototypes ignore the pool, so pool growth retunes the rest. */
  @Test
  void shouldSayWhichMethodsLearnFromThePool() {
    assertThat(MethodName.ROBUST.usesPool()).isTrue();
    assertThat(MethodName.TRANSDUCTIVE.usesPool()).isTrue();
    assertThat(MethodName.INDUCTIVE.usesPool()).isFalse();
    assertThat(MethodName.PROTOTYPES.usesPool()).isFalse();
  }
}
