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
 * @param saslPlainUsers empty for a plaintext client listener; otherwise the client listener
 *     requires SASL/PLAIN authentication (SASL_PLAINTEXT) and accepts exactly these users, by
 *     password
 */
public record BrokerOptions(
    int port, Path dataDir, Map<String, String> brokerProperties, Map<String, String> saslPlainUsers) {

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
    Objects.requireNonNull(saslPlainUsers, "saslPlainUsers");
    saslPlainUsers.forEach(
        (user, password) -> {
          if (user == null || password == null || !user.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException(
                "saslPlainUsers: expected user names of letters, digits, '.', '_' or '-' with"
                    + " non-null passwords, found user " + user);
          }
          if (password.contains("\"") || password.contains("\\")) {
            throw new IllegalArgumentException(
                "saslPlainUsers: expected passwords without quotes or backslashes, found one for "
                    + user);
          }
        });
    saslPlainUsers = Map.copyOf(saslPlainUsers);
  }

  /** A plaintext client listener. */
  public BrokerOptions(int port, Path dataDir, Map<String, String> brokerProperties) {
    this(port, dataDir, brokerProperties, Map.of());
  }

  /** Any free port, a temporary data directory, no extra properties. */
  public static BrokerOptions defaults() {
    return new BrokerOptions(0, null, Map.of(), Map.of());
  }

  public BrokerOptions withPort(int p) {
    return new BrokerOptions(p, dataDir, brokerProperties, saslPlainUsers);
  }

  public BrokerOptions withDataDir(Path d) {
    return new BrokerOptions(port, d, brokerProperties, saslPlainUsers);
  }

  public BrokerOptions withProperty(String key, String value) {
    Map<String, String> props = new LinkedHashMap<>(brokerProperties);
    props.put(key, value);
    return new BrokerOptions(port, dataDir, props, saslPlainUsers);
  }

  /**
   * Requires SASL/PLAIN authentication on the client listener and accepts these users (name to
   * password). Clients then need {@code security.protocol=SASL_PLAINTEXT}, {@code
   * sasl.mechanism=PLAIN} and a {@code sasl.jaas.config} naming one of the users.
   */
  public BrokerOptions withSaslPlainUsers(Map<String, String> passwordsByUser) {
    if (passwordsByUser.isEmpty()) {
      throw new IllegalArgumentException("saslPlainUsers: expected at least one user, found none");
    }
    return new BrokerOptions(port, dataDir, brokerProperties, passwordsByUser);
  }

  /** The {@code sasl.jaas.config} value of a client that logs in with SASL/PLAIN. */
  public static String plainJaasConfig(String user, String password) {
    return "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
        + user
        + "\" password=\""
        + password
        + "\";";
  }
}
