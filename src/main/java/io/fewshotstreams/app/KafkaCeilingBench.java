package io.fewshotstreams.app;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.FewShotConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The Kafka ceiling: what the in-process broker and Kafka Streams pass with the service's record
 * sizes, guarantee and Kafka settings, but with no model work. The load is the harness of the
 * {@code end-to-end} suite ({@link SteadyLoad}): the same query events (the bundled PNGs in JSON,
 * about 1.5 KB each), 1 partition, 1 stream thread. Each query becomes one output record the size
 * of the service's prediction. Variants add the service's other Kafka work per query:
 *
 * <ul>
 *   <li>{@code pass-through}: the output record only (1 record per query);
 *   <li>{@code store}: the whole query value put into a changelogged store keyed by its offset and
 *       deleted again, as the pending-queries store did before its record cache (3 records:
 *       output, put, tombstone; the service now writes only the tombstone of a query answered
 *       within a commit interval, so this variant does one record more than the service);
 *   <li>{@code store+hop}: also a pool record of the size of a 256-float embedding through a
 *       repartition topic into a second sub-topology, which writes it into a ring of 100 slots of
 *       a changelogged store and the slot position into another, as the learner's pool does (6
 *       records: also the repartition record and the two changelog writes).
 * </ul>
 *
 * The query id travels in the record key (the service's key is the task), so the reader needs no
 * JSON parsing.
 */
final class KafkaCeilingBench {
  static final String PENDING_STORE = "ceiling-pending";
  static final String POOL_STORE = "ceiling-pool";
  static final String SLOTS_STORE = "ceiling-slots";
  static final String HOP = "ceiling-hop";
  private static final String TASK = "bench";
  private static final int POOL_SLOTS = 100;
  private static final Duration WAIT = Duration.ofSeconds(120);

  /** The no-model topologies. */
  enum Variant {
    PASS_THROUGH("pass-through", 1),
    STORE("store", 3),
    STORE_AND_HOP("store+hop", 6);

    final String flag;
    /** Records written to Kafka per query, changelogs and repartition topic included. */
    final int recordsPerQuery;

    Variant(String flag, int recordsPerQuery) {
      this.flag = flag;
      this.recordsPerQuery = recordsPerQuery;
    }

    static Variant of(String flag) {
      List<String> flags = new ArrayList<>();
      for (Variant v : values()) {
        if (v.flag.equals(flag)) {
          return v;
        }
        flags.add(v.flag);
      }
      throw new FewShotException("expected a Kafka ceiling variant among " + flags + ", found '" + flag + "'");
    }
  }

  /** One variant's figures. */
  record Report(String guarantee, Variant variant, SteadyLoad.Result result) {}

  private final String bootstrap;
  private final Path stateDir;
  private final Map<String, String> serviceSettings;
  private final int features;
  private final EventCodec codec = new EventCodec();

  /**
   * @param serviceSettings the service's settings: their Kafka keys apply here as they do there
   * @param features the size of a pooled embedding, in floats
   */
  KafkaCeilingBench(
      String bootstrap, Path stateDir, Map<String, String> serviceSettings, int features) {
    this.bootstrap = bootstrap;
    this.stateDir = stateDir;
    this.serviceSettings = Map.copyOf(serviceSettings);
    this.features = features;
  }

  /**
   * The topology of {@code variant}: queries from {@code input}, one record of {@code answer} per
   * query to {@code output}, keyed as the query was.
   */
  static Topology build(
      Variant variant, String input, String output, byte[] answer, int poolBytes, Properties props) {
    StreamsBuilder builder = new StreamsBuilder();
    boolean store = variant != Variant.PASS_THROUGH;
    boolean hop = variant == Variant.STORE_AND_HOP;
    if (store) {
      builder.addStateStore(
          Stores.keyValueStoreBuilder(
              Stores.persistentKeyValueStore(PENDING_STORE), Serdes.Long(), Serdes.ByteArray()));
    }
    KStream<String, Out> out =
        builder.stream(input, Consumed.with(Serdes.String(), Serdes.ByteArray()))
            .process(
                () -> new Query(store, hop, answer, poolBytes),
                Named.as("ceiling-query"),
                store ? new String[] {PENDING_STORE} : new String[0]);
    out.filter((k, v) -> !v.toPool(), Named.as("ceiling-answers"))
        .mapValues(Out::bytes, Named.as("ceiling-answer-bytes"))
        .to(output, Produced.with(Serdes.String(), Serdes.ByteArray()));
    if (hop) {
      builder.addStateStore(
          Stores.keyValueStoreBuilder(
              Stores.persistentKeyValueStore(POOL_STORE), Serdes.String(), Serdes.ByteArray()));
      builder.addStateStore(
          Stores.keyValueStoreBuilder(
              Stores.persistentKeyValueStore(SLOTS_STORE), Serdes.String(), Serdes.Long()));
      out.filter((k, v) -> v.toPool(), Named.as("ceiling-to-pool"))
          .mapValues(Out::bytes, Named.as("ceiling-pool-bytes"))
          .repartition(Repartitioned.with(Serdes.String(), Serdes.ByteArray()).withName(HOP))
          .process(Pool::new, Named.as("ceiling-pool"), POOL_STORE, SLOTS_STORE);
    }
    return builder.build(props);
  }

  private record Out(boolean toPool, byte[] bytes) {}

  /** The query path without a model: an answer per query, and the Kafka work of the variant. */
  private static final class Query implements Processor<String, byte[], String, Out> {
    private final boolean store;
    private final boolean hop;
    private final byte[] answer;
    private final int poolBytes;
    private ProcessorContext<String, Out> context;
    private KeyValueStore<Long, byte[]> pending;

    Query(boolean store, boolean hop, byte[] answer, int poolBytes) {
      this.store = store;
      this.hop = hop;
      this.answer = answer;
      this.poolBytes = poolBytes;
    }

    @Override
    public void init(ProcessorContext<String, Out> context) {
      this.context = context;
      if (store) {
        pending = context.getStateStore(PENDING_STORE);
      }
    }

    @Override
    public void process(Record<String, byte[]> record) {
      long offset = context.recordMetadata().orElseThrow().offset();
      if (store) {
        pending.put(offset, record.value());
      }
      context.forward(record.withValue(new Out(false, answer)));
      if (hop) {
        context.forward(record.withKey(TASK).withValue(new Out(true, new byte[poolBytes])));
      }
      if (store) {
        pending.delete(offset);
      }
    }
  }

  /** The learner's pool without a model: a ring of slots and the position in it. */
  private static final class Pool implements Processor<String, byte[], Void, Void> {
    private KeyValueStore<String, byte[]> pool;
    private KeyValueStore<String, Long> slots;

    @Override
    public void init(ProcessorContext<Void, Void> context) {
      pool = context.getStateStore(POOL_STORE);
      slots = context.getStateStore(SLOTS_STORE);
    }

    @Override
    public void process(Record<String, byte[]> record) {
      Long next = slots.get(record.key());
      long slot = next == null ? 0 : next;
      pool.put(record.key() + '\u0000' + (slot % POOL_SLOTS), record.value());
      slots.put(record.key(), slot + 1);
    }
  }

  /** The serialized size of a 256-float pool record in the service: the task and the floats. */
  static int poolBytes(int features) {
    return TASK.length() + 4 * features + 8;
  }

  /** A prediction of five classes, as the service writes one for the bench's task. */
  byte[] answer() {
    Map<String, Double> probabilities = new LinkedHashMap<>();
    for (String label : List.of("Pullover", "Coat", "Shirt", "Sneaker", "Ankle boot")) {
      probabilities.put(label, 0.2);
    }
    return codec.write(
        new Prediction(
            1, TASK, "s-000000000", "Coat", 0.2, probabilities, null, 2, "prototypes",
            "fmnist-base5-res-v3", 1.0, System.currentTimeMillis(), System.currentTimeMillis()));
  }

  /** Runs {@code variant} under {@code guarantee} on fresh topics and measures it. */
  Report run(String guarantee, Variant variant, SteadyLoad.Settings settings, PrintWriter out) {
    String prefix = "ceiling-" + variant.name().toLowerCase().replace('_', '-') + "-"
        + guarantee.replace('_', '-') + "-";
    String input = prefix + "queries";
    String output = prefix + "answers";
    createTopics(List.of(input, output));
    Map<String, Object> settingsMap = new HashMap<>(serviceSettings);
    settingsMap.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    settingsMap.put(StreamsConfig.APPLICATION_ID_CONFIG, prefix + "app");
    settingsMap.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.resolve(prefix + "state").toString());
    settingsMap.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
    settingsMap.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    // The service's Kafka settings, derived defaults (poll.ms) included.
    Properties props = new FewShotConfig(settingsMap).streamsProperties();
    Topology topology = build(variant, input, output, answer(), poolBytes(features), props);
    QueryValues values =
        new QueryValues(codec, TASK, "k", SampleImages.split(5).queries());
    String label = "kafka " + variant.flag + " " + guarantee;
    try (KafkaStreams streams = new KafkaStreams(topology, props)) {
      streams.start();
      awaitRunning(streams);
      try (KafkaProducer<String, byte[]> producer =
              Clients.producer(bootstrap, Map.of(ProducerConfig.LINGER_MS_CONFIG, 0));
          KafkaConsumer<String, byte[]> consumer =
              Clients.readCommittedConsumer(bootstrap, prefix + "reader")) {
        consumer.subscribe(List.of(output));
        SteadyLoad.Result r =
            SteadyLoad.run(
                producer,
                consumer,
                i -> new ProducerRecord<>(input, values.id(i), values.value(i)),
                rec -> values.index(rec.key()),
                settings,
                SteadyLoad.Span.NONE,
                out,
                label);
        return new Report(guarantee, variant, r);
      }
    }
  }

  private void createTopics(List<String> names) {
    Map<String, Object> conf = Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(conf)) {
      List<NewTopic> topics = new ArrayList<>();
      for (String name : names) {
        topics.add(new NewTopic(name, 1, (short) 1));
      }
      admin.createTopics(topics).all().get();
    } catch (ExecutionException e) {
      throw new FewShotException("cannot create the topics " + names + ": " + e.getCause(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FewShotException("interrupted while creating the topics " + names, e);
    }
  }

  private static void awaitRunning(KafkaStreams streams) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (streams.state() != KafkaStreams.State.RUNNING) {
      if (System.nanoTime() > deadline || !streams.state().isRunningOrRebalancing()) {
        throw new FewShotException(
            "expected the ceiling topology RUNNING within " + WAIT.toSeconds() + " s, found "
                + streams.state());
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new FewShotException("interrupted while starting the ceiling topology", e);
      }
    }
  }
}
