package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
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

  /**
   * A topic just created reaches the brokers' metadata a moment after the controller answers; a
   * describe in that moment says "unknown topic". Catches the start that failed with "cannot list
   * the topics of the cluster" on a busy machine, because the models topic's limit was read once,
   * right after creating it.
   */
  @Test
  void shouldAskAgainWhileTheClusterDoesNotKnowTheNewTopicYet() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    String answer =
        FewShotStreams.whileUnknownTopic(
            () -> {
              if (calls.incrementAndGet() < 3) {
                throw new ExecutionException(new UnknownTopicOrPartitionException("not yet"));
              }
              return "described";
            },
            Duration.ofSeconds(30),
            System::nanoTime);
    assertThat(answer).isEqualTo("described");
    assertThat(calls).hasValue(3);
  }

  @Test
  void shouldGiveTheClustersAnswerBackOnceTheWaitIsOver() {
    AtomicLong clock = new AtomicLong();
    AtomicInteger calls = new AtomicInteger();
    assertThatThrownBy(
            () ->
                FewShotStreams.whileUnknownTopic(
                    () -> {
                      calls.incrementAndGet();
                      clock.addAndGet(Duration.ofSeconds(1).toNanos());
                      throw new ExecutionException(new UnknownTopicOrPartitionException("never"));
                    },
                    Duration.ofMillis(2_500),
                    clock::get))
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(UnknownTopicOrPartitionException.class);
    assertThat(calls).hasValue(3);
  }

  @Test
  void shouldNotAskAgainOnAnyOtherAnswer() {
    AtomicInteger calls = new AtomicInteger();
    assertThatThrownBy(
            () ->
                FewShotStreams.whileUnknownTopic(
                    () -> {
                      calls.incrementAndGet();
                      throw new ExecutionException(new TopicAuthorizationException("denied"));
                    },
                    Duration.ofSeconds(30),
                    System::nanoTime))
        .hasCauseInstanceOf(TopicAuthorizationException.class);
    assertThat(calls).hasValue(1);
  }
}
