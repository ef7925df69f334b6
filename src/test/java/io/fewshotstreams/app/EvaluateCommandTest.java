package io.fewshotstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import io.fewshotstreams.dataset.Sample;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class EvaluateCommandTest {
  @TempDir Path dir;
  Path embeddings;

  /** Five well-separated classes of 30 noisy 16-d features: any sane method is near 100%. */
  @BeforeEach
  void writeEmbeddings() throws IOException {
    embeddings = dir.resolve("features.jsonl");
    Random random = new Random(1);
    try (Writer w = Files.newBufferedWriter(embeddings, StandardCharsets.UTF_8)) {
      for (int c = 0; c < 5; c++) {
        for (int i = 0; i < 30; i++) {
          float[] f = new float[16];
          for (int j = 0; j < f.length; j++) {
            f[j] = (float) (0.1 * random.nextGaussian());
          }
          f[c] += 1;
          EmbeddingsFile.writeLine(w, new Sample("class" + c + "/" + i, "class" + c), f);
        }
      }
    }
  }

  private String run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int status = cli.execute(args);
    assertThat(status).as("exit status; stderr: %s", err).isZero();
    return out.toString();
  }

  @Test
  void shouldScoreEveryMethodAndReplayTheSameEpisodesFromAFile() throws IOException {
    Path episodes = dir.resolve("episodes.json");
    Path first = dir.resolve("first.json");
    Path replay = dir.resolve("replay.json");

    String printed =
        run("evaluate", "--embeddings", embeddings.toString(), "--shots", "1",
            "--queries", "5", "--episodes", "20", "--quiet", "--episodes-out", episodes.toString(),
            "--json", first.toString());
    run("evaluate", "--embeddings", embeddings.toString(), "--quiet",
        "--episodes-in", episodes.toString(), "--json", replay.toString());

    assertThat(printed).contains("5-way 1-shot 5-query, 20 episodes");
    JsonNode a = Json.MAPPER.readTree(first.toFile()).get("results");
    JsonNode b = Json.MAPPER.readTree(replay.toFile()).get("results");
    assertThat(a).as("six methods, then two open-set baselines").hasSize(8);
    List<String> methods = new ArrayList<>();
    for (int i = 0; i < a.size(); i++) {
      methods.add(a.get(i).get("method").asText());
      assertThat(a.get(i).get("meanAccuracy").asDouble())
          .as("separable clusters are classified almost perfectly by " + methods.get(i))
          .isGreaterThan(0.95);
      assertThat(b.get(i).get("meanAccuracy").asDouble())
          .as("replayed episodes give the same accuracy")
          .isEqualTo(a.get(i).get("meanAccuracy").asDouble());
    }
    assertThat(methods)
        .containsExactly(
            "prototypes", "inductive", "transductive", "auto", "robust", "prototypes:calibrated",
            "baseline:max-cosine",
            "baseline:nearest-support");
    JsonNode drawn = Json.MAPPER.readTree(episodes.toFile()).get("episodes");
    assertThat(drawn).hasSize(20);
    assertThat(drawn.get(0).get("support")).hasSize(5);
    assertThat(drawn.get(0).get("query")).hasSize(25);
    assertThat(drawn.get(0).has("open"))
        .as("closed-set episodes are written as before, without an open list")
        .isFalse();
  }

  @Test
  void shouldReplayOpenSetEpisodesExactlyAndScoreTheirUnknownImages() throws IOException {
    Path episodes = dir.resolve("open-episodes.json");
    Path first = dir.resolve("open-first.json");
    Path replay = dir.resolve("open-replay.json");

    String printed =
        run("evaluate", "--embeddings", embeddings.toString(), "--shots", "2", "--ways", "3",
            "--queries", "5", "--open-ways", "2", "--open-queries", "4", "--episodes", "10",
            "--methods", "prototypes,robust", "--quiet", "--episodes-out", episodes.toString(),
            "--json", first.toString());
    run("evaluate", "--embeddings", embeddings.toString(), "--quiet", "--methods",
        "prototypes,robust", "--episodes-in", episodes.toString(), "--json", replay.toString());

    assertThat(printed).contains("2 open classes x 4");
    JsonNode drawn = Json.MAPPER.readTree(episodes.toFile()).get("episodes").get(0);
    assertThat(drawn.get("open")).as("2 open classes x 4 images").hasSize(8);
    JsonNode a = Json.MAPPER.readTree(first.toFile()).get("results");
    JsonNode b = Json.MAPPER.readTree(replay.toFile()).get("results");
    for (int i = 0; i < a.size(); i++) {
      String method = a.get(i).get("method").asText();
      assertThat(a.get(i).get("openImages").asInt()).isEqualTo(8);
      assertThat(b.get(i).get("auroc").asDouble())
          .as("replayed open-set episodes give the same AUROC for " + method)
          .isEqualTo(a.get(i).get("auroc").asDouble());
    }
    JsonNode robust = a.get(1);
    assertThat(robust.get("method").asText()).isEqualTo("robust");
    // The open classes are other unit directions of the synthetic clusters: cosine near 0 to
    // every prototype against near 1 for their own class, so the score separates them fully.
    assertThat(robust.get("auroc").asDouble()).isGreaterThan(0.99);
    assertThat(robust.get("unknownRejected").asDouble()).isGreaterThan(0.99);
    // Which of robust's fits served each episode, on screen and in the JSON: one per episode,
    // each a fit robust has; a method with one fit reports none (catches the tally dropped,
    // counted per method call instead of per episode, or given to the wrong row).
    int served = 0;
    for (Map.Entry<String, JsonNode> fit : robust.get("fits").properties()) {
      assertThat(fit.getKey()).isIn("transductive", "joint", "inductive");
      served += fit.getValue().asInt();
    }
    assertThat(served).isEqualTo(10);
    assertThat(a.get(0).get("fits")).isEmpty();
    assertThat(printed).contains("fits of robust, episodes each:");
  }

  /**
   * The task gap and the reliability diagram reach the JSON for every method (the gap the table
   * too), from the episodes' own confidences and outcomes; the open-set baselines give no
   * probabilities, so their gap is null and their diagram empty. Catches the column or the keys
   * dropped, or the gap or the diagram computed from another method's row.
   */
  @Test
  void shouldReportEachMethodsTaskGapAndNoneForTheBaselines() throws IOException {
    Path json = dir.resolve("gap.json");

    String printed =
        run("evaluate", "--embeddings", embeddings.toString(), "--shots", "1", "--queries", "5",
            "--episodes", "10", "--methods", "prototypes,prototypes:calibrated", "--quiet",
            "--json", json.toString());

    assertThat(printed).contains("task gap");
    JsonNode rows = Json.MAPPER.readTree(json.toFile()).get("results");
    JsonNode scale15 = rows.get(0);
    JsonNode calibrated = rows.get(1);
    assertThat(calibrated.get("method").asText()).isEqualTo("prototypes:calibrated");
    // Separable clusters, every answer right: the gap is 1 minus the mean top probability, far
    // larger at the one-shot temperature 4 than at 15.
    assertThat(scale15.get("meanAccuracy").asDouble()).isEqualTo(1.0);
    assertThat(calibrated.get("taskGap").asDouble())
        .isGreaterThan(scale15.get("taskGap").asDouble())
        .isCloseTo(calibrated.get("ece").asDouble(), within(1e-9));
    assertThat(rows.get(2).get("method").asText()).startsWith("baseline:");
    assertThat(rows.get(2).get("taskGap").isNull()).isTrue();
    // The reliability diagram behind each row's ECE: its bins hold every known query of the 10
    // episodes (5 ways x 5 queries), all right, and their weighted gaps add up to that row's own
    // ECE, which differs between the two rows; the baselines give an empty diagram.
    for (JsonNode row : List.of(scale15, calibrated)) {
      int counted = 0;
      double ece = 0;
      for (JsonNode bin : row.get("reliability")) {
        counted += bin.get("outcomes").asInt();
        assertThat(bin.get("accuracy").asDouble()).isEqualTo(1.0);
        assertThat(bin.get("meanConfidence").asDouble())
            .isBetween(bin.get("lower").asDouble(), bin.get("upper").asDouble());
        ece += bin.get("outcomes").asInt() / 250.0
            * Math.abs(bin.get("accuracy").asDouble() - bin.get("meanConfidence").asDouble());
      }
      assertThat(counted).isEqualTo(10 * 5 * 5);
      assertThat(ece).isCloseTo(row.get("ece").asDouble(), within(1e-9));
    }
    assertThat(scale15.get("ece").asDouble())
        .isNotCloseTo(calibrated.get("ece").asDouble(), within(0.01));
    assertThat(rows.get(2).get("reliability")).isEmpty();
  }

  @Test
  void shouldExplainAnUnknownMethodWithoutAStackTrace() {
    StringWriter err = new StringWriter();
    CommandLine cli = Main.commandLine();
    cli.setErr(new PrintWriter(err));

    int status =
        cli.execute("evaluate", "--embeddings", embeddings.toString(), "--methods", "magic");

    assertThat(status).isEqualTo(2);
    assertThat(err.toString()).contains("magic").contains("prototypes").doesNotContain("\tat ");
  }
}
