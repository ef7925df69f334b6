package io.fewshotstreams.embedding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackboneTest {

  @Test
  void shouldLoadCardAndModelFromClasspath() {
    Backbone backbone = Fixtures.rgb32();

    assertThat(backbone.card().id()).isEqualTo("test-rgb32-channel-stats");
    assertThat(backbone.onnxModel()).isEqualTo(Fixtures.resource("/embedding/rgb32/model.onnx"));
    assertThat(backbone.source()).isEqualTo("classpath:/embedding/rgb32/model.onnx");
  }

  @Test
  void shouldLoadModelBesideCardFile(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("model-card.json"), Fixtures.cardJson(Fixtures.RGB32));
    Files.write(dir.resolve("model.onnx"), Fixtures.resource("/embedding/rgb32/model.onnx"));

    Backbone backbone = Backbone.load(dir.resolve("model-card.json"));

    assertThat(backbone.card()).isEqualTo(Fixtures.rgb32().card());
  }

  @Test
  void shouldRefuseModelWhoseDigestDiffersFromCard() {
    ModelCard card = Fixtures.rgb32().card();
    byte[] otherModel = Fixtures.resource("/embedding/gray28/model.onnx");

    assertThatThrownBy(() -> new Backbone(card, otherModel, "gray28/model.onnx"))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("gray28/model.onnx")
        .hasMessageContaining("expects " + card.onnxSha256())
        .hasMessageContaining("has sha-256 " + Fixtures.gray28().card().onnxSha256());
  }

  @Test
  void shouldNameMissingOnnxFile(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("model-card.json"), Fixtures.cardJson(Fixtures.RGB32));

    assertThatThrownBy(() -> Backbone.load(dir.resolve("model-card.json")))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("cannot read ONNX model")
        .hasMessageContaining("model.onnx");
  }

  @Test
  void shouldNameMissingClasspathResource() {
    assertThatThrownBy(() -> Backbone.fromClasspath("/embedding/absent/model-card.json"))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("/embedding/absent/model-card.json not found on the classpath");
  }

  @Test
  void shouldOpenTheBundledBackbone() {
    Backbone backbone = Backbone.bundled();
    try (OnnxEmbedder embedder =
        OnnxEmbedder.open(backbone, EmbedderOptions.DEFAULT.withDevice(Device.CPU))) {
      float[] features =
          embedder.embed(TestImages.png(TestImages.gray(28, 28, (x, y) -> (x * 9) % 256)));

      assertThat(features).hasSize(backbone.card().featureSize());
      for (float f : features) {
        assertThat(Float.isFinite(f)).as("feature is finite").isTrue();
      }
    }
  }
}
