package io.fewshotstreams.streaming.feedback;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.TaskQueries;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * Read-only queries of the live accuracy, for the HTTP API: a task's accuracy on the instance that
 * owns it, and which instance that is. Kafka types stay behind this class.
 */
public final class FeedbackQueries {
  private final KafkaStreams streams;
  private final int windowSize;

  /** The store cannot be queried now (starting, rebalancing or restoring); retry later. */
  public static final class Unavailable extends FewShotException {
    private static final long serialVersionUID = 1L;

    Unavailable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  public FeedbackQueries(TaskQueries queries, FewShotConfig config) {
    this.streams = Objects.requireNonNull(queries, "queries").streams();
    this.windowSize = config.feedbackSettings().windowOutcomes();
  }

  /**
   * The live accuracy of {@code task} as a JSON-ready map (see docs/feedback.md) if this instance
   * owns it and it has outcomes; empty otherwise.
   *
   * @throws Unavailable while the store cannot be queried
   */
  public Optional<Map<String, Object>> localAccuracy(String task) {
    Objects.requireNonNull(task, "task");
    try {
      ReadOnlyKeyValueStore<String, LiveAccuracy> store =
          streams.store(
              StoreQueryParameters.fromNameAndType(
                  FeedbackStores.ACCURACY,
                  QueryableStoreTypes.<String, LiveAccuracy>keyValueStore()));
      LiveAccuracy live = store.get(task);
      return live == null ? Optional.empty() : Optional.of(live.view(task, windowSize));
    } catch (InvalidStateStoreException e) {
      throw new Unavailable(
          "expected the live accuracy store, found the application " + streams.state() + "; retry",
          e);
    }
  }

  /** The {@code host:port} of the instance that owns {@code task}'s live accuracy, if known. */
  public Optional<String> owner(String task) {
    Objects.requireNonNull(task, "task");
    KeyQueryMetadata metadata;
    try {
      metadata = streams.queryMetadataForKey(FeedbackStores.ACCURACY, task, new StringSerializer());
    } catch (InvalidStateStoreException e) {
      throw new Unavailable(
          "expected stream metadata, found the application " + streams.state(), e);
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
}
