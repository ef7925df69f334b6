package io.fewshotstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.TestClients;
import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.config.SaslConfigs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker-free production build, target/fewshot-streams-slim/, as a separate process: it has no
 * broker in it, runs the service against a real broker with the credentials in a client config
 * file, publishes with {@code produce} (values framed in the Schema Registry wire format), and
 * refuses {@code demo} with a message that says why.
 */
class SlimBuildIT {
  private static final Path SLIM = Path.of("target", "fewshot-streams-slim");
  private static final Path JAR = SLIM.resolve("fewshot-streams.jar");
  private static final Path SAMPLES = Path.of("src/main/resources/samples/fashion-mnist-novel");
  /** Three classes of two shots and one query each: the least that shows classification. */
  private static final List<String> CLASSES = List.of("Ankle boot", "Coat", "Sneaker");

  private static final int SHOTS = 2;
  private static final Map<String, String> USERS = Map.of("alice", "alice-secret");

  @TempDir Path dir;

  @Test
  void shouldShipNoBrokerJars() throws IOException {
    assertThat(JAR).as("built by mvn package before the integration tests").exists();
    List<String> jars;
    try (Stream<Path> files = Files.list(SLIM.resolve("lib"))) {
      jars = files.map(f -> f.getFileName().toString()).sorted().toList();
    }
    // what `run` needs is there ...
    assertThat(jars)
        .anyMatch(j -> j.startsWith("kafka-streams-"))
        .anyMatch(j -> j.startsWith("kafka-clients-"))
        .anyMatch(j -> j.startsWith("onnxruntime"))
        .anyMatch(j -> j.startsWith("rocksdbjni-"));
    // ... and the broker, Scala and what only the broker brings are not
    assertThat(jars)
        .noneMatch(j -> j.startsWith("kafka_2.13"))
        .noneMatch(j -> j.startsWith("scala-"))
        .noneMatch(j -> j.startsWith("kafka-server"))
        .noneMatch(j -> j.startsWith("kafka-raft"))
        .noneMatch(j -> j.startsWith("kafka-metadata"))
        .noneMatch(j -> j.startsWith("log4j-"));
  }

  @Test
  void shouldRefuseTheDemoSayingItNeedsTheFullBuild() throws Exception {
    Path log = dir.resolve("demo.log");
    Process demo = start(log, "demo");
    assertThat(demo.waitFor(60, TimeUnit.SECONDS)).as("demo ended").isTrue();

    assertThat(demo.exitValue()).as(Files.readString(log)).isEqualTo(2);
    assertThat(Files.readString(log))
        .contains("error: the in-process Kafka broker: expected kafka_2.13")
        .contains("target/fewshot-streams.jar")
        .doesNotContain("NoClassDefFoundError", "ClassNotFoundException");
  }

