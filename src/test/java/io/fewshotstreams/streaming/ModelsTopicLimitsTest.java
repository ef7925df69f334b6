package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.streaming.learner.SnapshotSize;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** The models topic, the producer and the learner agree on one record limit. */
class ModelsTopicLimitsTest {
  private static final int FEATURES = 256; // the bundled backbone

  private static FewShotConfig config(Map<String, Object> extra) {
    Map<String, Object> settings = new java.util.HashMap<>(extra);
    settings.put("bootstrap.servers", "unused:9092");
    return new FewShotConfig(settings);
  }

  // Bug: the producer kept its 1 MB max.request.size while snapshots of allowed tasks grew past
  // it; the topic, the producer and the learner's limit now come from the same number.
  @Test
  void shouldSizeTheProducerAndTheLearnerFromTheClassLimit() {
    FewShotConfig config = config(Map.of());
    int topic = config.modelsMaxMessageBytes(FEATURES);
    assertThat(topic).isEqualTo(SnapshotSize.recordBytesAtLimits(1000, FEATURES));

    Properties props = FewShotStreams.withProducerLimits(config.streamsProperties(), topic);

    assertThat(props.getProperty("producer.max.request.size")).isEqualTo(String.valueOf(topic));
    assertThat(config.maxSnapshotBytes(FEATURES)).isEqualTo(topic - SnapshotSize.RECORD_OVERHEAD);
  }

  @Test
  void shouldKeepTheLearnerWithinAProducerLimitTheUserSet() {
    FewShotConfig config = config(Map.of("producer.max.request.size", 2_000_000));
    Properties props =
        FewShotStreams.withProducerLimits(
            config.streamsProperties(), config.modelsMaxMessageBytes(FEATURES));
    assertThat(props.get("producer.max.request.size")).isEqualTo(2_000_000);
    assertThat(config.maxSnapshotBytes(FEATURES))
        .isEqualTo(2_000_000 - SnapshotSize.RECORD_OVERHEAD);
  }

  @Test
  void shouldGiveTheProducerBufferRoomForTheLargestRecord() {
    int topic = 40 * 1024 * 1024; // larger than the producer's 32 MiB buffer
    Properties props = FewShotStreams.withProducerLimits(new Properties(), topic);
    assertThat(Long.parseLong(props.getProperty("producer.buffer.memory")))
        .isGreaterThanOrEqualTo(topic);
  }
}
