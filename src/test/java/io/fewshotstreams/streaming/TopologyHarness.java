package io.fewshotstreams.streaming;

import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.streaming.learner.FineTuneScheduler;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * The whole topology on Kafka's TopologyTestDriver, with the topics a test pipes to and reads
 * from. The topology tests share it so that each builds the service the same way.
 */
public final class TopologyHarness implements AutoCloseable {
  /** Fine-tuning interval of the tests' wall clock. */
  public static final long INTERVAL_MS = 1_000;

  public final FewShotConfig config;
  public final Telemetry telemetry;
  public final FineTuneScheduler scheduler;
  public final TopologyTestDriver driver;
  public final TestInputTopic<String, byte[]> support;
  public final TestInputTopic<String, byte[]> queries;
  public final TestOutputTopic<String, byte[]> predictions;
  public final TestOutputTopic<String, byte[]> models;
  public final TestOutputTopic<String, byte[]> deadLetters;

  /**
   * The settings the topology tests start from: state in {@code stateDir}, fine-tuning every
   * {@value #INTERVAL_MS} ms of the driver's wall clock, and each query answered as it arrives
   * (batch size 1; QueryBatchingTest covers batches); {@code overrides} win.
   */
  public static Map<String, Object> settings(
      String applicationId, Path stateDir, Map<String, Object> overrides) {
    Map<String, Object> settings = new HashMap<>();
    settings.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    settings.put(FewShotConfig.FINETUNE_INTERVAL_MS_CONFIG, INTERVAL_MS);
    settings.put(FewShotConfig.QUERY_BATCH_SIZE_CONFIG, 1);
    settings.putAll(overrides);
    return settings;
  }

  /** Builds the topology for {@code settings} and starts the driver's wall clock at {@code startMs}. */
  public TopologyHarness(
      Map<String, Object> settings, Embedder embedder, Telemetry telemetry, long startMs) {
    this.config = new FewShotConfig(settings);
    this.telemetry = telemetry;
    this.scheduler = new FineTuneScheduler(1);
    this.driver =
        new TopologyTestDriver(
            FewShotTopology.build(config, embedder, scheduler, telemetry),
            config.streamsProperties(),
            Instant.ofEpochMilli(startMs));
    support = input(config.supportTopic());
    queries = input(config.queriesTopic());
    predictions = output(config.predictionsTopic());
    models = output(config.modelsTopic());
    deadLetters = output(config.deadLettersTopic());
  }

  public TestInputTopic<String, byte[]> input(String topic) {
    return driver.createInputTopic(topic, new StringSerializer(), new ByteArraySerializer());
  }

  public TestOutputTopic<String, byte[]> output(String topic) {
    return driver.createOutputTopic(topic, new StringDeserializer(), new ByteArrayDeserializer());
  }

  @Override
  public void close() {
    driver.close();
    scheduler.close();
  }
}
