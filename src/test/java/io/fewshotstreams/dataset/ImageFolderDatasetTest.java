package io.fewshotstreams.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderDatasetTest {
  @TempDir Path root;

  @Test
  void shouldListImagesPerClassFolderInNameOrder() throws IOException {
    Files.createDirectories(root.resolve("cat"));
    Files.createDirectories(root.resolve("bird"));
    Files.write(root.resolve("cat/2.PNG"), new byte[] {1});
    Files.write(root.resolve("cat/1.jpg"), new byte[] {2});
    Files.write(root.resolve("bird/a.jpeg"), new byte[] {3});
    Files.write(root.resolve("bird/notes.txt"), new byte[] {4});

    ImageFolderDataset data = ImageFolderDataset.open(root);

    assertThat(data.samples())
        .containsExactly(
            new Sample("bird/a.jpeg", "bird"),
            new Sample("cat/1.jpg", "cat"),
            new Sample("cat/2.PNG", "cat"));
    assertThat(data.bytes(data.samples().get(1))).containsExactly(2);
  }

  @Test
  void shouldExplainTheExpectedLayoutWhenThereAreNoImages() {
    assertThatThrownBy(() -> ImageFolderDataset.open(root))
        .isInstanceOf(DatasetException.class)
        .hasMessageContaining("<class>/<image>");
  }
}
