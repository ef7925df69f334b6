package io.fewshotstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.dataset.DatasetException;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FolderEventsTest {
  /** The 8-byte PNG signature followed by one byte, enough for content sniffing. */
  private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 1};
  /** JPEG start-of-image marker followed by an APP0 marker byte. */
  private static final byte[] JPEG = {(byte) 0xff, (byte) 0xd8, (byte) 0xff, (byte) 0xe0};

  @TempDir Path dir;
  final List<String> warnings = new ArrayList<>();

  private Path write(String relative, byte[] bytes) throws IOException {
    Path file = dir.resolve(relative);
    Files.createDirectories(file.getParent());
    return Files.write(file, bytes);
  }

  private List<SupportEvent.AddExample> support(String task) {
    List<SupportEvent.AddExample> events = new ArrayList<>();
    int count =
        FolderEvents.supportEvents(
            FolderEvents.listSupport(dir, warnings::add), task, events::add, warnings::add);
    assertThat(count).isEqualTo(events.size());
    return events;
  }

  private List<QueryEvent> queries(String task) {
    List<QueryEvent> events = new ArrayList<>();
    int count =
        FolderEvents.queryEvents(FolderEvents.listQueries(dir), task, events::add, warnings::add);
    assertThat(count).isEqualTo(events.size());
    return events;
  }

  @Test
  void shouldMakeOneAddExampleEventPerImageLabelledByItsSubFolder() throws IOException {
    write("sneaker/b.png", PNG);
    write("coat/z.jpg", JPEG);
    write("coat/a.png", PNG);

    List<SupportEvent.AddExample> events = support("shop-1");

    assertThat(events)
        .extracting(SupportEvent.AddExample::exampleId)
        .as("sorted by id, so a rerun publishes in the same order")
        .containsExactly("coat/a.png", "coat/z.jpg", "sneaker/b.png");
    assertThat(events)
        .extracting(SupportEvent.AddExample::label)
        .containsExactly("coat", "coat", "sneaker");
    assertThat(events).allSatisfy(e -> {
      assertThat(e.task()).isEqualTo("shop-1");
      assertThat(e.schemaVersion()).isEqualTo(1);
      assertThat(e.embedding()).isNull();
    });
    assertThat(events.get(1).image()).isEqualTo(new Image(Image.JPEG, JPEG));
    assertThat(events.get(0).image()).isEqualTo(new Image(Image.PNG, PNG));
    assertThat(warnings).isEmpty();
  }

  @Test
  void shouldMakeOneQueryEventPerImageAnywhereUnderTheFolderNamedByItsRelativePath()
      throws IOException {
    write("top.png", PNG);
    write("coat/a.jpg", JPEG);
    write("cam/2024/01/x.png", PNG);

    List<QueryEvent> events = queries("shop-1");

    assertThat(events)
        .extracting(QueryEvent::queryId)
        .containsExactly("cam/2024/01/x.png", "coat/a.jpg", "top.png");
    assertThat(events).allSatisfy(e -> {
      assertThat(e.task()).isEqualTo("shop-1");
      assertThat(e.schemaVersion()).isEqualTo(1);
      assertThat(e.topK()).isNull();
    });
    assertThat(events.get(1).image().contentType()).isEqualTo(Image.JPEG);
  }

  @Test
  void shouldTellTheTypeByContentNotByFileName() throws IOException {
    write("coat/really-a-jpeg.png", JPEG);

    assertThat(support("t").get(0).image().contentType()).isEqualTo(Image.JPEG);
  }

  @Test
  void shouldSkipAndNameFilesThatAreNeitherPngNorJpeg() throws IOException {
    write("coat/a.png", PNG);
    write("coat/notes.txt", "hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    write("coat/.DS_Store", new byte[] {0});
    write("loose.png", PNG);

    List<SupportEvent.AddExample> events = support("t");

    assertThat(events).extracting(SupportEvent.AddExample::exampleId).containsExactly("coat/a.png");
    assertThat(warnings)
        .as("hidden files are ignored without a word; the others are named")
        .hasSize(2)
        .anySatisfy(w -> assertThat(w).contains("notes.txt").contains("not a PNG or JPEG"))
        .anySatisfy(w -> assertThat(w).contains("loose.png").contains("class sub-folder"));
  }

  @Test
  void shouldRefuseAMissingOrEmptyFolder() throws IOException {
    assertThatThrownBy(() -> FolderEvents.listQueries(dir.resolve("nope")))
        .isInstanceOf(DatasetException.class)
        .hasMessageContaining("not found")
        .hasMessageContaining("nope");
    assertThatThrownBy(() -> FolderEvents.listQueries(dir))
        .isInstanceOf(DatasetException.class)
        .hasMessageContaining("no image files");
    Files.createDirectories(dir.resolve("coat"));
    assertThatThrownBy(() -> FolderEvents.listSupport(dir, warnings::add))
        .isInstanceOf(DatasetException.class)
        .hasMessageContaining("<label>/<image>");
  }

  @Test
  void shouldRecogniseOnlyPngAndJpegSignatures() {
    assertThat(FolderEvents.contentType(PNG)).isEqualTo(Image.PNG);
    assertThat(FolderEvents.contentType(JPEG)).isEqualTo(Image.JPEG);
    assertThat(FolderEvents.contentType(new byte[] {'G', 'I', 'F', '8', '9', 'a'})).isNull();
    assertThat(FolderEvents.contentType(new byte[] {(byte) 0xff, (byte) 0xd8}))
        .as("truncated JPEG marker")
        .isNull();
    assertThat(FolderEvents.contentType(new byte[0])).isNull();
  }
}
