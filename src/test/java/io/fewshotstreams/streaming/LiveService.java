package io.fewshotstreams.streaming;

import io.fewshotstreams.TestClients;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The service running against a real broker, with a plain producer and a read-committed consumer
 * of its output topics, as a user's application would have them.
 */
public final class LiveService implements AutoCloseable {
  public final EventCodec codec = new EventCodec();
  public final FewShotConfig config;
  public final FewShotStreams service;
  private final KafkaProducer<String, byte[]> producer;
  private final KafkaConsumer<String, byte[]> consumer;
  private final List<ConsumerRecord<String, byte[]>> seen = new ArrayList<>();

  public LiveService(String bootstrap, Embedder embedder, Path stateDir, Map<String, Object> overrides) {
    Map<String, Object> settings = new HashMap<>();
    settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    settings.put(StreamsConfig.APPLICATION_ID_CONFIG, "it-" + UUID.randomUUID());
    settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    settings.putAll(overrides);
    config = new FewShotConfig(settings);
    service =
        FewShotStreams.start(
            config,
            embedder,
            true,
            Duration.ofSeconds(90),
            new Telemetry(new SimpleMeterRegistry(), config.recentPredictions()));
    producer = TestClients.producer(bootstrap);
    consumer = TestClients.readCommittedConsumer(bootstrap, "it-reader-");
    consumer.subscribe(
        List.of(config.predictionsTopic(), config.modelsTopic(), config.deadLettersTopic()));
  }

  public void addImage(String task, String label, String id, byte[] png) {
    send(
        config.supportTopic(),
        task,
        codec.write(new SupportEvent.AddExample(1, task, label, id, new Image(Image.PNG, png), null)));
  }

  public void support(String task, SupportEvent event) {
    send(config.supportTopic(), task, codec.write(event));
  }

  public void queryImage(String task, String id, byte[] png) {
    send(
        config.queriesTopic(),
        task,
        codec.write(new QueryEvent(1, task, id, new Image(Image.PNG, png), null, null)));
  }

  public void send(String topic, String key, byte[] value) {
    producer.send(new ProducerRecord<>(topic, key, value));
    producer.flush();
  }

  /**
   * Polls until {@code count} records of {@code topic} matching {@code filter} arrived, and returns
   * them. Records of {@code topic} before the last one returned are consumed (skipped if they did
   * not match), so later calls see only what came after; records of other topics wait for later.
   */
  public List<byte[]> await(String topic, Predicate<byte[]> filter, int count, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      List<byte[]> taken = new ArrayList<>();
      int last = -1;
      for (int i = 0; i < seen.size() && taken.size() < count; i++) {
        ConsumerRecord<String, byte[]> r = seen.get(i);
        if (r.topic().equals(topic) && filter.test(r.value())) {
          taken.add(r.value());
          last = i;
        }
      }
      if (taken.size() == count) {
        List<ConsumerRecord<String, byte[]>> consumed = new ArrayList<>();
        for (int i = 0; i <= last; i++) {
          if (seen.get(i).topic().equals(topic)) {
            consumed.add(seen.get(i));
          }
        }
        seen.removeAll(consumed);
        return taken;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "expected " + count + " records on " + topic + ", found " + taken.size());
      }
      consumer.poll(Duration.ofMillis(100)).forEach(seen::add);
    }
  }

  @Override
  public void close() {
    producer.close();
    consumer.close();
    service.close();
  }
}
