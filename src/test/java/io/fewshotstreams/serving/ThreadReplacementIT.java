package io.fewshotstreams.serving;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fewshotstreams.TestClients;
import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.ForwardingEmbedder;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.FewShotConfig;
import java.awt.image.BufferedImage;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A poison on a real broker: a support record whose embedding kills the stream thread every time
 * (an {@link Error}, which no bad-record policy catches). Each replaced thread reads the same record
 * again and dies again. Before, the instance replaced threads for ever while {@code /health} said
 * UP (issue 12 item 8, issue 16 "a liveness that means something"); now, after {@code
 * fewshot.stream.thread.replacements.max} replacements, it shuts its Kafka Streams client down and
 * {@code /health} answers 503.
 */
class ThreadReplacementIT {
  private static final int MAX_REPLACEMENTS = 2;
  /**
   * Each round is a session timeout, a rebalance and a poll: about 7 s with the settings below,
   * 46 s with the default session; 3 rounds, with room for this shared machine.
   */
  private static final Duration WAIT = Duration.ofSeconds(150);

  @TempDir Path stateDir;

  private final HttpClient client = HttpClient.newHttpClient();
  private final ObjectMapper json = new ObjectMapper();

  @Test
  @Timeout(240)
  void shouldReportUnhealthyInsteadOfReplacingThreadsForEver() throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        Embedder onnx = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      PoisonEmbedder poison = new PoisonEmbedder(onnx);
      Map<String, Object> settings = new HashMap<>();
      settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
      settings.put(StreamsConfig.APPLICATION_ID_CONFIG, "poison-" + UUID.randomUUID());
      settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
      settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
      settings.put(FewShotConfig.TOPIC_PARTITIONS_CONFIG, 1);
      settings.put(FewShotConfig.HTTP_PORT_CONFIG, 0);
      settings.put(FewShotConfig.THREAD_REPLACEMENTS_MAX_CONFIG, MAX_REPLACEMENTS);
      // A replacement joins only after the dead thread's session expired: the broker's smallest
      // session makes a round about 7 s instead of 46 s.
      settings.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 6_000);
      settings.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_500);
      FewShotConfig config = new FewShotConfig(settings);
      try (ServiceInstance instance =
              ServiceInstance.start(config, poison, true, Duration.ofSeconds(90));
          KafkaProducer<String, byte[]> producer = TestClients.producer(broker.bootstrapServers())) {
        assertThat(health(instance).statusCode()).as("healthy before the poison").isEqualTo(200);

        byte[] png = SampleImages.load().get(0).png();
        SupportEvent add =
            new SupportEvent.AddExample(
                1, "poisoned", "A", "ex-1", new Image(Image.PNG, png), null);
        producer.send(
            new ProducerRecord<>(config.supportTopic(), "poisoned", new EventCodec().write(add)));
        producer.flush();

        long deadline = System.nanoTime() + WAIT.toNanos();
        HttpResponse<String> health = health(instance);
        while (health.statusCode() == 200) {
          assertThat(System.nanoTime())
              .as(
                  "/health 503 within %s; the poison killed %d threads so far, state %s",
                  WAIT, poison.kills.get(), instance.service().streams().state())
              .isLessThan(deadline);
          Thread.sleep(200);
          health = health(instance);
        }
        assertThat(health.statusCode()).isEqualTo(503);
        assertThat(json.readTree(health.body()).get("status").asText()).isEqualTo("DOWN");
        // 503 comes from PENDING_ERROR on; the client then finishes shutting down to ERROR.
        while (instance.service().streams().state() != KafkaStreams.State.ERROR) {
          assertThat(System.nanoTime()).as("ERROR in time").isLessThan(deadline);
          Thread.sleep(100);
        }
        assertThat(poison.kills.get())
            .as("the first thread and each replacement met the poison once")
            .isEqualTo(MAX_REPLACEMENTS + 1);
      }
    }
  }

  private HttpResponse<String> health(ServiceInstance instance) throws Exception {
    return client.send(
        HttpRequest.newBuilder(instance.http().orElseThrow().resolve("/health"))
            .timeout(Duration.ofSeconds(5))
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** Kills the calling thread on every image, as a native crash or an out-of-memory would. */
  private static final class PoisonEmbedder extends ForwardingEmbedder {
    final AtomicInteger kills = new AtomicInteger();

    PoisonEmbedder(Embedder delegate) {
      super(delegate);
    }

    private Error poison() {
      kills.incrementAndGet();
      return new PoisonError();
    }

    @Override
    public float[] embed(byte[] encodedImage) {
      throw poison();
    }

    @Override
    public float[][] embedBatch(List<byte[]> encodedImages) {
      throw poison();
    }

    @Override
    public float[][] embedImages(List<BufferedImage> images) {
      throw poison();
    }

    @Override
    public float[][] embedPreprocessed(float[] batchTensor, int batchSize) {
      throw poison();
    }

    @Override
    public void close() {
      // the ONNX embedder is closed by the test
    }
  }

  /** The poison: an Error, so that no handler of bad records takes it for a bad record. */
  private static final class PoisonError extends Error {
    private static final long serialVersionUID = 1L;

    PoisonError() {
      super("poison: this image kills the thread that embeds it");
    }
  }
}
