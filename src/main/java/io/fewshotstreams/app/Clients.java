package io.fewshotstreams.app;

import io.fewshotstreams.FewShotException;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** The plain Kafka clients the commands use to publish events and to read the service's output. */
final class Clients {
  private Clients() {}

  /**
   * A Kafka client properties file, as Kafka's own tools read with {@code --command-config} or
   * {@code --producer.config}: security settings and passwords, kept off the command line (where
   * {@code ps} and the shell history would show them).
   *
   * @throws FewShotException if the file cannot be read, or holds a {@code fewshot.*} key, which
   *     belongs in the service's settings, not in a client file
   */
  static Map<String, String> readClientConfig(Path file) {
    Properties properties = new Properties();
    try (Reader reader = Files.newBufferedReader(file)) {
      properties.load(reader);
    } catch (IOException e) {
      throw new FewShotException(
          "cannot read the client config file " + file + ": " + e.getMessage(), e);
    }
    Map<String, String> config = new LinkedHashMap<>();
    for (String key : properties.stringPropertyNames()) {
      if (key.startsWith("fewshot.")) {
        throw new FewShotException(
            "client config file " + file + ": expected Kafka client properties only, found the"
                + " service setting " + key + " (put it in --config or -p)");
      }
      config.put(key, properties.getProperty(key));
    }
    return config;
  }

  /** A producer of JSON events keyed by task, waiting for every replica; {@code more} wins. */
  static KafkaProducer<String, byte[]> producer(String bootstrap, Map<String, Object> more) {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.putAll(more);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return new KafkaProducer<>(p);
  }

  /** A consumer in group {@code group} that reads from the start and sees only committed records. */
  static KafkaConsumer<String, byte[]> readCommittedConsumer(String bootstrap, String group) {
    Map<String, Object> c = new HashMap<>();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    return new KafkaConsumer<>(c);
  }
}