  @Test
  void shouldClassifyFramedEventsAgainstASaslBrokerWithCredentialsOnlyInAFile() throws Exception {
    EventCodec codec = new EventCodec();
    Path support = dir.resolve("support");
    Path queries = dir.resolve("queries");
    copySamples(support, queries);
    Path clientFile = dir.resolve("client.properties");
    Files.writeString(
        clientFile,
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config="
            + BrokerOptions.plainJaasConfig("alice", "alice-secret")
            + "\n");
    try (EmbeddedKafkaBroker broker =
        EmbeddedKafkaBroker.start(BrokerOptions.defaults().withSaslPlainUsers(USERS))) {
      String bootstrap = broker.bootstrapServers();
      Process service =
          start(
              dir.resolve("run.log"),
              "run", "--bootstrap-servers", bootstrap,
              "--command-config", clientFile.toString(),
              "-p", "application.id=slim-build",
              "-p", "state.dir=" + dir.resolve("state"),
              "-p", "fewshot.http.port=-1");
      try (KafkaConsumer<String, byte[]> consumer =
          TestClients.readCommittedConsumer(bootstrap, "slim-reader-", alice())) {
        awaitLine(service, dir.resolve("run.log"), "running as application");
        publish(bootstrap, clientFile, "support", support, "--schema-id", "258");
        consumer.subscribe(List.of("fewshot-models", "fewshot-predictions", "fewshot-dead-letters"));
        List<String> deadLetters = new ArrayList<>();
        // queries sent before the task has all classes would be answered by a smaller model
        boolean complete = false;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (!complete && System.nanoTime() < deadline) {
          for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
            if (r.topic().equals("fewshot-models")) {
              ModelSnapshot model = codec.readSnapshot(r.value());
              complete |= model.classes().size() == CLASSES.size();
            } else if (r.topic().equals("fewshot-dead-letters")) {
              deadLetters.add(new String(r.value(), StandardCharsets.UTF_8));
            }
          }
        }
        assertThat(deadLetters).as("dead letters of the framed support events").isEmpty();
        assertThat(complete).as("a snapshot with all %d classes", CLASSES.size()).isTrue();

        publish(bootstrap, clientFile, "query", queries);
        Set<String> answered = new HashSet<>();
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (answered.size() < CLASSES.size() && System.nanoTime() < deadline) {
          for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
            if (r.topic().equals("fewshot-predictions")) {
              Prediction p = codec.readPrediction(r.value());
              answered.add(p.queryId());
              assertThat(CLASSES).contains(p.label());
            } else if (r.topic().equals("fewshot-dead-letters")) {
              deadLetters.add(new String(r.value(), StandardCharsets.UTF_8));
            }
          }
        }
        assertThat(deadLetters).as("dead letters of the queries").isEmpty();
        assertThat(answered).as("queries with a prediction").hasSize(CLASSES.size());
        assertThat(service.isAlive()).as("the service still runs").isTrue();
      } finally {
        service.destroy();
        service.waitFor(60, TimeUnit.SECONDS);
      }
      assertThat(Files.readString(dir.resolve("run.log")))
          .as("the password never reaches the log")
          .doesNotContain("alice-secret");
    }
  }

  private static Map<String, Object> alice() {
    return Map.of(
        CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT",
        SaslConfigs.SASL_MECHANISM, "PLAIN",
        SaslConfigs.SASL_JAAS_CONFIG, BrokerOptions.plainJaasConfig("alice", "alice-secret"));
  }

  /** SHOTS images of each class as support (FOLDER/label/file), the next one as a query. */
  private static void copySamples(Path support, Path queries) throws IOException {
    for (String label : CLASSES) {
      List<Path> images;
      try (Stream<Path> files = Files.list(SAMPLES.resolve(label))) {
        images = files.filter(f -> f.toString().endsWith(".png")).sorted().limit(SHOTS + 1).toList();
      }
      Files.createDirectories(support.resolve(label));
      Files.createDirectories(queries);
      for (int i = 0; i < SHOTS; i++) {
        Files.copy(images.get(i), support.resolve(label).resolve(images.get(i).getFileName()));
      }
      Files.copy(images.get(SHOTS), queries.resolve(label + ".png"));
    }
  }

  private void publish(String bootstrap, Path clientFile, String kind, Path folder, String... more)
      throws Exception {
    List<String> args =
        new ArrayList<>(
            List.of(
                "produce", "--bootstrap-servers", bootstrap, "--producer.config",
                clientFile.toString(), "--task", "shop", "--as", kind));
    args.addAll(List.of(more));
    args.add(folder.toString());
    Path log = dir.resolve("produce-" + kind + ".log");
    Process produce = start(log, args.toArray(String[]::new));
    assertThat(produce.waitFor(90, TimeUnit.SECONDS)).as("produce %s ended", kind).isTrue();
    assertThat(produce.exitValue()).as(Files.readString(log)).isZero();
  }

  private static Process start(Path log, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-jar");
    command.add(JAR.toString());
    command.addAll(List.of(args));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  private static void awaitLine(Process process, Path log, String line) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline && process.isAlive()) {
      if (Files.exists(log) && Files.readString(log).contains(line)) {
        return;
      }
      Thread.sleep(200);
    }
    throw new AssertionError(
        "expected '" + line + "' in the service's log, found:\n" + Files.readString(log));
  }
}
