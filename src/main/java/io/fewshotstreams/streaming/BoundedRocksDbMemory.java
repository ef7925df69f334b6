package io.fewshotstreams.streaming;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.WriteBufferManager;

/**
 * Bounds the off-heap memory of every RocksDB store in the process, as Kafka Streams' memory
 * management guide describes: one LRU block cache of {@code fewshot.rocksdb.memory.bytes} that every
 * store shares, a write-buffer manager that charges the memtables (up to a quarter of it) to the
 * same cache, and index and filter blocks kept in it too. Without this each store of each task
 * gets its own 50 MB cache and memtables, so memory grows with the number of tasks an instance
 * owns. {@link FewShotConfig} installs it unless {@code rocksdb.config.setter} is set or the size
 * is 0.
 */
public final class BoundedRocksDbMemory implements RocksDBConfigSetter {
  /** The Kafka Streams setting the size arrives in (passed through by {@link FewShotConfig}). */
  public static final String BYTES_CONFIG = FewShotConfig.ROCKSDB_MEMORY_BYTES_CONFIG;

  /** Share of the cache the memtables may take. */
  static final double MEMTABLE_SHARE = 0.25;
  /** Share of the cache kept for index and filter blocks (high priority). */
  private static final double INDEX_FILTER_SHARE = 0.1;

  /** One cache and manager per size, shared by every store (and every instance) of the JVM. */
  private static final Map<Long, Shared> SHARED = new ConcurrentHashMap<>();

  static {
    RocksDB.loadLibrary(); // the cache may be made before any store has loaded it
  }

  /** The cache and manager of one size; never closed, since stores come and go all the time. */
  record Shared(Cache cache, WriteBufferManager writeBuffers) {
    static Shared of(long bytes) {
      Cache cache = new LRUCache(bytes, -1, false, INDEX_FILTER_SHARE);
      return new Shared(cache, new WriteBufferManager((long) (bytes * MEMTABLE_SHARE), cache));
    }
  }

  @Override
  public void setConfig(String storeName, Options options, Map<String, Object> configs) {
    Shared shared = shared(bytesOf(configs));
    BlockBasedTableConfig table = (BlockBasedTableConfig) options.tableFormatConfig();
    table.setBlockCache(shared.cache());
    table.setCacheIndexAndFilterBlocks(true);
    table.setCacheIndexAndFilterBlocksWithHighPriority(true);
    table.setPinTopLevelIndexAndFilter(true);
    options.setWriteBufferManager(shared.writeBuffers());
    options.setTableFormatConfig(table);
  }

  @Override
  public void close(String storeName, Options options) {
    // The cache and the manager are shared by every store; closing them here would break the rest.
  }

  /** The shared cache and manager for {@code bytes}. */
  static Shared shared(long bytes) {
    return SHARED.computeIfAbsent(bytes, Shared::of);
  }

  private static long bytesOf(Map<String, Object> configs) {
    Object value = configs.get(BYTES_CONFIG);
    if (value == null) {
      throw new IllegalStateException(
          "expected " + BYTES_CONFIG + " among the Kafka Streams settings, found none");
    }
    long bytes = value instanceof Number n ? n.longValue() : Long.parseLong(value.toString().trim());
    if (bytes <= 0) {
      throw new IllegalStateException(
          "expected " + BYTES_CONFIG + " above 0 with this setter, found " + bytes);
    }
    return bytes;
  }
}
