package io.fewshotstreams.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaBrokerIT {
  /** Generous for a loaded 2-core machine; a healthy broker answers in well under a second. */
  private static final Duration POLL_TIMEOUT = Duration.ofSeconds(20);

  private static EmbeddedKafkaBroker shared;

  @BeforeAll
  static void startSharedBroker() {
    shared = timedStart(BrokerOptions.defaults());
  }

  @AfterAll
  static void stopSharedBroker() {
    if (shared != null) {
      shared.close();
    }
  }

  @Test
  void shouldDeliverAProducedRecordToAConsumer() {
    String topic = "plain-" + UUID.randomUUID();
    shared.createTopics(Map.of(topic, 1), Map.of());

    try (KafkaProducer<String, String> producer = producer(shared, Map.of())) {
      producer.send(new ProducerRecord<>(topic, "task-1", "hello")).get();
    } catch (Exception e) {
      throw new AssertionError(e);
    }

    assertThat(shared.bootstrapServers()).matches("localhost:\\d+");
    assertThat(consumeAll(shared, topic, "read_uncommitted", 1)).containsExactly("hello");
  }

  @Test
  void shouldShowACommittedTransactionToAReadCommittedConsumer() {
    String topic = "txn-" + UUID.randomUUID();
    shared.createTopics(Map.of(topic, 1), Map.of());

    try (KafkaProducer<String, String> producer =
        producer(shared, Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "txn-" + topic))) {
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(topic, "task-1", "aborted"));
      producer.abortTransaction();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(topic, "task-1", "committed"));
      producer.commitTransaction();
    }

    // The aborted record is in the log but a read_committed consumer (what exactly_once_v2 uses)
    // must skip it and see only the committed one.
    assertThat(consumeAll(shared, topic, "read_committed", 1)).containsExactly("committed");
  }

  @Test
  void shouldKeepATopicsRecordsWhenRestartedOnTheSameDataDir(@TempDir Path dataDir) {
    String topic = "kept";
    int port;
    try (EmbeddedKafkaBroker first = timedStart(BrokerOptions.defaults().withDataDir(dataDir))) {
      port = Integer.parseInt(first.bootstrapServers().substring("localhost:".length()));
      first.createTopics(Map.of(topic, 2), Map.of("cleanup.policy", "compact"));
      try (KafkaProducer<String, String> producer = producer(first, Map.of())) {
        producer.send(new ProducerRecord<>(topic, "task-1", "before restart")).get();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }
    assertThat(dataDir).isDirectory();

    try (EmbeddedKafkaBroker second =
        timedStart(BrokerOptions.defaults().withDataDir(dataDir).withPort(port))) {
      assertThat(second.bootstrapServers()).isEqualTo("localhost:" + port);
      assertThat(consumeAll(second, topic, "read_uncommitted", 1))
          .containsExactly("before restart");
    }
  }

  @Test
  void shouldRunTwoBrokersAtOnceOnDifferentPorts() {
    try (EmbeddedKafkaBroker other = timedStart(BrokerOptions.defaults())) {
      assertThat(other.bootstrapServers()).isNotEqualTo(shared.bootstrapServers());
      assertThat(other.dataDir()).isNotEqualTo(shared.dataDir());
      other.createTopics(Map.of("only-on-other", 1), Map.of());
      try (KafkaProducer<String, String> producer = producer(other, Map.of())) {
        producer.send(new ProducerRecord<>("only-on-other", "k", "v")).get();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
      assertThat(consumeAll(other, "only-on-other", "read_uncommitted", 1)).containsExactly("v");
    }
  }

  @Test
  void shouldDeleteATemporaryDataDirOnClose() {
    EmbeddedKafkaBroker broker = timedStart(BrokerOptions.defaults());
    Path dir = broker.dataDir();
    broker.close();

    assertThat(dir).doesNotExist();
  }

  @Test
  void shouldRefuseAPortInUse() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int port = taken.getLocalPort();

      assertThatThrownBy(() -> EmbeddedKafkaBroker.start(BrokerOptions.defaults().withPort(port)))
          .isInstanceOf(BrokerException.class)
          .hasMessageContaining("port " + port)
          .hasMessageContaining("in use");
    }
  }

  @Test
  void shouldRefuseADataDirThatIsAFile(@TempDir Path tmp) throws IOException {
    Path file = Files.writeString(tmp.resolve("not-a-dir"), "x");

    assertThatThrownBy(() -> EmbeddedKafkaBroker.start(BrokerOptions.defaults().withDataDir(file)))
        .isInstanceOf(BrokerException.class)
        .hasMessageContaining("expected a directory, found a file");
  }

  private static EmbeddedKafkaBroker timedStart(BrokerOptions options) {
    long start = System.nanoTime();
    EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(options);
    System.out.printf(
        "EmbeddedKafkaBroker.start took %d ms (%s)%n",
        Duration.ofNanos(System.nanoTime() - start).toMillis(), broker.bootstrapServers());
    return broker;
  }

  private static KafkaProducer<String, String> producer(
      EmbeddedKafkaBroker broker, Map<String, Object> extra) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.putAll(extra);
    return new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
  }

  /** Reads the topic from the beginning until {@code expected} records arrived or time ran out. */
  private static List<String> consumeAll(
      EmbeddedKafkaBroker broker, String topic, String isolation, int expected) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    props.put(ConsumerConfig.GROUP_ID_CONFIG, "reader-" + UUID.randomUUID());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + POLL_TIMEOUT.toNanos();
      while (values.size() < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
          values.add(record.value());
        }
      }
    }
    return values;
  }
}
