package io.fewshotstreams.dataset;

import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxDatasetTest {
  @TempDir Path dir;

  /** Six 2x3 images; image i has every pixel equal to 10 * i, labels 0,1,2,0,1,2. */
  private void writeFixture(Path images, Path labels, int labelCount) throws IOException {
    try (DataOutputStream out = new DataOutputStream(gz(images))) {
      out.writeInt(0x803);
      out.writeInt(6);
      out.writeInt(2);
      out.writeInt(3);
      for (int i = 0; i < 6; i++) {
        for (int p = 0; p < 6; p++) {
          out.writeByte(10 * i);
        }
      }
    }
    try (DataOutputStream out = new DataOutputStream(gz(labels))) {
      out.writeInt(0x801);
      out.writeInt(labelCount);
      for (int i = 0; i < labelCount; i++) {
        out.writeByte(i % 3);
      }
    }
  }

  private static OutputStream gz(Path p) throws IOException {
    return new GZIPOutputStream(Files.newOutputStream(p));
  }

  @Test
  void shouldReadGzippedIdxKeepingOnlyRequestedClasses() throws IOException {
    Path images = dir.resolve("imgs.gz");
    Path labels = dir.resolve("labels.gz");
    writeFixture(images, labels, 6);

    IdxDataset data = IdxDataset.read(images, labels, List.of("a", "b", "c"), Set.of(0, 2));

    assertThat(data.samples())
        .containsExactly(
            new Sample("imgs.gz#0", "a"),
            new Sample("imgs.gz#2", "c"),
            new Sample("imgs.gz#3", "a"),
            new Sample("imgs.gz#5", "c"));
    assertThat(data.classes()).containsExactly("a", "c");
    BufferedImage img = data.image(data.samples().get(3));
    assertThat(img.getWidth()).isEqualTo(3);
    assertThat(img.getHeight()).isEqualTo(2);
    // image 5 was written with every pixel 50
    assertThat(img.getRaster().getSample(2, 1, 0)).isEqualTo(50);
  }

  @Test
  void shouldRefuseFilesWhoseCountsDisagree() throws IOException {
    Path images = dir.resolve("imgs.gz");
    Path labels = dir.resolve("labels.gz");
    writeFixture(images, labels, 5);

    assertThatThrownBy(() -> IdxDataset.read(images, labels, List.of("a", "b", "c"), Set.of()))
        .isInstanceOf(DatasetException.class)
        .hasMessageContaining("6 images")
        .hasMessageContaining("5 labels");
  }

  @Test
  void shouldRefuseAFileThatIsNotIdx() throws IOException {
    Path images = dir.resolve("imgs.gz");
    Path labels = dir.resolve("labels.gz");
    writeFixture(images, labels, 6);

    assertThatThrownBy(() -> IdxDataset.read(labels, images, List.of("a", "b", "c"), Set.of()))
        .isInstanceOf(DatasetException.class)
        .hasMessageContaining("not an IDX");
  }

  @Test
  void shouldReadTheNovelClassesOfTheFashionMnistTestSplit() {
    assumeTrue(
        Files.isDirectory(FashionMnist.DEFAULT_DIR),
        "Fashion-MNIST (Debian package dataset-fashion-mnist) not installed at "
            + FashionMnist.DEFAULT_DIR);
    IdxDataset data = FashionMnist.open(FashionMnist.DEFAULT_DIR, "test", FashionMnist.parseClasses("novel"));

    // the test split has 1000 images of each of its 10 classes
    assertThat(data.samples()).hasSize(5000);
    assertThat(data.classes())
        .containsExactlyInAnyOrder("Pullover", "Coat", "Shirt", "Sneaker", "Ankle boot");
    assertThat(data.byClass().values()).allSatisfy(members -> assertThat(members).hasSize(1000));
  }

  @Test
  void shouldParseClassSelectionsByNameAndValue() {
    assertThat(FashionMnist.parseClasses("base")).containsExactly(0, 1, 3, 5, 8);
    assertThat(FashionMnist.parseClasses("coat, 9")).containsExactly(4, 9);
    assertThatThrownBy(() -> FashionMnist.parseClasses("Coat,Hat"))
        .isInstanceOf(DatasetException.class)
        .hasMessageContaining("[Hat]");
  }
}
