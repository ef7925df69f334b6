package io.fewshotstreams.streaming.query;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.TestClients;
import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.ImageLimits;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.LiveService;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Big queries on a real broker under exactly-once, with the pending-queries changelog at the
 * broker's default 1 MB record limit and a query topic that allows 5 MB: the largest image the
 * service accepts is answered in its turn, a bigger one is a dead letter saying so, and the
 * queries after each are served. Before, the largest one was written into the pending store, its
 * changelog refused the record, and the stream thread died and replayed it for ever.
 */
class QueryRecordSizeIT {
  private static final String TASK = "big-images";
  /** The query topic's record limit, as an operator would raise it for big images. */
  private static final int TOPIC_MAX_BYTES = 5 * 1024 * 1024;
  /** The service's image limit: a 3.4 MB PNG is a 4.5 MB query record once base64-encoded. */
  private static final long IMAGE_MAX_BYTES = 3_500_000;

  @TempDir Path stateDir;

  @Test
  void shouldAnswerTheLargestAllowedImageAndDeadLetterABiggerOneThenServeTheNext()
      throws Exception {
    byte[] largest = noisePng(1060);
    byte[] over = noisePng(1100);
    assertThat(largest.length).as("just under the image limit").isBetween(3_300_000, 3_500_000);
    assertThat(over.length).as("over the image limit").isGreaterThan(3_500_000);
    List<SampleImage> samples = SampleImages.load();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        OnnxEmbedder embedder =
            OnnxEmbedder.open(
                Backbone.bundled(),
                EmbedderOptions.DEFAULT,
                new ImageLimits(IMAGE_MAX_BYTES, ImageLimits.DEFAULT.maxPixels()))) {
      broker.createTopics(
          Map.of("fewshot-queries", 1), Map.of("max.message.bytes", String.valueOf(TOPIC_MAX_BYTES)));
      try (LiveService live =
              new LiveService(
                  broker.bootstrapServers(),
                  embedder,
                  stateDir,
                  Map.of(
                      "processing.guarantee", "exactly_once_v2",
                      FewShotConfig.IMAGE_MAX_BYTES_CONFIG, IMAGE_MAX_BYTES,
                      FewShotConfig.TOPIC_PARTITIONS_CONFIG, 1));
          KafkaProducer<String, byte[]> producer =
              TestClients.producer(
                  broker.bootstrapServers(),
                  Map.of(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, TOPIC_MAX_BYTES))) {
        for (String label : List.of("Coat", "Sneaker", "Shirt")) {
          SampleImage s = samples.stream().filter(x -> x.label().equals(label)).findFirst().get();
          live.addImage(TASK, label, s.name(), s.png());
        }
        live.await(live.config.modelsTopic(), v -> true, 3, Duration.ofSeconds(60));

        // One flush, so the big ones meet a backlog: the first query waits in the pending store.
        send(producer, live, "before", samples.get(40).png());
        send(producer, live, "largest", largest);
        send(producer, live, "after-largest", samples.get(41).png());
        send(producer, live, "over", over);
        send(producer, live, "after-over", samples.get(42).png());
        producer.flush();

        List<String> answered =
            live.await(live.config.predictionsTopic(), v -> true, 4, Duration.ofSeconds(90)).stream()
                .map(v -> live.codec.readPrediction(v))
                .map(Prediction::queryId)
                .toList();
        assertThat(answered)
            .as("every query but the one over the limit, in input order")
            .containsExactly("before", "largest", "after-largest", "after-over");
        DeadLetter dead =
            live.codec.readDeadLetter(
                live.await(live.config.deadLettersTopic(), v -> true, 1, Duration.ofSeconds(30)).get(0));
        assertThat(dead.reason()).isEqualTo(DeadLetterReason.INVALID_IMAGE);
        assertThat(dead.id()).isEqualTo("over");
        assertThat(dead.message())
            .as("the size and the limit, in the message")
            .contains(over.length + " bytes, limit is " + IMAGE_MAX_BYTES);
        assertThat(live.service.streams().state()).isEqualTo(KafkaStreams.State.RUNNING);
      }
    }
  }

  private static void send(
      KafkaProducer<String, byte[]> producer, LiveService live, String id, byte[] png) {
    producer.send(
        new ProducerRecord<>(
            live.config.queriesTopic(),
            TASK,
            live.codec.write(new QueryEvent(1, TASK, id, new Image(Image.PNG, png), null, null))));
  }

  /** A PNG of {@code side} x {@code side} RGB noise: about 3 bytes a pixel, as PNG cannot
   * compress noise. */
  private static byte[] noisePng(int side) throws IOException {
    BufferedImage image = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
    Random random = new Random(side);
    for (int y = 0; y < side; y++) {
      for (int x = 0; x < side; x++) {
        image.setRGB(x, y, random.nextInt(1 << 24));
      }
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ImageIO.write(image, "png", bytes);
    return bytes.toByteArray();
  }
}
