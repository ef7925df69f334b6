package io.fewshotstreams.embedding;

import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fewshotstreams.dataset.FashionMnist;
import io.fewshotstreams.dataset.IdxDataset;
import java.nio.file.Files;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The bundled ONNX backbone, run by ONNX Runtime from Java, gives the features PyTorch gave for
 * the same Fashion-MNIST test images when the model was exported ({@code tools/pretrain} writes
 * {@code golden-features.json} beside the export).
 */
class BundledBackboneGoldenTest {

  @Test
  void shouldReproduceThePyTorchFeaturesOfTheExport() throws IOException {
    JsonNode golden;
    try (InputStream in = getClass().getResourceAsStream("/backbone/golden-features.json")) {
      golden = new ObjectMapper().readTree(in);
    }
    assumeTrue(
        Files.isDirectory(FashionMnist.DEFAULT_DIR),
        "Fashion-MNIST (Debian package dataset-fashion-mnist) not installed at "
            + FashionMnist.DEFAULT_DIR);
    IdxDataset test = FashionMnist.open(FashionMnist.DEFAULT_DIR, "test", Set.of());
    List<BufferedImage> images = new ArrayList<>();
    for (JsonNode index : golden.get("indices")) {
      images.add(test.image(test.samples().get(index.asInt())));
    }

    Backbone backbone = Backbone.bundled();
    float[][] features;
    try (OnnxEmbedder embedder =
        OnnxEmbedder.open(backbone, EmbedderOptions.DEFAULT.withDevice(Device.CPU))) {
      features = embedder.embedImages(images);
    }

    for (int i = 0; i < features.length; i++) {
      JsonNode expected = golden.get("features").get(i);
      assertThat(features[i]).hasSize(backbone.card().featureSize()).hasSize(expected.size());
      for (int j = 0; j < features[i].length; j++) {
        double e = expected.get(j).asDouble();
        // golden values are rounded to 1e-6; float32 kernels of two runtimes differ by a few ulps
        assertThat((double) features[i][j])
            .as("image %d feature %d", i, j)
            .isCloseTo(e, within(1e-4 * Math.max(1, Math.abs(e))));
      }
    }
  }
}
