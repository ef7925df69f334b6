package io.fewshotstreams;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The dependency firewall of ARCHITECTURE.md: native code, Kafka and JSON each stay in the packages
 * that own them, so the few-shot math and the offline tools load none of them; and the layering of
 * the project's own packages: the few-shot math and the event schemas import no other stage, and
 * the learner and the query path do not import each other.
 */
class DependencyFirewallTest {
  private static final Path MAIN = Path.of("src/main/java/io/fewshotstreams");

  /** Import prefix to the packages (relative to io.fewshotstreams) allowed to use it. */
  private static final Map<String, Set<String>> ALLOWED =
      Map.of(
          "ai.onnxruntime", Set.of("embedding"),
          "org.apache.kafka", Set.of("streaming", "broker", "app"),
          "kafka.", Set.of("broker"),
          "com.fasterxml.jackson.databind", Set.of("embedding", "app", "serving"),
          "com.fasterxml.jackson.core", Set.of("embedding", "app"),
          "com.fasterxml.jackson.annotation", Set.of("events"),
          "tools.jackson", Set.of("events"),
          "com.networknt", Set.of("events"),
          "io.micrometer", Set.of("streaming", "serving", "app"));

  @Test
  void shouldKeepNativeCodeKafkaAndJsonInTheirOwnPackages() throws IOException {
    List<String> violations = new ArrayList<>();
    try (Stream<Path> files = Files.walk(MAIN)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        Path relative = MAIN.relativize(file);
        String pkg = relative.getNameCount() > 1 ? relative.getName(0).toString() : "";
        for (String line : Files.readAllLines(file)) {
          if (!line.startsWith("import ")) {
            continue;
          }
          String imported = line.substring("import ".length()).replace("static ", "");
          ALLOWED.forEach(
              (prefix, packages) -> {
                if (imported.startsWith(prefix) && !packages.contains(pkg)) {
                  violations.add(relative + " imports " + imported.strip());
                }
              });
        }
      }
    }
    assertThat(violations).isEmpty();
  }

  @Test
  void shouldKeepTheFewShotMathFreeOfEveryOtherStage() throws IOException {
    assertThat(projectImportsOutside("fewshot", "fewshot")).isEmpty();
  }

  @Test
  void shouldKeepTheEventSchemasFreeOfEveryOtherStage() throws IOException {
    assertThat(projectImportsOutside("events", "events")).isEmpty();
  }

  /**
   * The learner and the query path meet only in the shared pieces of {@code streaming} (inputs,
   * routing, store names) and the global snapshot store, never in each other's classes.
   */
  @Test
  void shouldKeepTheLearnerAndTheQueryPathApart() throws IOException {
    assertThat(importsOf("streaming/learner", "io.fewshotstreams.streaming.query.")).isEmpty();
    assertThat(importsOf("streaming/query", "io.fewshotstreams.streaming.learner.")).isEmpty();
  }

  /** Every stage reports to telemetry; telemetry depends on no stage, so it can never loop back. */
  @Test
  void shouldKeepTelemetryFreeOfTheStages() throws IOException {
    assertThat(importsOf("streaming/telemetry", "io.fewshotstreams.streaming.")).isEmpty();
  }

  /** Imports of other project packages than {@code allowed} (and the root exception) in {@code dir}. */
  private static List<String> projectImportsOutside(String dir, String allowed) throws IOException {
    List<String> violations = new ArrayList<>();
    for (String hit : importsOf(dir, "io.fewshotstreams.")) {
      String line = hit.substring(hit.indexOf(": ") + 2);
      if (!line.startsWith("import io.fewshotstreams." + allowed + ".")
          && !line.equals("import io.fewshotstreams.FewShotException;")) {
        violations.add(hit);
      }
    }
    return violations;
  }

  /** Every {@code file: import line} under {@code dir} that imports from {@code prefix}. */
  private static List<String> importsOf(String dir, String prefix) throws IOException {
    Path root = MAIN.resolve(dir);
    assertThat(root).as("the package folder " + dir).isDirectory();
    List<String> hits = new ArrayList<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        for (String line : Files.readAllLines(file)) {
          String imported = line.replace("import static ", "import ");
          if (imported.startsWith("import " + prefix)) {
            hits.add(MAIN.relativize(file) + ": " + imported);
          }
        }
      }
    }
    return hits;
  }
}
