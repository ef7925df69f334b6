package io.fewshotstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.EventType;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.LiveService;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The commands a user runs, against real brokers. */
class CommandsIT {
  @TempDir Path dir;

  @Test
  void shouldRunTheDemoToItsEndWithEveryPredictionAndADeadLetter() {
    StringWriter out = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out, true));
    int status = cli.execute("demo", "--exit-when-done", "--rate", "200");
    String text = out.toString();
    assertThat(status).as(text).isZero();
    // 275 queries of the five registered classes and 30 of Bag, a class never registered
    assertThat(text).contains("[305/305]");
    assertThat(text).contains("dead letter on fewshot-dead-letters: INVALID_JSON");
    Matcher accuracy = Pattern.compile("accuracy (\\d+\\.\\d)% \\(\\d+ of 275\\)").matcher(text);
    assertThat(accuracy.find()).as(text).isTrue();
    // Prototypes alone get 65% on these 275 images (StreamingAccuracyIT); far below means broken.
    assertThat(Double.parseDouble(accuracy.group(1))).isGreaterThan(50.0);
    Matcher unknown =
        Pattern.compile("unknown: (\\d+) of 30 images of Bag \\(a class never registered\\)")
            .matcher(text);
    assertThat(unknown.find()).as(text).isTrue();
    // OpenSetStreamTest measures 87% of them rejected over 80 support draws; under half: no threshold.
    assertThat(Integer.parseInt(unknown.group(1))).isGreaterThanOrEqualTo(15);
  }

  @Test
  void shouldPublishFoldersThatTheServiceClassifies() throws IOException {
    List<SampleImage> samples = SampleImages.load();
    Path supportDir = dir.resolve("support");
    Path queryDir = dir.resolve("queries");
    for (String label : List.of("Coat", "Sneaker")) {
      List<SampleImage> images = samples.stream().filter(s -> s.label().equals(label)).toList();
      Files.createDirectories(supportDir.resolve(label));
      Files.createDirectories(queryDir.resolve(label));
      for (int i = 0; i < 5; i++) {
        Files.write(supportDir.resolve(label).resolve(i + ".png"), images.get(i).png());
        Files.write(queryDir.resolve(label).resolve(i + ".png"), images.get(10 + i).png());
      }
    }
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
        LiveService live =
            new LiveService(broker.bootstrapServers(), embedder, dir.resolve("state"), Map.of())) {
      StringWriter out = new StringWriter();
      CommandLine cli = Main.commandLine();
      cli.setOut(new PrintWriter(out, true));
      String bootstrap = broker.bootstrapServers();
      assertThat(
              cli.execute(
                  "produce", "--bootstrap-servers", bootstrap, "--task", "shop", "--as", "support",
                  supportDir.toString()))
          .isZero();
      live.await(
          live.config.modelsTopic(),
          v -> live.codec.readSnapshot(v).supportExamples() == 10,
          1,
          Duration.ofSeconds(60));
      assertThat(
              cli.execute(
                  "produce", "--bootstrap-servers", bootstrap, "--task", "shop", "--as", "query",
                  queryDir.toString()))
          .isZero();
      assertThat(out.toString())
          .contains("published 10 support events for task 'shop' to fewshot-support")
          .contains("published 10 query events for task 'shop' to fewshot-queries");
      List<byte[]> answers =
          live.await(live.config.predictionsTopic(), v -> true, 10, Duration.ofSeconds(60));
      int right = 0;
      for (byte[] answer : answers) {
        assertThat(live.codec.violations(EventType.PREDICTION, answer)).isEmpty();
        Prediction p = live.codec.readPrediction(answer);
        right += p.queryId().startsWith(p.label() + "/") ? 1 : 0;
      }
      // Coats and sneakers are far apart for the bundled backbone.
      assertThat(right).isGreaterThanOrEqualTo(9);
    }
  }

  @Test
  void shouldNameTheMissingTopicsWhenItMayNotCreateThem() {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults())) {
      StringWriter err = new StringWriter();
      CommandLine cli = Main.commandLine();
      cli.setErr(new PrintWriter(err, true));
      int status =
          cli.execute(
              "run", "--bootstrap-servers", broker.bootstrapServers(), "--no-create-topics");
      assertThat(status).isEqualTo(2);
      assertThat(err.toString())
          .contains("error: expected the topics")
          .contains("fewshot-support")
          .contains("fewshot-dead-letters");
    }
  }
}
