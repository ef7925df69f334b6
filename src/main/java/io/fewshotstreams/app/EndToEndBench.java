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
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The service end to end against a running broker: the bundled sample images of five classes
 * registered as support, then query images through the query topic, predictions read back with
 * {@code read_committed}, as a user's consumer sees them.
 *
 * <p>Sustained throughput in steady state ({@link SteadyLoad}): queries published as fast as the
 * service takes them, counted in windows until the rate stops rising, then a fixed number timed.
 * Over exactly that span the offsets written to every topic of the run (changelogs and the
 * repartition topic included) and the stream thread's commits are counted, so each query's Kafka
 * records can be named. Latency: queries paced at a fixed rate; per query, {@code visible} is from
 * the send to the prediction reaching the consumer (it includes the commit under exactly-once),
 * {@code service} is the prediction's {@code predictedAt} minus the query record's timestamp (set
 * by the producer at send).
 */
final class EndToEndBench {
  private static final String TASK = "bench";
  private static final int SHOTS = 5;
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final byte[] QUERY_ID_FIELD =
      "\"queryId\":\"".getBytes(StandardCharsets.UTF_8);

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

  /**
   * Offsets written per measured query to one topic of the run. Under exactly-once each
   * transaction also writes one marker per partition it wrote to; {@code commits} counts them.
   */
  record TopicWrites(String topic, long offsets) {}

  /** What the measured span wrote: per topic, and the stream thread's commits. */
  record Writes(List<TopicWrites> topics, double commits) {}

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
  record Report(
      String guarantee, SteadyLoad.Result throughput, Writes writes, List<Latency> latencies) {}

