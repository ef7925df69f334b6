package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.FewShotException;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FewShotConfigTest {

  @Test
  void shouldPassTheCalibrationSettingsToRobust() {
    FewShotConfig config =
        new FewShotConfig(
            Map.of(
                FewShotConfig.ONE_SHOT_TEMPERATURE_CONFIG, "6",
                FewShotConfig.ONE_SHOT_JOINT_TEMPERATURE_CONFIG, "5",
                FewShotConfig.TEMPERATURE_PRIOR_CONFIG, "9"));
    io.fewshotstreams.fewshot.RobustConfig robust = config.robustConfig();
    assertThat(robust.oneShotScale()).isEqualTo(6f);
    assertThat(robust.oneShotPrototypeScale()).isEqualTo(6f);
    assertThat(robust.oneShotJointScale()).isEqualTo(5f);
    assertThat(robust.temperaturePrior()).isEqualTo(9f);
    assertThat(new FewShotConfig(Map.of()).robustConfig().oneShotJointScale())
        .isEqualTo(io.fewshotstreams.fewshot.RobustConfig.defaults().oneShotJointScale());
  }

  @Test
  void shouldRefuseAnUnknownServiceKeyNamingIt() {
    assertThatThrownBy(() -> new FewShotConfig(Map.of("fewshot.finetune.intervall.ms", "5")))
        .isInstanceOf(FewShotException.class)
        .hasMessageContaining("fewshot.finetune.intervall.ms")
        .hasMessageContaining("fewshot.finetune.interval.ms");
  }

  @Test
  void shouldRefuseAnInvalidValueNamingTheKey() {
    assertThatThrownBy(() -> new FewShotConfig(Map.of(FewShotConfig.FINETUNE_METHOD_CONFIG, "magic")))
        .isInstanceOf(FewShotException.class)
        .hasMessageContaining(FewShotConfig.FINETUNE_METHOD_CONFIG)
        .hasMessageContaining("magic");
    assertThatThrownBy(
            () -> new FewShotConfig(Map.of(FewShotConfig.QUERY_POOL_SAMPLE_RATE_CONFIG, "1.5")))
        .isInstanceOf(FewShotException.class)
        .hasMessageContaining(FewShotConfig.QUERY_POOL_SAMPLE_RATE_CONFIG);
  }

  @Test
  void shouldPassEveryOtherKeyToKafkaStreamsWithADefaultApplicationId() {
    FewShotConfig config =
        new FewShotConfig(
            Map.of(
                "bootstrap.servers", "kafka:9092",
                "security.protocol", "SASL_SSL",
                FewShotConfig.SUPPORT_TOPIC_CONFIG, "labels"));
    assertThat(config.streamsProperties())
        .containsEntry("bootstrap.servers", "kafka:9092")
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("application.id", FewShotConfig.DEFAULT_APPLICATION_ID)
        .doesNotContainKey(FewShotConfig.SUPPORT_TOPIC_CONFIG);
    assertThat(config.supportTopic()).isEqualTo("labels");
    assertThat(config.topics())
        .containsExactly(
            "labels",
            "fewshot-queries",
            "fewshot-predictions",
            "fewshot-models",
            "fewshot-dead-letters");
  }

  @Test
  void shouldDescribeEveryServiceKeyInTheTable() {
    String table = FewShotConfig.markdownTable();
    for (String key :
        java.util.List.of(
            FewShotConfig.SUPPORT_TOPIC_CONFIG,
            FewShotConfig.FINETUNE_INTERVAL_MS_CONFIG,
            FewShotConfig.QUERY_POOL_SIZE_CONFIG,
            FewShotConfig.TOPIC_REPLICATION_FACTOR_CONFIG)) {
      assertThat(table).contains("| `" + key + "` |");
    }
  }
}
