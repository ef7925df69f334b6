package io.fewshotstreams.broker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.lang.reflect.InvocationTargetException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import kafka.server.Server;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single-node Kafka broker in KRaft combined mode (broker and controller in one process) running
 * inside this JVM. Clients connect over plaintext to {@link #bootstrapServers()}, or with SASL/PLAIN
 * authentication when {@link BrokerOptions#withSaslPlainUsers} says so; the controller listens over
 * plaintext on a second free port of localhost. Internal topics (consumer offsets, transaction state,
 * share-group state) use replication factor 1 and min ISR 1, so transactions and exactly-once Kafka
 * Streams work; automatic topic creation is off.
 *
 * <p>Not thread-safe for concurrent {@link #close()} calls from several threads; one owner closes it.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);

  /** How long {@link #start} waits for the broker to accept clients. */
  static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  /** How long {@link #createTopics} waits for the controller to create the topics. */
  private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(30);

  private static final int NODE_ID = 1;
  private static final String CLIENT_LISTENER = "PLAINTEXT";
  private static final String SASL_CLIENT_LISTENER = "SASL_PLAINTEXT";
  /** The user the broker authenticates as to itself, and its own admin client with. */
  private static final String INTERNAL_USER = "embedded-broker";
  private static final String CONTROLLER_LISTENER = "CONTROLLER";
  private static final String HOST = "localhost";

  /** The file a formatted Kafka log directory holds (cluster id, node id, directory id). */
  private static final String META_PROPERTIES = "meta.properties";

  private final Server server;
  private final String bootstrapServers;
  private final Path dataDir;
  private final boolean temporaryDataDir;
  private final Map<String, Object> internalClientSecurity;
  private boolean closed;

  private EmbeddedKafkaBroker(
      Server server,
      String bootstrapServers,
      Path dataDir,
      boolean temporaryDataDir,
      Map<String, Object> internalClientSecurity) {
    this.server = server;
    this.bootstrapServers = bootstrapServers;
    this.dataDir = dataDir;
    this.temporaryDataDir = temporaryDataDir;
    this.internalClientSecurity = internalClientSecurity;
  }

  /**
   * Starts a broker; returns once it accepts clients (metadata ready, a client can create topics).
   * Formats the data directory first unless it already holds a broker's {@code meta.properties}, so a
   * broker restarted on the same directory keeps its topics and records.
   *
   * @throws BrokerException if the port is taken, the data directory is unusable, or the broker is
   *     not ready within 60 s
   */
  public static EmbeddedKafkaBroker start(BrokerOptions options) {
    if (!isAvailable()) {
      throw new BrokerException(
          "the in-process Kafka broker: expected kafka_2.13 and its dependencies on the class path,"
              + " found none; this is the broker-free production build (target/fewshot-streams-slim),"
              + " which runs against an existing cluster (`run --bootstrap-servers HOST:PORT`);"
              + " `demo` and `bench end-to-end` need the full build, target/fewshot-streams.jar");
    }
    long startNanos = System.nanoTime();
    boolean temporary = options.dataDir() == null;
    Path dir = temporary ? createTempDir() : prepareDataDir(options.dataDir());
    Server server = null;
    try {
      if (options.saslPlainUsers().containsKey(INTERNAL_USER)) {
        throw new BrokerException(
            "saslPlainUsers: expected user names other than the broker's own '" + INTERNAL_USER
                + "', found it among " + options.saslPlainUsers().keySet());
      }
      int clientPort = options.port() == 0 ? freePort() : requireFreePort(options.port());
      int controllerPort = freePort();
      // A fresh password on every start: the broker's own identity is never handed out.
      String internalPassword = Uuid.randomUuid().toString();
      Map<String, Object> internalSecurity =
          options.saslPlainUsers().isEmpty()
              ? Map.of()
              : Map.of(
                  "security.protocol", "SASL_PLAINTEXT",
                  "sasl.mechanism", "PLAIN",
                  "sasl.jaas.config",
                  BrokerOptions.plainJaasConfig(INTERNAL_USER, internalPassword));
      Map<String, String> props =
          properties(dir, clientPort, controllerPort, options.brokerProperties());
      if (!options.saslPlainUsers().isEmpty()) {
        props.putAll(
            saslProperties(
                clientPort, controllerPort, options.saslPlainUsers(), internalPassword));
        props.putAll(options.brokerProperties());
      }
      if (!Files.exists(dir.resolve(META_PROPERTIES))) {
        format(props, dir);
      }
      server = newServer(props);
      server.startup();
      String bootstrap = HOST + ":" + clientPort;
      awaitClients(bootstrap, internalSecurity, startNanos);
      LOG.info(
          "Kafka broker on {} (data in {}) started in {} ms",
          bootstrap,
          dir,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
      return new EmbeddedKafkaBroker(server, bootstrap, dir, temporary, internalSecurity);
    } catch (RuntimeException e) {
      stopQuietly(server);
      if (temporary) {
        deleteQuietly(dir);
      }
      if (e instanceof BrokerException be) {
        throw be;
      }
      throw new BrokerException(
          "Kafka broker on " + HOST + ":" + options.port() + " with data dir " + dir
              + ": expected it to start, found: " + e.getMessage(),
          e);
    }
  }

  /** The address clients use, {@code localhost:PORT}. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** The directory holding the broker's logs and metadata. */
  public Path dataDir() {
    return dataDir;
  }

  /**
   * Creates the topics that do not exist yet, each with the given partition count, replication factor
   * 1 and the given topic configs. Topics that exist are left as they are.
   *
   * @throws BrokerException if a topic cannot be created within 30 s
   */
  public void createTopics(Map<String, Integer> partitionsByTopic, Map<String, String> topicConfigs) {
    try (Admin admin = admin(bootstrapServers, internalClientSecurity)) {
      Set<String> existing =
          admin.listTopics().names().get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      List<NewTopic> missing =
          partitionsByTopic.entrySet().stream()
              .filter(e -> !existing.contains(e.getKey()))
              .map(e -> new NewTopic(e.getKey(), e.getValue(), (short) 1).configs(topicConfigs))
              .toList();
      for (var entry : admin.createTopics(missing).values().entrySet()) {
        try {
          entry.getValue().get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw new BrokerException(
                "topic " + entry.getKey() + ": expected it to be created on " + bootstrapServers
                    + ", found: " + e.getCause().getMessage(),
                e.getCause());
          }
        }
      }
    } catch (ExecutionException | TimeoutException e) {
      throw new BrokerException(
          "topics " + partitionsByTopic.keySet() + ": expected them created on " + bootstrapServers
              + " within " + ADMIN_TIMEOUT.toSeconds() + " s, found: " + e,
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrokerException("interrupted while creating topics " + partitionsByTopic.keySet(), e);
    }
  }

  /** Shuts the broker down and waits for it; deletes the data directory if it was temporary. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    stopQuietly(server);
    if (temporaryDataDir) {
      deleteQuietly(dataDir);
    }
  }

  private static Map<String, String> properties(
      Path dir, int clientPort, int controllerPort, Map<String, String> overrides) {
    Map<String, String> props = new HashMap<>();
    props.put("process.roles", "broker,controller");
    props.put("node.id", Integer.toString(NODE_ID));
    props.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
    props.put(
        "listeners",
        CLIENT_LISTENER + "://" + HOST + ":" + clientPort + ","
            + CONTROLLER_LISTENER + "://" + HOST + ":" + controllerPort);
    props.put("advertised.listeners", CLIENT_LISTENER + "://" + HOST + ":" + clientPort);
    props.put(
        "listener.security.protocol.map",
        CLIENT_LISTENER + ":PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
    props.put("controller.listener.names", CONTROLLER_LISTENER);
    props.put("inter.broker.listener.name", CLIENT_LISTENER);
    props.put("log.dirs", dir.toString());
    props.put("metadata.log.dir", dir.toString());
    // One node: every internal topic must live with a single replica, or transactions, consumer
    // groups and share groups wait forever for replicas that never come.
    props.put("offsets.topic.replication.factor", "1");
    props.put("transaction.state.log.replication.factor", "1");
    props.put("transaction.state.log.min.isr", "1");
    props.put("share.coordinator.state.topic.replication.factor", "1");
    props.put("share.coordinator.state.topic.min.isr", "1");
    props.put("default.replication.factor", "1");
    // Fewer internal partitions than a production cluster's 50: they are created on first use and
    // each costs files and start-up time, which a one-node broker gains nothing from.
    props.put("offsets.topic.num.partitions", "5");
    props.put("transaction.state.log.num.partitions", "5");
    props.put("share.coordinator.state.topic.num.partitions", "5");
    props.put("group.initial.rebalance.delay.ms", "0");
    props.put("auto.create.topics.enable", "false");
    // The log cleaner's default 128 MiB dedupe buffer is sized for production; 2 MiB serves the
    // compacted topics of a demo and a test run.
    props.put("log.cleaner.dedupe.buffer.size", Integer.toString(2 * 1024 * 1024));
    props.put("server.max.startup.time.ms", Long.toString(START_TIMEOUT.toMillis()));
    props.putAll(overrides);
    return props;
  }

  /**
   * The client listener with SASL/PLAIN in place of plaintext; the broker reaches itself over it as
   * {@link #INTERNAL_USER}. The controller listener stays plaintext: it is bound to localhost and
   * only the broker's own raft client talks to it.
   */
  private static Map<String, String> saslProperties(
      int clientPort, int controllerPort, Map<String, String> users, String internalPassword) {
    Map<String, String> props = new HashMap<>();
    props.put(
        "listeners",
        SASL_CLIENT_LISTENER + "://" + HOST + ":" + clientPort + ","
            + CONTROLLER_LISTENER + "://" + HOST + ":" + controllerPort);
    props.put("advertised.listeners", SASL_CLIENT_LISTENER + "://" + HOST + ":" + clientPort);
    props.put(
        "listener.security.protocol.map",
        SASL_CLIENT_LISTENER + ":SASL_PLAINTEXT," + CONTROLLER_LISTENER + ":PLAINTEXT");
    props.put("inter.broker.listener.name", SASL_CLIENT_LISTENER);
    props.put("sasl.enabled.mechanisms", "PLAIN");
    props.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
    StringBuilder jaas =
        new StringBuilder("org.apache.kafka.common.security.plain.PlainLoginModule required")
            .append(" username=\"").append(INTERNAL_USER).append('"')
            .append(" password=\"").append(internalPassword).append('"')
            .append(" user_").append(INTERNAL_USER)
            .append("=\"").append(internalPassword).append('"');
    users.forEach(
        (user, password) ->
            jaas.append(" user_").append(user).append("=\"").append(password).append('"'));
    jaas.append(';');
    props.put(
        "listener.name." + SASL_CLIENT_LISTENER.toLowerCase(Locale.ROOT)
            + ".plain.sasl.jaas.config",
        jaas.toString());
    return props;
  }

  /**
   * Formats {@code dir} the way {@code kafka-storage.sh format} does: a new cluster id, the latest
   * production metadata version, a static single-voter quorum.
   */
  private static void format(Map<String, String> props, Path dir) {
    Path configFile = null;
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    try {
      configFile = Files.createTempFile("fewshot-kafka-format-", ".properties");
      Properties properties = new Properties();
      properties.putAll(props);
      try (Writer writer = Files.newBufferedWriter(configFile, StandardCharsets.UTF_8)) {
        properties.store(writer, "format of the embedded broker's data dir");
      }
      String[] args = {
        "format", "--config", configFile.toString(), "--cluster-id", Uuid.randomUuid().toString()
      };
      int exitCode;
      try (PrintStream out = new PrintStream(output, true, StandardCharsets.UTF_8)) {
        exitCode = StorageTool.execute(args, out);
      }
      if (exitCode != 0) {
        throw new BrokerException(
            "data dir " + dir + ": expected to format it for a new broker, found exit code "
                + exitCode + ": " + output.toString(StandardCharsets.UTF_8).strip());
      }
    } catch (IOException e) {
      throw new BrokerException(
          "data dir " + dir + ": expected to format it for a new broker, found: " + e, e);
    } finally {
      if (configFile != null) {
        deleteQuietly(configFile);
      }
    }
  }

  /**
   * Whether the broker's classes are on the class path: true for target/fewshot-streams.jar, false
   * for the broker-free production build.
   */
  public static boolean isAvailable() {
    try {
      Class.forName(
          "kafka.server.KafkaRaftServer", false, EmbeddedKafkaBroker.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  /**
   * {@code new KafkaRaftServer(new KafkaConfig(props, false), Time.SYSTEM)}, through reflection:
   * KafkaConfig's superclass lives in kafka-server, which kafka_2.13 puts on the runtime class path
   * only, so Java code cannot name KafkaConfig at compile time.
   */
  private static Server newServer(Map<String, String> props) {
    try {
      Class<?> configClass = Class.forName("kafka.server.KafkaConfig");
      Object config = configClass.getConstructor(Map.class, boolean.class).newInstance(props, false);
      return (Server)
          Class.forName("kafka.server.KafkaRaftServer")
              .getConstructor(configClass, Time.class)
              .newInstance(config, Time.SYSTEM);
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      throw new BrokerException(
          "broker properties: expected a valid Kafka configuration, found: " + cause.getMessage(),
          cause);
    } catch (ReflectiveOperationException e) {
      throw new BrokerException(
          "Kafka broker classes: expected kafka_2.13 with KafkaConfig and KafkaRaftServer on the"
              + " class path, found: " + e,
          e);
    }
  }

  private static void awaitClients(
      String bootstrap, Map<String, Object> security, long startNanos) {
    long deadline = startNanos + START_TIMEOUT.toNanos();
    try (Admin admin = admin(bootstrap, security)) {
      while (true) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new BrokerException(
              "Kafka broker on " + bootstrap + ": expected it to accept clients within "
                  + START_TIMEOUT.toSeconds() + " s, found it still not ready");
        }
        try {
          if (!admin.describeCluster().nodes().get(left, TimeUnit.NANOSECONDS).isEmpty()) {
            return;
          }
        } catch (ExecutionException | TimeoutException e) {
          LOG.debug("broker on {} not ready yet: {}", bootstrap, e.toString());
        }
        Thread.sleep(50);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrokerException("interrupted while waiting for the Kafka broker on " + bootstrap, e);
    }
  }

  private static Admin admin(String bootstrap, Map<String, Object> security) {
    Map<String, Object> config = new HashMap<>(security);
    config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    config.put(AdminClientConfig.CLIENT_ID_CONFIG, "fewshot-embedded-broker-admin");
    config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) ADMIN_TIMEOUT.toMillis());
    return Admin.create(config);
  }

  private static Path createTempDir() {
    try {
      return Files.createTempDirectory("fewshot-kafka-");
    } catch (IOException e) {
      throw new BrokerException(
          "temporary data dir: expected to create one, found: " + e.getMessage(), e);
    }
  }

  /** Accepts an absent or empty directory, or one a broker formatted before; nothing else. */
  private static Path prepareDataDir(Path dir) {
    if (Files.exists(dir) && !Files.isDirectory(dir)) {
      throw new BrokerException("data dir " + dir + ": expected a directory, found a file");
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new BrokerException(
          "data dir " + dir + ": expected a directory that can be created, found: " + e, e);
    }
    if (!Files.isWritable(dir)) {
      throw new BrokerException("data dir " + dir + ": expected a writable directory, found it read-only");
    }
    if (!Files.exists(dir.resolve(META_PROPERTIES))) {
      try (Stream<Path> entries = Files.list(dir)) {
        long count = entries.count();
        if (count > 0) {
          throw new BrokerException(
              "data dir " + dir + ": expected an empty directory or one a broker formatted before"
                  + " (with " + META_PROPERTIES + "), found " + count
                  + " other entries");
        }
      } catch (IOException e) {
        throw new BrokerException("data dir " + dir + ": expected to list it, found: " + e, e);
      }
    }
    return dir;
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new BrokerException("expected a free port on localhost, found none: " + e, e);
    }
  }

  private static int requireFreePort(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return port;
    } catch (IOException e) {
      throw new BrokerException(
          "port " + port + ": expected a free port on localhost for the Kafka broker, found it in use ("
              + e.getMessage() + ")",
          e);
    }
  }

  private static void stopQuietly(Server server) {
    if (server == null) {
      return;
    }
    try {
      server.shutdown();
      server.awaitShutdown();
    } catch (RuntimeException e) {
      LOG.warn("Kafka broker did not shut down cleanly: {}", e.toString());
    }
  }

  private static void deleteQuietly(Path dir) {
    try {
      Utils.delete(dir.toFile());
    } catch (IOException e) {
      LOG.warn("could not delete the broker's temporary data dir {}: {}", dir, e.toString());
    }
  }
}
