package io.fewshotstreams;

import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The plain Kafka clients the integration tests use as a user's application would: a producer of
 * JSON events keyed by task, and a consumer that reads only committed records from the start.
 */
public final class TestClients {
  private TestClients() {}

  /** A producer of string keys and byte values, waiting for every replica. */
  public static KafkaProducer<String, byte[]> producer(String bootstrap) {
    return producer(bootstrap, Map.of());
  }

  /** As {@link #producer(String)}, with more settings (security, ...). */
  public static KafkaProducer<String, byte[]> producer(String bootstrap, Map<String, Object> more) {
    Map<String, Object> p = new HashMap<>(more);
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return new KafkaProducer<>(p);
  }

  /**
   * A consumer in a group of its own (named {@code groupPrefix} plus a random suffix) that reads
   * from the earliest offset and sees only committed records.
   */
  public static KafkaConsumer<String, byte[]> readCommittedConsumer(
      String bootstrap, String groupPrefix) {
    return readCommittedConsumer(bootstrap, groupPrefix, Map.of());
  }

  /** As {@link #readCommittedConsumer(String, String)}, with more settings. */
  public static KafkaConsumer<String, byte[]> readCommittedConsumer(
      String bootstrap, String groupPrefix, Map<String, Object> more) {
    Map<String, Object> c = new HashMap<>(more);
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, groupPrefix + UUID.randomUUID());
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    return new KafkaConsumer<>(c);
  }
}
