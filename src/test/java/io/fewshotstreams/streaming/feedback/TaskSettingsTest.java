package io.fewshotstreams.streaming.feedback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.streaming.FewShotConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TaskSettingsTest {

  @Test
  void shouldGiveANamedTaskItsOwnValueAndEveryOtherTheFallback() {
    TaskSettings.PerTask<Double> t =
        TaskSettings.perTask(List.of("*=0.5", "shop=0.8"), TaskSettings::probability);

    assertThat(t.of("shop")).isEqualTo(0.8);
    assertThat(t.of("other")).isEqualTo(0.5);
  }

  @Test
  void shouldRefuseEntriesWithoutAFallbackOrOutOfRange() {
    assertThatThrownBy(() -> TaskSettings.perTask(List.of("shop=0.8"), TaskSettings::probability))
        .hasMessageContaining("*=value");
    assertThatThrownBy(() -> TaskSettings.perTask(List.of("*=1.5"), TaskSettings::probability))
        .hasMessageContaining("[0, 1]");
    assertThatThrownBy(() -> TaskSettings.perTask(List.of("*=always"), TaskSettings::promotePolicy))
        .hasMessageContaining("flagged or wrong");
  }

  @Test
  void shouldFailAtStartUpOnABadPolicySetting() {
    assertThatThrownBy(
            () ->
                new FewShotConfig(
                    Map.of(FewShotConfig.FEEDBACK_PROMOTE_POLICY_CONFIG, "shop=wrong")))
        .isInstanceOf(FewShotException.class)
        .hasMessageContaining(FewShotConfig.FEEDBACK_PROMOTE_POLICY_CONFIG);
  }

  @Test
  void shouldDefaultToPromotingOnlyFlaggedFeedbackAndReviewingBelowHalf() {
    TaskSettings s = new FewShotConfig(Map.of()).feedbackSettings();

    assertThat(s.promotePolicy().of("any")).isEqualTo(TaskSettings.PromotePolicy.FLAGGED);
    assertThat(s.reviewThreshold().of("any")).isEqualTo(0.5);
    assertThat(s.retentionMs()).isEqualTo(86_400_000L);
  }
}
