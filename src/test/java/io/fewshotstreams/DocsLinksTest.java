package io.fewshotstreams;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every relative link in the project's Markdown pages leads to a file that exists and, where it
 * names an anchor, to a heading of that file. The README is one page that points to {@code docs/};
 * a page moved or a heading renamed must not leave a newcomer at a dead link.
 */
class DocsLinksTest {
  private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");
  private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.*)$");

  @Test
  void shouldResolveEveryRelativeLinkAndAnchor() throws IOException {
    List<String> broken = new ArrayList<>();
    for (Path page : pages()) {
      for (String target : links(page)) {
        String file = target.contains("#") ? target.substring(0, target.indexOf('#')) : target;
        String anchor = target.contains("#") ? target.substring(target.indexOf('#') + 1) : null;
        Path dir = page.getParent() == null ? Path.of("") : page.getParent();
        Path resolved = file.isEmpty() ? page : dir.resolve(file).normalize();
        if (!Files.exists(resolved)) {
          broken.add(page + " -> " + target + " (no such file)");
        } else if (anchor != null
            && resolved.toString().endsWith(".md")
            && !anchors(resolved).contains(anchor)) {
          broken.add(page + " -> " + target + " (no such heading)");
        }
      }
    }
    assertThat(pages()).as("Markdown pages found").hasSizeGreaterThan(5);
    assertThat(broken).isEmpty();
  }

  @Test
  void shouldSeeABrokenLinkAsBroken() {
    // The checker itself: a link to a missing page and one to a missing heading are both caught.
    assertThat(anchors(List.of("# Running it", "## Exactly-once, `run`")))
        .containsExactlyInAnyOrder("running-it", "exactly-once-run");
    assertThat(links("see [a](docs/x.md#y) and [b](https://example.org) and [c](#z)"))
        .containsExactly("docs/x.md#y", "#z");
  }

  private static List<Path> pages() throws IOException {
    Path root = Path.of("").toAbsolutePath();
    try (Stream<Path> files = Files.walk(root)) {
      return files
          .filter(f -> f.toString().endsWith(".md"))
          .filter(f -> !root.relativize(f).toString().startsWith("target"))
          .filter(f -> !root.relativize(f).toString().contains("node_modules"))
          .map(root::relativize)
          .sorted()
          .toList();
    }
  }

  private static List<String> links(Path page) throws IOException {
    return links(Files.readString(page));
  }

  private static List<String> links(String text) {
    List<String> out = new ArrayList<>();
    Matcher m = LINK.matcher(text);
    while (m.find()) {
      String target = m.group(1);
      if (!target.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*")) {
        out.add(target);
      }
    }
    return out;
  }

  private static Set<String> anchors(Path page) throws IOException {
    return anchors(Files.readAllLines(page));
  }

  /** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
  private static Set<String> anchors(List<String> lines) {
    Set<String> out = new HashSet<>();
    boolean fenced = false;
    for (String line : lines) {
      if (line.startsWith("```")) {
        fenced = !fenced;
      }
      Matcher m = HEADING.matcher(line);
      if (!fenced && m.matches()) {
        out.add(
            m.group(1)
                .strip()
                .toLowerCase(Locale.ROOT)
                .replaceAll("[^\\p{L}\\p{N} _-]", "")
                .replace(' ', '-'));
      }
    }
    return out;
  }
}
