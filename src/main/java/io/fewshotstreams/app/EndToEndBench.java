package io.fewshotstreams.app;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.bench.Percentiles;
import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.serving.ServiceInstance;
import io.fewshotstreams.streaming.FewShotConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The service end to end against a running broker: the bundled sample images of five classes
 * registered as support, then query images through the query topic, predictions read back with
 * {@code read_committed}, as a user's consumer sees them.
 *
 * <p>Sustained throughput: after 200 untimed queries, {@code n} queries published as fast as the producer goes, timed from
 * the first send to the last prediction received. Latency: queries paced at a fixed rate; per
 * query, {@code visible} is from the send to the prediction reaching the consumer (it includes
 * the commit under exactly-once), {@code service} is the prediction's {@code predictedAt} minus
 * the query record's timestamp (set by the producer at send).
 */
final class EndToEndBench {
  private static final String TASK = "bench";
  private static final int SHOTS = 5;
  private static final int WARM_UP_QUERIES = 200;
  private static final Duration WAIT = Duration.ofSeconds(120);

  private final String bootstrap;
  private final Embedder embedder;
  private final Path stateDir;
  private final Map<String, String> serviceSettings;
  private final EventCodec codec = new EventCodec();
  private final SampleImages.Split split = SampleImages.split(SHOTS);

  EndToEndBench(
      String bootstrap, Embedder embedder, Path stateDir, Map<String, String> serviceSettings) {
    this.bootstrap = bootstrap;
    this.embedder = embedder;
    this.stateDir = stateDir;
    this.serviceSettings = Map.copyOf(serviceSettings);
  }

  /** Sustained throughput: {@code queries} in {@code seconds} from the first send. */
  record Throughput(int queries, double seconds, double queriesPerSecond) {}

  /**
   * Latency at one offered rate; milliseconds.
   *
   * @param achievedRate the rate the queries were actually sent at
   */
  record Latency(
      double offeredRate,
      double achievedRate,
      int queries,
      double visibleP50,
      double visibleP99,
      double serviceP50,
      double serviceP99) {}

  /** One processing guarantee's figures. */
  record Report(String guarantee, Throughput throughput, List<Latency> latencies) {}

