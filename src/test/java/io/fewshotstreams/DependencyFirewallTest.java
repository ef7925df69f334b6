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
 * that own them, so the few-shot math and the offline tools load none of them.
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
    List<String> violations = new ArrayList<>();
    try (Stream<Path> files = Files.walk(MAIN.resolve("fewshot"))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
        for (String line : Files.readAllLines(file)) {
          if (line.startsWith("import io.fewshotstreams.")
              && !line.startsWith("import io.fewshotstreams.fewshot.")
              && !line.equals("import io.fewshotstreams.FewShotException;")) {
            violations.add(MAIN.relativize(file) + ": " + line);
          }
        }
      }
    }
    assertThat(violations).isEmpty();
  }
}