  /**
   * Starts a service instance with {@code guarantee} on fresh topics, registers the classes,
   * measures the sustained rate in steady state, then the latency at each fraction of it for about
   * {@code latencySeconds} (at least {@code minLatencyQueries} queries). Each latency run starts with
   * {@code latencyWarmUpSeconds} of queries at the same rate that are not measured: a new rate
   * takes other branches than the throughput run (small batches, idle polls), which the JIT was
   * seen compiling during the run (BENCHMARKS.md; a 10 s warm-up made no difference beyond the
   * noise of a 2-core machine).
   */
  @SuppressWarnings("try") // the service runs while the block measures it; closed on the way out
  Report run(
      String guarantee,
      SteadyLoad.Settings steady,
      double[] loadFractions,
      double latencySeconds,
      double latencyWarmUpSeconds,
      int minLatencyQueries,
      PrintWriter out) {
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
      QueryValues values = new QueryValues(codec, TASK, "s", split.queries());
      String predictions = config.predictionsTopic();
      WriteCounter writes = new WriteCounter(prefix, service.service().streams());
      SteadyLoad.Result throughput =
          SteadyLoad.run(
              producer,
              consumer,
              i -> new ProducerRecord<>(config.queriesTopic(), TASK, values.value(i)),
              r -> r.topic().equals(predictions) ? values.index(queryIdOf(r.value())) : -1,
              steady,
              writes,
              out,
              "end-to-end " + guarantee);
      List<Latency> latencies = new ArrayList<>();
      for (double fraction : loadFractions) {
        awaitIdle(
            prefix + "app",
            guarantee.equals(StreamsConfig.EXACTLY_ONCE_V2),
            out,
            "end-to-end " + guarantee);
        double rate = fraction * throughput.queriesPerSecond();
        int n = Math.max(minLatencyQueries, (int) Math.round(rate * latencySeconds));
        int warmUp = (int) Math.round(rate * latencyWarmUpSeconds);
        latencies.add(paced(config, producer, consumer, rate, warmUp, n, "r" + latencies.size()));
      }
      return new Report(guarantee, throughput, writes.result(throughput.queries()), latencies);
    }
  }

  /** Longest wait for the service to catch up with its internal topics before a latency run. */
  private static final Duration IDLE_WAIT = Duration.ofSeconds(60);

  /**
   * Waits until the service's consumer group ({@code groupId}, its application id) has committed
   * every record of its input and internal topics, and says how far behind it was. The throughput
   * phase ends when the last prediction is read, but records written for later stages (the query
   * pool's and the feedback room's repartition topics) can still wait; a latency run started then
   * measures that backlog, not the service at the offered load. Under exactly-once one offset per
   * partition is allowed for the transaction marker after the last committed record. After {@link
   * #IDLE_WAIT} it says so and goes on: a latency run is still worth having.
   */
  private void awaitIdle(String groupId, boolean markers, PrintWriter out, String label) {
    long start = System.nanoTime();
    long deadline = start + IDLE_WAIT.toNanos();
    long first = -1;
    long behind = -1;
    try (Admin admin =
        Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      while (behind != 0 && System.nanoTime() < deadline) {
        if (first >= 0) {
          Thread.sleep(100);
        }
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(groupId).partitionsToOffsetAndMetadata().get();
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        committed.keySet().forEach(tp -> request.put(tp, OffsetSpec.latest()));
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> ends =
            admin.listOffsets(request).all().get();
        // No committed offsets yet means nothing is known: not idle.
        behind = committed.isEmpty() ? Long.MAX_VALUE : 0;
        for (Map.Entry<TopicPartition, OffsetAndMetadata> e : committed.entrySet()) {
          long end = ends.get(e.getKey()).offset();
          long at = e.getValue() == null ? 0 : e.getValue().offset();
          behind += Math.max(0, end - at - (markers ? 1 : 0));
        }
        if (first < 0) {
          first = behind;
        }
      }
    } catch (ExecutionException e) {
      throw new FewShotException("cannot read the service's committed offsets: " + e.getCause(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FewShotException("interrupted while waiting for the service to be idle", e);
    }
    double waited = (System.nanoTime() - start) / 1e9;
    if (behind == 0) {
      out.printf(
          Locale.ROOT,
          "%s: idle after %.1f s (%d records of its input and internal topics were still unread"
              + " when the last answer came)%n",
          label,
          waited,
          first);
    } else {
      out.printf(
          Locale.ROOT,
          "%s: not idle after %.1f s (%s records still unread); the latency run starts anyway%n",
          label,
          waited,
          behind == Long.MAX_VALUE ? "no committed offsets, so unknown" : Long.toString(behind));
    }
    out.flush();
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

  /**
   * Sends {@code warmUp + n} queries at {@code rate} without a pause and measures the last {@code
   * n}.
   */
  private Latency paced(
      FewShotConfig config,
      KafkaProducer<String, byte[]> producer,
      KafkaConsumer<String, byte[]> consumer,
      double rate,
      int warmUp,
      int n,
      String run) {
    int total = warmUp + n;
    List<byte[]> values = queries(total, run);
    long[] sentNanos = new long[total];
    Map<String, Long> received = new HashMap<>();
    Map<String, Double> serviceMillis = new HashMap<>();
    long start = System.nanoTime();
    for (int i = 0; i < total; i++) {
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
    await(config, consumer, run + "-", total, received, serviceMillis);
    double[] visible = new double[n];
    double[] service = new double[n];
    for (int i = 0; i < n; i++) {
      String id = run + "-" + (warmUp + i);
      visible[i] = (received.get(id) - sentNanos[warmUp + i]) / 1e6;
      service[i] = serviceMillis.get(id);
    }
    return new Latency(
        rate,
        total == 1 ? rate : (total - 1) * 1e9 / Math.max(sendNanos, 1),
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

  /**
   * The query id of a prediction, read from the JSON text without parsing all of it (the reader
   * shares the CPU with the service it measures); the codec's reading when the text is unusual.
   */
  String queryIdOf(byte[] prediction) {
    int at = QueryValues.indexOf(prediction, QUERY_ID_FIELD, 0);
    if (at >= 0) {
      int from = at + QUERY_ID_FIELD.length;
      for (int i = from; i < prediction.length; i++) {
        if (prediction[i] == '"') {
          return new String(prediction, from, i - from, StandardCharsets.UTF_8);
        }
        if (prediction[i] == '\\') {
          break;
        }
      }
    }
    return codec.readPrediction(prediction).queryId();
  }

  /** Counts the offsets of every topic of one run, and the commits, over the measured span. */
  private final class WriteCounter implements SteadyLoad.Span {
    private final String prefix;
    private final KafkaStreams streams;
    private Map<String, Long> before = Map.of();
    private Map<String, Long> after = Map.of();
    private double commitsBefore;
    private double commitsAfter;

    WriteCounter(String prefix, KafkaStreams streams) {
      this.prefix = prefix;
      this.streams = streams;
    }

    @Override
    public void started() {
      before = endOffsets();
      commitsBefore = commits();
    }

    @Override
    public void ended() {
      after = endOffsets();
      commitsAfter = commits();
    }

    Writes result(int queries) {
      List<TopicWrites> topics = new ArrayList<>();
      for (Map.Entry<String, Long> e : new TreeMap<>(after).entrySet()) {
        long written = e.getValue() - before.getOrDefault(e.getKey(), 0L);
        if (written > 0) {
          topics.add(new TopicWrites(e.getKey(), written));
        }
      }
      return new Writes(topics, commitsAfter - commitsBefore);
    }

    private double commits() {
      for (Map.Entry<MetricName, ? extends Metric> m : streams.metrics().entrySet()) {
        if (m.getKey().name().equals("commit-total")
            && m.getKey().group().equals("stream-thread-metrics")) {
          return ((Number) m.getValue().metricValue()).doubleValue();
        }
      }
      return Double.NaN;
    }

    private Map<String, Long> endOffsets() {
      try (Admin admin =
          Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        for (String topic : admin.listTopics(new ListTopicsOptions().listInternal(false)).names().get()) {
          if (topic.startsWith(prefix)) {
            for (var p : admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions()) {
              request.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest());
            }
          }
        }
        Map<String, Long> offsets = new HashMap<>();
        admin.listOffsets(request).all().get()
            .forEach((tp, info) -> offsets.merge(tp.topic(), info.offset(), Long::sum));
        return offsets;
      } catch (ExecutionException e) {
        throw new FewShotException("cannot read the end offsets of the run's topics: " + e.getCause(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new FewShotException("interrupted while reading end offsets", e);
      }
    }
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
