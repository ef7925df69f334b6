package io.fewshotstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class KafkaCeilingBenchTest {
  private static final int QUERIES = 7; // enough to wrap no pool slot yet, so writes are distinct

  /** Writes per topic for {@code QUERIES} queries through {@code variant}, answers included. */
  @TempDir Path stateDir;

  private Map<String, Integer> writes(KafkaCeilingBench.Variant variant) {
    Properties props = new Properties();
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    props.put("processing.exception.handler.global.enabled", "true");
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "ceiling-test");
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    byte[] answer = new byte[300];
    try (TopologyTestDriver driver =
        new TopologyTestDriver(
            KafkaCeilingBench.build(
                variant, "in", "out", answer, KafkaCeilingBench.poolBytes(256), props),
            props)) {
      TestInputTopic<String, byte[]> in =
          driver.createInputTopic("in", new StringSerializer(), new ByteArraySerializer());
      for (int i = 0; i < QUERIES; i++) {
        in.pipeInput("q-" + i, new byte[1500]);
      }
      Map<String, Integer> counts = new HashMap<>();
      for (String topic : driver.producedTopicNames()) {
        int n =
            driver
                .createOutputTopic(topic, Serdes.ByteArray().deserializer(), Serdes.ByteArray().deserializer())
                .readRecordsToList()
                .size();
        counts.put(topic, n);
      }
      return counts;
    }
  }

  @ParameterizedTest
  @EnumSource(KafkaCeilingBench.Variant.class)
  void shouldWriteTheRecordsPerQueryEachVariantClaims(KafkaCeilingBench.Variant variant) {
    // Catches a variant that skips part of the Kafka work it stands for (a store without its
    // changelog, a hop that never reaches the second sub-topology), which would flatter the ceiling.
    Map<String, Integer> counts = writes(variant);
    int total = counts.values().stream().mapToInt(Integer::intValue).sum();
    assertThat(total).as("records written: %s", counts).isEqualTo(variant.recordsPerQuery * QUERIES);
    assertThat(counts).containsEntry("out", QUERIES);
  }

  @Test
  void shouldWriteAPutAndATombstoneToThePendingChangelogPerQuery() {
    Map<String, Integer> counts = writes(KafkaCeilingBench.Variant.STORE_AND_HOP);
    assertThat(counts)
        .containsEntry("ceiling-test-" + KafkaCeilingBench.PENDING_STORE + "-changelog", 2 * QUERIES)
        .containsEntry("ceiling-test-" + KafkaCeilingBench.HOP + "-repartition", QUERIES)
        .containsEntry("ceiling-test-" + KafkaCeilingBench.POOL_STORE + "-changelog", QUERIES)
        .containsEntry("ceiling-test-" + KafkaCeilingBench.SLOTS_STORE + "-changelog", QUERIES);
  }
}