  /**
   * Starts a service instance with {@code guarantee} on fresh topics, registers the classes,
   * measures the sustained rate with {@code saturationQueries}, then the latency at each fraction
   * of it for about {@code latencySeconds} (at least {@code minLatencyQueries} queries).
   */
  @SuppressWarnings("try") // the service runs while the block measures it; closed on the way out
  Report run(
      String guarantee,
      int saturationQueries,
      double[] loadFractions,
      double latencySeconds,
      int minLatencyQueries) {
    String prefix = "bench-" + guarantee.replace('_', '-') + "-";
    Map<String, Object> settings = new HashMap<>();
    settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    settings.put(StreamsConfig.APPLICATION_ID_CONFIG, prefix + "app");
    settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve(prefix + "state").toString());
    settings.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
    settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    settings.put(FewShotConfig.TOPIC_PARTITIONS_CONFIG, 1);
    settings.put(FewShotConfig.HTTP_PORT_CONFIG, -1);
    settings.put(FewShotConfig.SUPPORT_TOPIC_CONFIG, prefix + "support");
    settings.put(FewShotConfig.QUERIES_TOPIC_CONFIG, prefix + "queries");
    settings.put(FewShotConfig.PREDICTIONS_TOPIC_CONFIG, prefix + "predictions");
    settings.put(FewShotConfig.MODELS_TOPIC_CONFIG, prefix + "models");
    settings.put(FewShotConfig.DEAD_LETTERS_TOPIC_CONFIG, prefix + "dead-letters");
    settings.putAll(serviceSettings);
    FewShotConfig config = new FewShotConfig(settings);
    try (ServiceInstance service = ServiceInstance.start(config, embedder, true, WAIT);
        // Each query leaves at once: batching in the producer would add to the measured latency.
        KafkaProducer<String, byte[]> producer =
            Clients.producer(bootstrap, Map.of(ProducerConfig.LINGER_MS_CONFIG, 0));
        KafkaConsumer<String, byte[]> consumer =
            Clients.readCommittedConsumer(bootstrap, prefix + "reader")) {
      consumer.subscribe(List.of(config.predictionsTopic(), config.modelsTopic()));
      register(config, producer, consumer);
      // Untimed: the first queries also pay for class loading and compilation.
      saturate(config, producer, consumer, WARM_UP_QUERIES, "w");
      Throughput throughput = saturate(config, producer, consumer, saturationQueries, "s");
      List<Latency> latencies = new ArrayList<>();
      for (double fraction : loadFractions) {
        double rate = fraction * throughput.queriesPerSecond();
        int n = Math.max(minLatencyQueries, (int) Math.round(rate * latencySeconds));
        latencies.add(paced(config, producer, consumer, rate, n, "r" + latencies.size()));
      }
      return new Report(guarantee, throughput, latencies);
    }
  }

  private void register(
      FewShotConfig config,
      KafkaProducer<String, byte[]> producer,
      KafkaConsumer<String, byte[]> consumer) {
    for (SampleImage s : split.support()) {
      producer.send(
          new ProducerRecord<>(
              config.supportTopic(),
              TASK,
              codec.write(
                  new SupportEvent.AddExample(
                      1, TASK, s.label(), s.name(), new Image(Image.PNG, s.png()), null))));
    }
    producer.flush();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
        if (r.topic().equals(config.modelsTopic())) {
          ModelSnapshot m = codec.readSnapshot(r.value());
          if (m.supportExamples() == split.support().size()) {
            return;
          }
        }
      }
    }
    throw new FewShotException(
        "expected a model of all " + split.support().size() + " support images within "
            + WAIT.toSeconds() + " s, found none");
  }

  private Throughput saturate(
      FewShotConfig config,
      KafkaProducer<String, byte[]> producer,
      KafkaConsumer<String, byte[]> consumer,
      int n,
      String run) {
    List<byte[]> values = queries(n, run);
    long start = System.nanoTime();
    for (byte[] value : values) {
      producer.send(new ProducerRecord<>(config.queriesTopic(), TASK, value));
    }
    producer.flush();
    Map<String, Long> received = new HashMap<>();
    await(config, consumer, run + "-", n, received, null);
    long last = received.values().stream().mapToLong(Long::longValue).max().orElseThrow();
    double seconds = (last - start) / 1e9;
    return new Throughput(n, seconds, n / seconds);
  }

  private Latency paced(
      FewShotConfig config,
      KafkaProducer<String, byte[]> producer,
      KafkaConsumer<String, byte[]> consumer,
      double rate,
      int n,
      String run) {
    List<byte[]> values = queries(n, run);
    long[] sentNanos = new long[n];
    Map<String, Long> received = new HashMap<>();
    Map<String, Double> serviceMillis = new HashMap<>();
    long start = System.nanoTime();
    for (int i = 0; i < n; i++) {
      long due = start + (long) (i * 1e9 / rate);
      long now;
      while ((now = System.nanoTime()) < due) {
        // Poll while waiting, so predictions are read as they arrive rather than in bursts.
        long waitMillis = Math.min(5, Math.max(1, (due - now) / 1_000_000));
        poll(config, consumer, run + "-", received, serviceMillis, Duration.ofMillis(waitMillis));
      }
      sentNanos[i] = System.nanoTime();
      producer.send(new ProducerRecord<>(config.queriesTopic(), TASK, values.get(i)));
    }
    long sendNanos = System.nanoTime() - start;
    await(config, consumer, run + "-", n, received, serviceMillis);
    double[] visible = new double[n];
    double[] service = new double[n];
    for (int i = 0; i < n; i++) {
      String id = run + "-" + i;
      visible[i] = (received.get(id) - sentNanos[i]) / 1e6;
      service[i] = serviceMillis.get(id);
    }
    return new Latency(
        rate,
        n == 1 ? rate : (n - 1) * 1e9 / Math.max(sendNanos, 1),
        n,
        Percentiles.median(visible),
        Percentiles.percentile(visible, 99),
        Percentiles.median(service),
        Percentiles.percentile(service, 99));
  }

  /** {@code n} query events with ids {@code <run>-<i>}, cycling through the query images. */
  private List<byte[]> queries(int n, String run) {
    List<byte[]> values = new ArrayList<>(n);
    List<SampleImage> images = split.queries();
    for (int i = 0; i < n; i++) {
      SampleImage q = images.get(i % images.size());
      values.add(
          codec.write(
              new QueryEvent(1, TASK, run + "-" + i, new Image(Image.PNG, q.png()), null, null)));
    }
    return values;
  }

  private void await(
      FewShotConfig config,
      KafkaConsumer<String, byte[]> consumer,
      String idPrefix,
      int n,
      Map<String, Long> received,
      Map<String, Double> serviceMillis) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (received.size() < n) {
      if (System.nanoTime() > deadline) {
        throw new FewShotException(
            "expected " + n + " predictions within " + WAIT.toSeconds() + " s, found "
                + received.size());
      }
      poll(config, consumer, idPrefix, received, serviceMillis, Duration.ofMillis(20));
    }
  }

  private void poll(
      FewShotConfig config,
      KafkaConsumer<String, byte[]> consumer,
      String idPrefix,
      Map<String, Long> received,
      Map<String, Double> serviceMillis,
      Duration timeout) {
    for (ConsumerRecord<String, byte[]> r : consumer.poll(timeout)) {
      if (!r.topic().equals(config.predictionsTopic())) {
        continue;
      }
      long now = System.nanoTime();
      Prediction p = codec.readPrediction(r.value());
      if (p.queryId().startsWith(idPrefix)) {
        received.putIfAbsent(p.queryId(), now);
        if (serviceMillis != null) {
          serviceMillis.putIfAbsent(p.queryId(), (double) (p.predictedAt() - p.queryTimestamp()));
        }
      }
    }
  }
}
