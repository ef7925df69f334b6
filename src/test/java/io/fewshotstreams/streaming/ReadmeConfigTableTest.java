package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The README's configuration table is {@link FewShotConfig#markdownTable()}, word for word. */
class ReadmeConfigTableTest {
  private static final Path README = Path.of("README.md");
  private static final String START = "<!-- config-table:start -->\n";
  private static final String END = "<!-- config-table:end -->";

  @Test
  void shouldListEveryServiceSettingInTheReadme() throws IOException {
    String readme = Files.readString(README, StandardCharsets.UTF_8).replace("\r\n", "\n");
    int start = readme.indexOf(START);
    int end = readme.indexOf(END, Math.max(start, 0));
    assertThat(start)
        .as("README.md should hold the line %s", START.strip())
        .isNotNegative();
    assertThat(end).as("README.md should hold the line %s after the start marker", END).isPositive();

    String expected = FewShotConfig.markdownTable();
    assertThat(readme.substring(start + START.length(), end))
        .as(
            "the configuration table in README.md is out of date; replace the lines between %s"
                + " and %s with:%n%s",
            START.strip(),
            END,
            expected)
        .isEqualTo(expected);
  }
}
