package io.fewshotstreams.embedding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The "bring your own backbone" path with a real-size network: {@code tools/export} turns a
 * torchvision ResNet-18 (random weights; nothing is downloaded) into ONNX and a card, and the Java
 * embedder reproduces PyTorch's features on the committed photos within 1e-4. Runs only where
 * Debian's Python with PyTorch and torchvision is installed; the ONNX file (about 45 MB) is written
 * to a temporary folder and never committed.
 */
class ExportedResNet18IT {
  private static final Path PYTHON = Path.of("/usr/bin/python3");
  private static final String[] PHOTOS = {
    "landscape-160x120.jpg", "portrait-120x160.png", "panorama-300x100.png", "small-64x48.png",
    "rotated-exif6.jpg", "cmyk-160x120.jpg"
  };

  @Test
  void shouldGiveTheFeaturesPyTorchGivesForAnExportedResNet18(@TempDir Path dir)
      throws IOException, InterruptedException {
    assumeTrue(
        Files.isExecutable(PYTHON) && pythonHasTorchvision(),
        PYTHON + " with torch and torchvision (Debian python3-torch, python3-torchvision) is not"
            + " installed; the ResNet-18 export path is not tested here");
    List<String> command =
        new ArrayList<>(
            List.of(
                PYTHON.toString(), "tools/export/export_backbone.py", "--arch", "resnet18",
                "--out", dir.toString(), "--golden"));
    for (String photo : PHOTOS) {
      command.add(Path.of("src/test/resources/photos", photo).toString());
    }
    Path log = dir.resolve("export.log");
    Process export = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    assertThat(export.waitFor(5, TimeUnit.MINUTES)).as("export finished within 5 minutes").isTrue();
    assertThat(export.exitValue())
        .as("export exit status; its output:%n%s", Files.readString(log, StandardCharsets.UTF_8))
        .isZero();

    Backbone backbone = Backbone.load(dir.resolve("model-card.json"));
    ModelCard card = backbone.card();
    // torchvision's ResNet-18 evaluation transforms: resize 256, centre crop 224, bilinear.
    assertThat(card.resize().policy()).isEqualTo(ModelCard.ResizePolicy.SHORTER_SIDE);
    assertThat(card.resize().size()).isEqualTo(256);
    assertThat(card.height()).isEqualTo(224);
    assertThat(card.featureSize()).as("ResNet-18's pooled features").isEqualTo(512);
    assertThat(card.description()).contains("RANDOM WEIGHTS");

    JsonNode golden = new ObjectMapper().readTree(dir.resolve("golden-features.json").toFile());
    List<byte[]> images = new ArrayList<>();
    for (String photo : PHOTOS) {
      images.add(Fixtures.resource(PhotoGoldenTest.PHOTOS + photo));
    }
    float[][] features;
    try (OnnxEmbedder embedder =
        OnnxEmbedder.open(backbone, EmbedderOptions.DEFAULT.withDevice(Device.CPU))) {
      features = embedder.embedBatch(images);
    }
    PhotoGoldenTest.assertFeatures(features, golden, PhotoGoldenTest.FEATURE_TOLERANCE);
  }

  private static boolean pythonHasTorchvision() throws IOException, InterruptedException {
    Process probe =
        new ProcessBuilder(PYTHON.toString(), "-c", "import torch, torchvision")
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    return probe.waitFor(2, TimeUnit.MINUTES) && probe.exitValue() == 0;
  }
}
