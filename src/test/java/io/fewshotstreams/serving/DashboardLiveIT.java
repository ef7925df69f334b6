package io.fewshotstreams.serving;

import io.fewshotstreams.TestClients;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.FewShotConfig;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard of a real running instance, as the demo serves it, in headless Chromium: it shows
 * the task's classes and the predictions with their images as they arrive, without console errors.
 */
class DashboardLiveIT {
  private static final String TASK = "fashion-demo";
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path stateDir;

  @Test
  void shouldShowTheLiveClassesAndPredictionsOfARunningService() throws Exception {
    assumeTrue(BrowserPage.isAvailable(), "needs Debian's chromium and chromium-driver");
    SampleImages.Split split = SampleImages.split(5);
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
        ServiceInstance service =
            ServiceInstance.start(config(broker.bootstrapServers()), embedder, true, WAIT);
        KafkaProducer<String, byte[]> producer = TestClients.producer(broker.bootstrapServers())) {
      URI dashboard = service.http().orElseThrow();
      EventCodec codec = new EventCodec();
      for (SampleImage s : split.support()) {
        producer.send(
            new ProducerRecord<>(
                "fewshot-support",
                TASK,
                codec.write(
                    new SupportEvent.AddExample(
                        1, TASK, s.label(), s.name(), new Image(Image.PNG, s.png()), null))));
      }
      producer.flush();
      try (BrowserPage page = BrowserPage.open(dashboard, 1280, 900)) {
        page.waitUntil(
            "the task's five classes",
            () -> page.texts("[data-task='" + TASK + "'] .classes .label").size() == 5,
            WAIT);
        assertThat(page.texts("[data-task='" + TASK + "'] .classes .label"))
            .containsExactlyInAnyOrderElementsOf(split.labels());

        List<SampleImage> queries = split.queries().subList(0, 10);
        for (SampleImage q : queries) {
          producer.send(
              new ProducerRecord<>(
                  "fewshot-queries",
                  TASK,
                  codec.write(
                      new QueryEvent(1, TASK, q.name(), new Image(Image.PNG, q.png()), null, null))));
        }
        producer.flush();
        page.waitUntil(
            "a prediction row with its image loaded",
            () ->
                Boolean.TRUE.equals(
                    page.script(
                        "const img = document.querySelector('#recent img');"
                            + " return img !== null && img.complete && img.naturalWidth > 0;")),
            WAIT);
        page.waitUntil(
            "all ten predictions", () -> page.texts("#recent tr.prediction").size() == 10, WAIT);
        page.screenshot(Path.of("target", "dashboard", "dashboard-live.png"));
        assertThat(page.severeConsoleMessages()).isEmpty();
      }
    }
  }

  private FewShotConfig config(String bootstrap) {
    Map<String, Object> settings = new HashMap<>();
    settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    settings.put(StreamsConfig.APPLICATION_ID_CONFIG, "dashboard-live-it");
    settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    settings.put(FewShotConfig.HTTP_PORT_CONFIG, 0);
    settings.put(FewShotConfig.TOPIC_PARTITIONS_CONFIG, 1);
    return new FewShotConfig(settings);
  }
}
