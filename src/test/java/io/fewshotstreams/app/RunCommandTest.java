package io.fewshotstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.FewShotException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class RunCommandTest {
  @TempDir Path dir;

  @Test
  void shouldTakeFlagsOverFileOverEnvironment() throws IOException {
    Path file = dir.resolve("fewshot.properties");
    Files.writeString(
        file,
        "fewshot.http.port=1000\nfewshot.query.pool.size=7\nbootstrap.servers=file:9092\n"
            + "fewshot.finetune.threads=3\n");
    RunCommand run = new RunCommand();
    new CommandLine(run)
        .parseArgs("--config", file.toString(), "-p", "fewshot.http.port=3000");
    Properties settings =
        run.settings(
            Map.of(
                "FEWSHOT_HTTP_PORT", "2000",
                "FEWSHOT_QUERY_POOL_SIZE", "20",
                "KAFKA_BOOTSTRAP_SERVERS", "env:9092",
                "KAFKA_PRODUCER_MAX_REQUEST_SIZE", "2097152",
                "KAFKA_HOME", "/opt/kafka",
                "KAFKA_OPTS", "-Xmx1g",
                "HOME", "/home/someone"));
    assertThat(settings)
        .containsEntry("fewshot.http.port", "3000") // flag over file over environment
        .containsEntry("fewshot.query.pool.size", "7") // file over environment (an image's ENV)
        .containsEntry("bootstrap.servers", "file:9092")
        .containsEntry("fewshot.finetune.threads", "3") // only in the file
        .containsEntry("producer.max.request.size", "2097152")
        .doesNotContainKeys("home", "opts"); // KAFKA_HOME and KAFKA_OPTS are not settings
  }

  @Test
  void shouldLetTheBootstrapFlagWinOverEverything() {
    RunCommand run = new RunCommand();
    new CommandLine(run).parseArgs("--bootstrap-servers", "flag:9092");
    assertThat(run.settings(Map.of("KAFKA_BOOTSTRAP_SERVERS", "env:9092")))
        .containsEntry("bootstrap.servers", "flag:9092");
  }

  @Test
  void shouldLayerTheClientConfigFileOverTheSettingsFileAndTheEnvironment() throws IOException {
    // catches: the client file ignored (password lost) or winning over -p (no way to override it)
    Path settingsFile = dir.resolve("fewshot.properties");
    Files.writeString(
        settingsFile, "security.protocol=PLAINTEXT\nsasl.mechanism=GSSAPI\nlinger.ms=7\n");
    Path clientFile = dir.resolve("client.properties");
    Files.writeString(
        clientFile,
        "security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nlinger.ms=8\n"
            + "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
            + " username=\"svc\" password=\"s3cret\";\n");
    RunCommand run = new RunCommand();
    new CommandLine(run)
        .parseArgs(
            "--config", settingsFile.toString(),
            "--command-config", clientFile.toString(),
            "-p", "linger.ms=9");

    Properties settings = run.settings(Map.of("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"));

    assertThat(settings)
        .containsEntry("security.protocol", "SASL_SSL") // client file over settings file
        .containsEntry("sasl.mechanism", "PLAIN") // client file over environment
        .containsEntry("linger.ms", "9") // flag over everything
        .containsEntry(
            "sasl.jaas.config",
            "org.apache.kafka.common.security.plain.PlainLoginModule required"
                + " username=\"svc\" password=\"s3cret\";");
  }

  @Test
  void shouldRefuseServiceSettingsInTheClientConfigFileNamingTheKey() throws IOException {
    Path clientFile = dir.resolve("client.properties");
    Files.writeString(clientFile, "security.protocol=SSL\nfewshot.http.port=1\n");
    RunCommand run = new RunCommand();
    new CommandLine(run).parseArgs("--command-config", clientFile.toString());

    assertThatThrownBy(() -> run.settings(Map.of()))
        .isInstanceOf(FewShotException.class)
        .hasMessageContaining("fewshot.http.port")
        .hasMessageContaining("expected Kafka client properties only");
  }

  @Test
  void shouldNameAClientConfigFileItCannotRead() {
    Path missing = dir.resolve("no-such.properties");
    RunCommand run = new RunCommand();
    new CommandLine(run).parseArgs("--command-config", missing.toString());

    assertThatThrownBy(() -> run.settings(Map.of()))
        .isInstanceOf(FewShotException.class)
        .hasMessageContaining("cannot read the client config file " + missing);
  }
}
