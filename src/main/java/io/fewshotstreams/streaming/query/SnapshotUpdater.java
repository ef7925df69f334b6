package io.fewshotstreams.streaming.query;

import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.streaming.StoreNames;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the global snapshot store of every instance in step with the models topic. It also runs
 * when the store is restored, so the store only ever holds snapshots that passed validation. The
 * telemetry's task, class and version gauges follow the store.
 */
public final class SnapshotUpdater implements Processor<String, byte[], Void, Void> {
  private static final Logger log = LoggerFactory.getLogger(SnapshotUpdater.class);

  private final EventCodec codec;
  private final Telemetry telemetry;
  private KeyValueStore<String, ModelSnapshot> store;

  public SnapshotUpdater(EventCodec codec, Telemetry telemetry) {
    this.codec = codec;
    this.telemetry = telemetry;
  }

  @Override
  public void init(ProcessorContext<Void, Void> context) {
    store = context.getStateStore(StoreNames.SNAPSHOTS);
    // A store restored from a local checkpoint is not replayed through process(): count it here.
    try (KeyValueIterator<String, ModelSnapshot> it = store.all()) {
      while (it.hasNext()) {
        telemetry.snapshotStored(it.next().value);
      }
    }
  }

  @Override
  public void process(Record<String, byte[]> record) {
    if (record.value() == null) {
      if (record.key() != null) {
        store.delete(record.key());
        telemetry.snapshotDeleted(record.key());
      }
      return;
    }
    ModelSnapshot snapshot;
    try {
      snapshot = codec.readSnapshot(record.value());
    } catch (RuntimeException e) {
      // The models topic is written by the service only; a foreign record is skipped, not fatal.
      log.warn("skipped a record of the models topic that is not a model snapshot: {}", e.getMessage());
      return;
    }
    store.put(snapshot.task(), snapshot);
    telemetry.snapshotStored(snapshot);
  }
}
