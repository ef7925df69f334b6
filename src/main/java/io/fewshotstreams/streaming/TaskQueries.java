package io.fewshotstreams.streaming;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.streaming.learner.TaskState;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * Read-only queries over a running service's stores, for the HTTP API: the model snapshots of every
 * task (from the global store, present on every instance), the learner state of the tasks this
 * instance owns, and which instance owns a task. Kafka types stay behind this class.
 *
 * <p>Every query may throw {@link Unavailable} while the application starts, rebalances or restores
 * its stores; the caller should retry.
 */
public final class TaskQueries {
  private final KafkaStreams streams;

  public TaskQueries(KafkaStreams streams) {
    this.streams = Objects.requireNonNull(streams, "streams");
  }

  /**
   * The learner's bookkeeping of one task, on the instance that owns the task.
   *
   * @param supportChanges support changes ever applied to the task
   * @param poolAdds query embeddings ever added to the task's pool
   * @param poolCount pooled query embeddings held now
   * @param pendingFineTune whether the task's data changed since its last fine-tune, so the next
   *     round of fine-tuning will take it up
   */
  public record LearnerState(
      long supportChanges, long poolAdds, int poolCount, boolean pendingFineTune) {}

  /** A store cannot be queried now (starting, rebalancing or restoring); retry later. */
  public static final class Unavailable extends FewShotException {
    private static final long serialVersionUID = 1L;

    Unavailable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The running application, for the stage rooms' own queries (such as live accuracy). */
  public KafkaStreams streams() {
    return streams;
  }

  /** Name of the Kafka Streams state, e.g. {@code RUNNING} or {@code REBALANCING}. */
  public String state() {
    return streams.state().name();
  }

  /** Whether the application processes records: its state is {@code RUNNING}. */
  public boolean running() {
    return streams.state() == KafkaStreams.State.RUNNING;
  }

  /**
   * Whether the application is alive: running, rebalancing or not yet started; false once it failed
   * or is shutting down.
   */
  public boolean alive() {
    KafkaStreams.State state = streams.state();
    return state.isRunningOrRebalancing() || state == KafkaStreams.State.CREATED;
  }

  /** The latest snapshot of {@code task}, or empty when the task has none. */
  public Optional<ModelSnapshot> snapshot(String task) {
    Objects.requireNonNull(task, "task");
    try {
      return Optional.ofNullable(snapshotStore().get(task));
    } catch (InvalidStateStoreException e) {
      throw unavailable(e);
    }
  }

  /** The latest snapshot of every task, in task order. */
  public List<ModelSnapshot> snapshots() {
    List<ModelSnapshot> all = new ArrayList<>();
    try (KeyValueIterator<String, ModelSnapshot> it = snapshotStore().all()) {
      while (it.hasNext()) {
        KeyValue<String, ModelSnapshot> entry = it.next();
        if (entry.value != null) {
          all.add(entry.value);
        }
      }
    } catch (InvalidStateStoreException e) {
      throw unavailable(e);
    }
    return all;
  }

  /**
   * The learner state of {@code task} if this instance owns it (its active store holds the task);
   * empty when another instance owns it or the task was never seen.
   */
  public Optional<LearnerState> localLearner(String task) {
    Objects.requireNonNull(task, "task");
    try {
      ReadOnlyKeyValueStore<String, TaskState> tasks =
          streams.store(
              StoreQueryParameters.fromNameAndType(
                  StoreNames.TASKS, QueryableStoreTypes.<String, TaskState>keyValueStore()));
      TaskState state = tasks.get(task);
      if (state == null) {
        return Optional.empty();
      }
      return Optional.of(
          new LearnerState(
              state.supportChanges(),
              state.poolAdds(),
              state.poolCount(),
              state.needsFineTune()));
    } catch (InvalidStateStoreException e) {
      throw unavailable(e);
    }
  }

  /**
   * The {@code host:port} (Kafka Streams' {@code application.server}) of the instance that owns
   * {@code task}'s learner state; empty when unknown, e.g. when {@code application.server} is not
   * set.
   */
  public Optional<String> owner(String task) {
    Objects.requireNonNull(task, "task");
    KeyQueryMetadata metadata;
    try {
      metadata =
          streams.queryMetadataForKey(StoreNames.TASKS, task, new StringSerializer());
    } catch (InvalidStateStoreException e) {
      throw unavailable(e);
    }
    if (metadata == null || metadata.equals(KeyQueryMetadata.NOT_AVAILABLE)) {
      return Optional.empty();
    }
    HostInfo host = metadata.activeHost();
    if (host == null || host.equals(HostInfo.unavailable())) {
      return Optional.empty();
    }
    return Optional.of(host.host() + ":" + host.port());
  }

  private ReadOnlyKeyValueStore<String, ModelSnapshot> snapshotStore() {
    return streams.store(
        StoreQueryParameters.fromNameAndType(
            StoreNames.SNAPSHOTS,
            QueryableStoreTypes.<String, ModelSnapshot>keyValueStore()));
  }

  private Unavailable unavailable(InvalidStateStoreException e) {
    return new Unavailable(
        "expected queryable stores, found the application "
            + streams.state()
            + " (state is being restored or rebalanced); retry",
        e);
  }
}
