package io.fewshotstreams.broker;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * How to start an {@link EmbeddedKafkaBroker}.
 *
 * @param port the client port on localhost; 0 picks a free port
 * @param dataDir where the broker keeps its logs and metadata; null means a temporary directory that
 *     is deleted on close. An existing, formatted directory is reused with its data.
 * @param brokerProperties broker settings (server.properties keys) that override the single-node
 *     defaults
 */
public record BrokerOptions(int port, Path dataDir, Map<String, String> brokerProperties) {

  public BrokerOptions {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: expected 0 (any free port) to 65535, found " + port);
    }
    Objects.requireNonNull(brokerProperties, "brokerProperties");
    brokerProperties.forEach(
        (k, v) -> {
          if (k == null || v == null) {
            throw new IllegalArgumentException(
                "brokerProperties: expected non-null keys and values, found " + k + "=" + v);
          }
        });
    brokerProperties = Map.copyOf(brokerProperties);
  }

  /** Any free port, a temporary data directory, no extra properties. */
  public static BrokerOptions defaults() {
    return new BrokerOptions(0, null, Map.of());
  }

  public BrokerOptions withPort(int p) {
    return new BrokerOptions(p, dataDir, brokerProperties);
  }

  public BrokerOptions withDataDir(Path d) {
    return new BrokerOptions(port, d, brokerProperties);
  }

  public BrokerOptions withProperty(String key, String value) {
    Map<String, String> props = new LinkedHashMap<>(brokerProperties);
    props.put(key, value);
    return new BrokerOptions(port, dataDir, props);
  }
}
