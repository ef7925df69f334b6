package io.fewshotstreams.app;

import io.fewshotstreams.dataset.DatasetException;
import io.fewshotstreams.events.EventCodec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code produce}: publishes a folder of images as support or query events. */
@Command(
    name = "produce",
    mixinStandardHelpOptions = true,
    description = {
      "Publishes the PNG and JPEG images of a folder as support or query events of one task.",
      "support: FOLDER/<label>/<image>, one add-example event per image, exampleId <label>/<file>.",
      "query: every image under FOLDER, one query event each, queryId its relative path.",
      "Records are keyed by task, so a task's events keep their order."
    })
final class ProduceCommand implements Callable<Integer> {
  static final String DEFAULT_SUPPORT_TOPIC = "fewshot-support";
  static final String DEFAULT_QUERY_TOPIC = "fewshot-queries";

  /**
   * How long an unreachable broker or a refused topic may hold a send: metadata wait
   * (max.block.ms) and delivery (delivery.timeout.ms, which must be at least linger.ms plus
   * request.timeout.ms), so the command fails in about this time instead of retrying forever.
   */
  static final Duration TIMEOUT = Duration.ofSeconds(30);

  /** What the images become. */
  enum Kind {
    SUPPORT,
    QUERY;

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--bootstrap-servers",
      required = true,
      paramLabel = "HOST:PORT",
      description = "Kafka bootstrap servers, comma-separated.")
  String bootstrapServers;

  @Option(names = "--task", required = true, paramLabel = "TASK", description = "Task of every event.")
  String task;

  @Option(
      names = "--as",
      required = true,
      paramLabel = "support|query",
      converter = KindConverter.class,
      description = "Publish the images as support examples or as queries.")
  Kind kind;

  @Option(
      names = "--topic",
      paramLabel = "NAME",
      description = "Topic (default: " + DEFAULT_SUPPORT_TOPIC + " or " + DEFAULT_QUERY_TOPIC + ").")
  String topic;

  @Option(
      names = {"--producer.config", "--command-config"},
      paramLabel = "FILE",
      description =
          "Kafka producer properties file (security.protocol, sasl.jaas.config, ssl.*), so that"
              + " passwords stay off the command line; --producer-property wins over it.")
  Path producerConfigFile;

  @Option(
      names = "--schema-id",
      paramLabel = "ID",
      description =
          "Write each value in the Schema Registry wire format with this schema id (0x00, the id"
              + " in 4 bytes, the JSON); default: plain JSON.")
  Integer schemaId;

  @Option(
      names = "--producer-property",
      paramLabel = "KEY=VALUE",
      description =
          "Kafka producer property, repeatable (security settings, max.request.size, ...); "
              + "overrides this command's defaults.")
  Map<String, String> producerProperties = new LinkedHashMap<>();

  @Parameters(index = "0", paramLabel = "FOLDER", description = "Folder of images.")
  Path folder;

  @Override
  public Integer call() {
    if (task.isBlank()) {
      throw new DatasetException("--task must not be blank");
    }
    if (schemaId != null && schemaId < 0) {
      throw new DatasetException("--schema-id: expected an id >= 0, found " + schemaId);
    }
    // read before the folder, so that a missing client file fails before any work
    Map<String, Object> producerConfig = producerConfig();
    String target = topic();
    PrintWriter err = spec.commandLine().getErr();
    List<FolderEvents.ImageFile> files =
        kind == Kind.SUPPORT
            ? FolderEvents.listSupport(folder, w -> err.println("warning: " + w))
            : FolderEvents.listQueries(folder);
    EventCodec codec = new EventCodec();
    AtomicReference<Exception> failure = new AtomicReference<>();
    int published;
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerConfig)) {
      published =
          publish(files, event -> {
            // a failed send (say, no broker within max.block.ms) stops the rest at once
            Exception earlier = failure.get();
            if (earlier != null) {
              throw new PublishException(sendFailed(target) + ": " + earlier.getMessage(), earlier);
            }
            // keyed by task: a task's events land on one partition, in order
            producer.send(
                new ProducerRecord<>(target, task, value(codec.write(event))),
                (metadata, e) -> {
                  if (e != null) {
                    failure.compareAndSet(null, e);
                  }
                });
          }, w -> err.println("warning: " + w));
      producer.flush();
    } catch (KafkaException e) {
      throw new PublishException(sendFailed(target) + ": " + e.getMessage(), e);
    }
    if (failure.get() != null) {
      throw new PublishException(
          sendFailed(target) + ": " + failure.get().getMessage(), failure.get());
    }
    if (published == 0) {
      throw new DatasetException("no PNG or JPEG images in " + folder);
    }
    spec.commandLine()
        .getOut()
        .printf("published %d %s events for task '%s' to %s%n", published, kind, task, target);
    spec.commandLine().getOut().flush();
    return 0;
  }

  private int publish(
      List<FolderEvents.ImageFile> files,
      Consumer<Object> sink,
      Consumer<String> warnings) {
    return kind == Kind.SUPPORT
        ? FolderEvents.supportEvents(files, task, sink::accept, warnings)
        : FolderEvents.queryEvents(files, task, sink::accept, warnings);
  }

  private byte[] value(byte[] json) {
    return schemaId == null ? json : EventCodec.frame(json, schemaId);
  }

  private String sendFailed(String target) {
    return "cannot publish to " + target + " at " + bootstrapServers;
  }

  String topic() {
    if (topic != null) {
      return topic;
    }
    return kind == Kind.SUPPORT ? DEFAULT_SUPPORT_TOPIC : DEFAULT_QUERY_TOPIC;
  }

  /**
   * This command's producer settings, then the {@code --producer.config} file, then the user's
   * {@code --producer-property} values; {@code --bootstrap-servers} wins over them all.
   */
  Map<String, Object> producerConfig() {
    Map<String, Object> config = new LinkedHashMap<>();
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) TIMEOUT.toMillis());
    config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis() / 2);
    config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis());
    if (producerConfigFile != null) {
      config.putAll(Clients.readClientConfig(producerConfigFile));
    }
    config.putAll(producerProperties);
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return config;
  }

  /** Reads {@code support} or {@code query}, in any case. */
  static final class KindConverter implements CommandLine.ITypeConverter<Kind> {
    @Override
    public Kind convert(String value) {
      for (Kind k : Kind.values()) {
        if (k.toString().equalsIgnoreCase(value.trim())) {
          return k;
        }
      }
      throw new CommandLine.TypeConversionException(
          "expected support or query, found '" + value + "'");
    }
  }
}
