package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/**
 * The admin client that checks and creates the topics takes {@code admin.}-prefixed settings over
 * the plain ones, as Kafka Streams' own admin client does. Catches issue 16's "topic creation
 * ignores admin.* settings": before, only plain admin keys were copied.
 */
class AdminSettingsTest {

  @Test
  void shouldLetAdminPrefixedSettingsWinForTopicCreation() {
    FewShotConfig config =
        new FewShotConfig(
            Map.of(
                "bootstrap.servers", "kafka:9092",
                "security.protocol", "SASL_SSL",
                "sasl.jaas.config", "app-principal",
                "admin.sasl.jaas.config", "topic-admin-principal",
                "admin.request.timeout.ms", "4321",
                "producer.linger.ms", "7"));
    Properties admin = FewShotStreams.adminProperties(config);
    assertThat(admin)
        .containsEntry("bootstrap.servers", "kafka:9092")
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.jaas.config", "topic-admin-principal")
        .containsEntry("request.timeout.ms", "4321")
        .doesNotContainKey("linger.ms")
        .doesNotContainKey("producer.linger.ms")
        .doesNotContainKey("admin.request.timeout.ms");
  }

  @Test
  void shouldKeepItsOwnTimeoutsWhereNoneIsSet() {
    Properties admin =
        FewShotStreams.adminProperties(new FewShotConfig(Map.of("bootstrap.servers", "k:9092")));
    // 30 s for a call, 15 s for a request: a cluster that does not answer fails start-up clearly.
    assertThat(admin).containsEntry("default.api.timeout.ms", 30_000);
    assertThat(admin).containsEntry("request.timeout.ms", 15_000);
  }
}
