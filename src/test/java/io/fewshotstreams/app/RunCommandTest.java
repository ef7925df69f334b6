package io.fewshotstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

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
  void shouldTakeFlagsOverEnvironmentOverFile() throws IOException {
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
        .containsEntry("fewshot.http.port", "3000") // flag over environment over file
        .containsEntry("fewshot.query.pool.size", "20") // environment over file
        .containsEntry("bootstrap.servers", "env:9092")
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
}
