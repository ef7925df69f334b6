package io.fewshotstreams.streaming;

import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The acceptance scenario on a real KRaft broker started in this JVM. */
class StreamingAccuracyIT {
  @TempDir Path stateDir;

  @Test
  void shouldMatchOfflineAccuracyThroughTheTopics() {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      AccuracyScenario.run(broker.bootstrapServers(), embedder, stateDir);
    }
  }
}
