package io.fewshotstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ProduceCommandTest {
  @TempDir Path dir;

  private static ProduceCommand parse(String... args) {
    ProduceCommand command = new ProduceCommand();
    new CommandLine(command).parseArgs(args);
    return command;
  }

  @Test
  void shouldDefaultTheTopicByKind() {
    assertThat(parse("--bootstrap-servers", "b:9092", "--task", "t", "--as", "support", "f").topic())
        .isEqualTo("fewshot-support");
    assertThat(parse("--bootstrap-servers", "b:9092", "--task", "t", "--as", "QUERY", "f").topic())
        .isEqualTo("fewshot-queries");
    assertThat(
            parse("--bootstrap-servers", "b:9092", "--task", "t", "--as", "query",
                    "--topic", "mine", "f")
                .topic())
        .isEqualTo("mine");
  }

  @Test
  void shouldAskForDurableIdempotentWritesThatGiveUpAfterThirtySeconds() {
    Map<String, Object> config =
        parse("--bootstrap-servers", "b:9092", "--task", "t", "--as", "support", "f")
            .producerConfig();

    assertThat(config)
        .containsEntry(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "b:9092")
        .containsEntry(ProducerConfig.ACKS_CONFIG, "all")
        .containsEntry(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true)
        .containsEntry(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000)
        .containsEntry(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
    assertThat((Integer) config.get(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG))
        .as("Kafka requires delivery.timeout.ms >= linger.ms + request.timeout.ms")
        .isLessThan(30_000);
  }

  @Test
  void shouldPassProducerPropertiesThrough() {
    Map<String, Object> config =
        parse("--bootstrap-servers", "b:9092", "--task", "t", "--as", "support",
                "--producer-property", "security.protocol=SASL_SSL",
                "--producer-property", "sasl.jaas.config=a=b c=d",
                "--producer-property", "max.block.ms=5000",
                "f")
            .producerConfig();

    assertThat(config)
        .containsEntry("security.protocol", "SASL_SSL")
        .as("only the first '=' separates key from value")
        .containsEntry("sasl.jaas.config", "a=b c=d")
        .as("the user's value wins over the command's default")
        .containsEntry("max.block.ms", "5000");
  }

  @Test
  void shouldReadTheProducerConfigFileUnderTheFlags() throws IOException {
    // catches: the file ignored, a file value beating --producer-property, or the file's
    // bootstrap.servers beating the required flag
    Path file = dir.resolve("producer.properties");
    Files.writeString(
        file,
        "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nmax.block.ms=5000\n"
            + "bootstrap.servers=file:9092\n");
    for (String option : new String[] {"--producer.config", "--command-config"}) {
      Map<String, Object> config =
          parse("--bootstrap-servers", "b:9092", "--task", "t", "--as", "support",
                  option, file.toString(),
                  "--producer-property", "sasl.mechanism=SCRAM-SHA-256",
                  "f")
              .producerConfig();

      assertThat(config)
          .as(option)
          .containsEntry("security.protocol", "SASL_SSL")
          .containsEntry("max.block.ms", "5000") // the file over the command's default
          .containsEntry("sasl.mechanism", "SCRAM-SHA-256") // the flag over the file
          .containsEntry(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "b:9092");
    }
  }

  @Test
  void shouldExitWithAnErrorLineForAnUnreadableProducerConfigFile() {
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setErr(new PrintWriter(err));
    Path missing = dir.resolve("missing.properties");

    int exit =
        cli.execute("produce", "--bootstrap-servers", "b:9092", "--task", "t", "--as", "support",
            "--producer.config", missing.toString(), dir.toString());

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString())
        .startsWith("error: cannot read the client config file " + missing);
  }

  @Test
  void shouldRefuseANegativeSchemaId() {
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setErr(new PrintWriter(err));

    int exit =
        cli.execute("produce", "--bootstrap-servers", "b:9092", "--task", "t", "--as", "support",
            "--schema-id", "-1", dir.toString());

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).contains("--schema-id: expected an id >= 0, found -1");
  }

  @Test
  void shouldRejectAnUnknownKind() {
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setErr(new PrintWriter(err));

    int status =
        cli.execute("produce", "--bootstrap-servers", "b:9092", "--task", "t", "--as", "labels",
            dir.toString());

    assertThat(status).isEqualTo(2);
    assertThat(err.toString()).contains("expected support or query, found 'labels'");
  }

  @Test
  void shouldExitWithAnErrorLineForAMissingOrEmptyFolder() throws IOException {
    Path empty = Files.createDirectory(dir.resolve("empty"));
    for (Path folder : new Path[] {dir.resolve("missing"), empty}) {
      StringWriter err = new StringWriter();
      CommandLine cli = Main.commandLine();
      cli.setErr(new PrintWriter(err));

      // nothing is sent: the folder is checked before a producer is made
      int status =
          cli.execute("produce", "--bootstrap-servers", "127.0.0.1:1", "--task", "t", "--as",
              "query", folder.toString());

      assertThat(status).isEqualTo(2);
      assertThat(err.toString()).startsWith("error: ").contains(folder.toString());
    }
  }
}
