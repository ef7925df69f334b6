package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The settings table of {@code docs/configuration.md} is {@link FewShotConfig#markdownTable()}. */
class ConfigurationTableTest {
  private static final Path PAGE = Path.of("docs", "configuration.md");
  private static final String START = "<!-- config-table:start -->\n";
  private static final String END = "<!-- config-table:end -->";

  @Test
  void shouldListEveryServiceSettingInTheConfigurationPage() throws IOException {
    String page = Files.readString(PAGE, StandardCharsets.UTF_8).replace("\r\n", "\n");
    int start = page.indexOf(START);
    int end = page.indexOf(END, Math.max(start, 0));
    assertThat(start).as("%s should hold the line %s", PAGE, START.strip()).isNotNegative();
    assertThat(end).as("%s should hold the line %s after the start marker", PAGE, END).isPositive();

    String expected = FewShotConfig.markdownTable();
    assertThat(page.substring(start + START.length(), end))
        .as(
            "the configuration table in %s is out of date; replace the lines between %s"
                + " and %s with:%n%s",
            PAGE,
            START.strip(),
            END,
            expected)
        .isEqualTo(expected);
  }
}
