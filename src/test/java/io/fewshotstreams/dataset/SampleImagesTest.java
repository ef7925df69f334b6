package io.fewshotstreams.dataset;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class SampleImagesTest {
  /** The tool writes 60 images of each of the 5 novel classes. */
  private static final int PER_CLASS = 60;

  private static final int SIDE = 28;

  @Test
  void shouldBundleSixtyImagesOfEachNovelClass() {
    List<SampleImage> images = SampleImages.load();

    assertThat(images).hasSize(PER_CLASS * FashionMnist.NOVEL.size());
    Map<String, Long> perClass =
        images.stream().collect(Collectors.groupingBy(SampleImage::label, Collectors.counting()));
    List<String> novelNames =
        FashionMnist.NOVEL.stream().map(FashionMnist.CLASS_NAMES::get).toList();
    assertThat(perClass.keySet()).containsExactlyInAnyOrderElementsOf(novelNames);
    assertThat(perClass.values()).allMatch(n -> n == PER_CLASS);
    Set<String> names = new HashSet<>();
    images.forEach(i -> names.add(i.name()));
    assertThat(names).as("image names are unique").hasSameSizeAs(images);
  }

  @Test
  void shouldDecodeEveryImageAsA28x28GrayscalePicture() throws IOException {
    for (SampleImage sample : SampleImages.load()) {
      BufferedImage image = decode(sample);
      assertThat(image.getWidth()).as(sample.name()).isEqualTo(SIDE);
      assertThat(image.getHeight()).as(sample.name()).isEqualTo(SIDE);
      assertThat(image.getRaster().getNumBands()).as(sample.name()).isEqualTo(1);
    }
  }

  @Test
  void shouldHoldTheTestSplitImagesTheyName() throws IOException {
    assumeTrue(
        Files.isDirectory(FashionMnist.DEFAULT_DIR),
        "Fashion-MNIST not installed at " + FashionMnist.DEFAULT_DIR);
    IdxDataset test =
        FashionMnist.open(FashionMnist.DEFAULT_DIR, "test", new HashSet<>(FashionMnist.NOVEL));
    Map<String, Sample> byPath =
        test.samples().stream().collect(Collectors.toMap(Sample::path, Function.identity()));
    String first = test.samples().get(0).path();
    String prefix = first.substring(0, first.indexOf('#') + 1);

    for (SampleImage sample : SampleImages.load()) {
      Sample source = byPath.get(prefix + sample.testIndex());
      assertThat(source).as("test image %d is of a novel class", sample.testIndex()).isNotNull();
      assertThat(sample.label()).as(sample.name()).isEqualTo(source.label());
      assertThat(pixels(decode(sample))).as(sample.name()).isEqualTo(pixels(test.image(source)));
    }
  }

  private static BufferedImage decode(SampleImage sample) throws IOException {
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(sample.png()));
    assertThat(image).as("%s decodes as an image", sample.name()).isNotNull();
    return image;
  }

  private static int[] pixels(BufferedImage image) {
    return image.getRaster().getPixels(0, 0, image.getWidth(), image.getHeight(), (int[]) null);
  }
}
