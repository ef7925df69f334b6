package io.fewshotstreams.streaming;

import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The acceptance scenario against Kafka in a container, for machines with a Docker engine; skipped
 * where there is none.
 */
@Testcontainers(disabledWithoutDocker = true)
class KafkaContainerIT {
  @Container static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.1.0");

  @TempDir Path stateDir;

  @Test
  void shouldMatchOfflineAccuracyThroughTheTopics() {
    try (Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      AccuracyScenario.run(KAFKA.getBootstrapServers(), embedder, stateDir);
    }
  }
}
