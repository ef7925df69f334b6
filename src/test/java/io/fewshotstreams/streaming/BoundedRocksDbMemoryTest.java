package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RocksDB's off-heap memory is bounded by default: the settings install {@link
 * BoundedRocksDbMemory}, and real RocksDB stores then charge their memtables to the one shared
 * cache. Catches issue 16's unbounded RocksDB (every store with its own cache and memtables).
 */
class BoundedRocksDbMemoryTest {
  /** A size no other test uses, so that the shared cache of this size is this test's alone. */
  private static final long BYTES = 16L * 1024 * 1024 + 4096;

  @TempDir Path stateDir;

  @Test
  void shouldInstallTheBoundByDefaultAndLeaveItOutAtZero() {
    Map<String, Object> settings = Map.of("bootstrap.servers", "k:9092");
    assertThat(new FewShotConfig(settings).streamsProperties())
        .containsEntry(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDbMemory.class)
        .containsEntry(BoundedRocksDbMemory.BYTES_CONFIG, 128L * 1024 * 1024);
    Map<String, Object> off = new HashMap<>(settings);
    off.put(FewShotConfig.ROCKSDB_MEMORY_BYTES_CONFIG, 0L);
    assertThat(new FewShotConfig(off).streamsProperties())
        .doesNotContainKey(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG);
    Map<String, Object> own = new HashMap<>(settings);
    own.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, "com.example.Mine");
    assertThat(new FewShotConfig(own).streamsProperties())
        .as("a setter of the user's own is kept")
        .containsEntry(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, "com.example.Mine");
  }

  @Test
  void shouldChargeEveryStoresMemtablesToTheOneSharedCache() {
    Map<String, Object> settings = new HashMap<>();
    settings.put(StreamsConfig.APPLICATION_ID_CONFIG, "rocksdb-bound-test");
    settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    settings.put(FewShotConfig.ROCKSDB_MEMORY_BYTES_CONFIG, BYTES);
    FewShotConfig config = new FewShotConfig(settings);
    assertThat(BoundedRocksDbMemory.shared(BYTES).cache().getUsage())
        .as("nothing charged before a store opens")
        .isZero();

    StreamsBuilder builder = new StreamsBuilder();
    for (String store : new String[] {"first", "second"}) {
      builder.addStateStore(
          Stores.keyValueStoreBuilder(
                  Stores.persistentKeyValueStore(store), Serdes.String(), Serdes.String())
              .withLoggingDisabled());
    }
    builder
        .stream("in", Consumed.with(Serdes.String(), Serdes.String()))
        .process(Writer::new, "first", "second");
    try (TopologyTestDriver driver =
        new TopologyTestDriver(builder.build(), config.streamsProperties())) {
      TestInputTopic<String, String> in =
          driver.createInputTopic("in", new StringSerializer(), new StringSerializer());
      String value = "x".repeat(1024);
      for (int i = 0; i < 2_000; i++) { // 2 MB per store: more than one memtable arena block
        in.pipeInput("k" + i, value);
      }
      long usage = BoundedRocksDbMemory.shared(BYTES).cache().getUsage();
      assertThat(usage).as("memtables charged to the shared cache").isGreaterThan(0);
      assertThat(usage)
          .as("within the bound, with the slack of one memtable reservation (1 MiB)")
          .isLessThanOrEqualTo(BYTES + 1024 * 1024);
    }
  }

  /** Writes every record into both stores. */
  private static final class Writer implements Processor<String, String, Void, Void> {
    private KeyValueStore<String, String> first;
    private KeyValueStore<String, String> second;

    @Override
    public void init(ProcessorContext<Void, Void> context) {
      first = context.getStateStore("first");
      second = context.getStateStore("second");
    }

    @Override
    public void process(Record<String, String> record) {
      first.put(record.key(), record.value());
      second.put(record.key(), record.value());
    }
  }
}
