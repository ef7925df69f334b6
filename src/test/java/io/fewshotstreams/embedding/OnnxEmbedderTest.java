package io.fewshotstreams.embedding;

import static io.fewshotstreams.embedding.TestImages.rgb;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.api.Assumptions.assumeThat;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import io.fewshotstreams.embedding.InvalidImageException.Reason;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class OnnxEmbedderTest {
  private static final EmbedderOptions CPU = new EmbedderOptions(Device.CPU, 1, 64);

  private static OnnxEmbedder rgb;

  @BeforeAll
  static void open() {
    rgb = OnnxEmbedder.open(Fixtures.rgb32(), CPU);
  }

  @AfterAll
  static void close() {
    rgb.close();
  }

  /**
   * 32x32 test picture with different statistics per channel: R = 8x (mean 124, max 248), G = 4y +
   * 100 (mean 162, max 224), B = 255 - 2x - 2y (mean 193, max 255). Swapping channels, writing the
   * wrong layout or skipping normalisation all change the fixture's output.
   */
  private static BufferedImage picture() {
    return TestImages.image(
        32, 32, BufferedImage.TYPE_INT_RGB, (x, y) -> rgb(8 * x, 4 * y + 100, 255 - 2 * x - 2 * y));
  }

  /** The rgb32 fixture's output for pixel means and maxima on the 0..255 scale. */
  private static float[] expectedFeatures(double[] means, double[] maxima) {
    float[] mean = {0.5f, 0.25f, 0.125f};
    float[] std = {0.25f, 0.5f, 2.0f};
    float[] out = new float[6];
    for (int c = 0; c < 3; c++) {
      out[c] = (float) ((means[c] / 255 - mean[c]) / std[c]);
      out[3 + c] = (float) ((maxima[c] / 255 - mean[c]) / std[c]);
    }
    return out;
  }

  @Test
  void shouldReturnGoldenFeaturesForPng() {
    float[] features = rgb.embed(TestImages.png(picture()));

    // float32 mean over 1024 values of order 1: error well below 1e-5.
    assertThat(features)
        .containsExactly(
            expectedFeatures(new double[] {124, 162, 193}, new double[] {248, 224, 255}),
            within(1e-5f));
  }

  @Test
  void shouldReturnGoldenFeaturesForJpegWithinCompressionError() {
    float[] features = rgb.embed(TestImages.jpeg(picture(), 1.0f));
    float[] expected = expectedFeatures(new double[] {124, 162, 193}, new double[] {248, 224, 255});
    float[] std = {0.25f, 0.5f, 2.0f};

    for (int c = 0; c < 3; c++) {
      // Back on the 0..255 scale: lossy coding shifts a smooth image's mean by under 1 level and
      // a single extreme pixel by a few levels.
      assertThat((features[c] - expected[c]) * std[c] * 255)
          .as("mean of channel %d", c)
          .isCloseTo(0f, within(1f));
      assertThat((features[3 + c] - expected[3 + c]) * std[c] * 255)
          .as("max of channel %d", c)
          .isCloseTo(0f, within(8f));
    }
  }

  @Test
  void shouldReturnGoldenFeaturesOfGrayNchwFixture() {
    try (OnnxEmbedder gray = OnnxEmbedder.open(Fixtures.gray28(), CPU)) {
      // Gray levels x + y: mean 27, max 54, min 0 over the 28x28 grid; normalised (v/255-0.5)/0.5.
      float[] features = gray.embed(TestImages.png(TestImages.gray(28, 28, (x, y) -> x + y)));

      assertThat(features)
          .containsExactly(new float[] {27f / 255 * 2 - 1, 54f / 255 * 2 - 1, -1f}, within(1e-5f));
      assertThat(gray.featureSize()).isEqualTo(3);
    }
  }

  @Test
  void shouldResizeLargeImageBeforeEmbedding() {
    // 640x320, left half red, right half blue: after resizing, half the pixels of R and B are 255.
    BufferedImage image =
        TestImages.image(
            640,
            320,
            BufferedImage.TYPE_INT_RGB,
            (x, y) -> x < 320 ? rgb(255, 0, 0) : rgb(0, 0, 255));

    float[] features = rgb.embed(TestImages.png(image));

    assertThat(features)
        .containsExactly(
            expectedFeatures(new double[] {127.5, 0, 127.5}, new double[] {255, 0, 255}),
            within(1e-5f));
  }

  @Test
  void shouldGiveSameFeaturesInBatchesAsOneByOne() {
    List<byte[]> images = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      int shift = 20 * i;
      images.add(
          TestImages.png(
              TestImages.image(
                  40 + i,
                  32,
                  BufferedImage.TYPE_INT_RGB,
                  (x, y) -> rgb((x + shift) % 256, (y * 3 + shift) % 256, (x * y) % 256))));
    }
    // A batch limit of 3 splits the 7 images into chunks of 3, 3 and 1.
    try (OnnxEmbedder small =
        OnnxEmbedder.open(Fixtures.rgb32(), new EmbedderOptions(Device.CPU, 1, 3))) {
      float[][] batched = small.embedBatch(images);

      assertThat(batched).hasDimensions(7, 6);
      for (int i = 0; i < images.size(); i++) {
        // ONNX Runtime may reduce in a different order for another batch size: a few float ulps.
        assertThat(batched[i])
            .as("image %d", i)
            .containsExactly(rgb.embed(images.get(i)), within(1e-5f));
      }
    }
  }

  @Test
  void shouldEmbedDecodedAndPreprocessedImagesLikeEncodedOnes() {
    BufferedImage image = picture();
    float[] expected = rgb.embed(TestImages.png(image));
    float[] tensor = new float[2 * rgb.preprocessor().tensorSize()];
    rgb.preprocessor().preprocess(image, tensor, 0);
    rgb.preprocessor().preprocess(image, tensor, rgb.preprocessor().tensorSize());

    float[][] pair = rgb.embedPreprocessed(tensor, 2);

    assertThat(rgb.embedImages(List.of(image))[0]).containsExactly(expected);
    // A batch of two may be reduced in another order than a batch of one: a few float ulps.
    assertThat(pair[0]).containsExactly(expected, within(1e-5f));
    assertThat(pair[1]).containsExactly(pair[0]);
    assertThat(rgb.embedBatch(List.of())).isEmpty();
  }

  @Test
  void shouldRefusePreprocessedTensorOfWrongLength() {
    assertThatThrownBy(() -> rgb.embedPreprocessed(new float[3072 + 1], 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("batch tensor for 1 images of 3072 floats must have 3072 floats, found 3073");
  }

  @Test
  void shouldNameTheBadImageInABatch() {
    List<byte[]> images = List.of(TestImages.png(picture()), new byte[0]);

    assertThatThrownBy(() -> rgb.embedBatch(images))
        .isInstanceOfSatisfying(
            InvalidImageException.class, e -> assertThat(e.reason()).isEqualTo(Reason.EMPTY))
        .hasMessage("image 1 of 2: image is empty (0 bytes)");
  }

  @Test
  void shouldRefuseCardWithWrongInputName() {
    Backbone wrong =
        Fixtures.rgb32WithCardEdit("\"inputName\": \"pixels\"", "\"inputName\": \"image\"");

    assertThatThrownBy(() -> OnnxEmbedder.open(wrong, CPU))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("expected one input 'image', found ['pixels' [N, 32, 32, 3]]");
  }

  @Test
  void shouldRefuseCardWithWrongFeatureSize() {
    Backbone wrong = Fixtures.rgb32WithCardEdit("\"featureSize\": 6", "\"featureSize\": 256");

    assertThatThrownBy(() -> OnnxEmbedder.open(wrong, CPU))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("model output 'features'")
        .hasMessageContaining("expected shape [1, 256] (featureSize 256), found [1, 6]");
  }

  @Test
  void shouldRefuseCardWhoseLayoutDisagreesWithModel() {
    Backbone wrong = Fixtures.rgb32WithCardEdit("\"NHWC\"", "\"NCHW\"");

    assertThatThrownBy(() -> OnnxEmbedder.open(wrong, CPU))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining(
            "expected shape [N, 3, 32, 32] (NCHW, 3 channels, 32x32), found [N, 32, 32, 3]");
  }

  @Test
  void shouldNameBackboneWhenOnnxRuntimeCannotParseTheModel() {
    byte[] notAModel = "not an ONNX model".getBytes(StandardCharsets.UTF_8);
    String json =
        Fixtures.cardJson(Fixtures.RGB32)
            .replace(Fixtures.rgb32().card().onnxSha256(), Backbone.sha256(notAModel));
    Backbone broken = new Backbone(ModelCard.parse(json, "card"), notAModel, "broken.onnx");

    assertThatThrownBy(() -> OnnxEmbedder.open(broken, CPU))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining(
            "ONNX Runtime cannot load backbone 'test-rgb32-channel-stats' from broken.onnx");
  }

  @Test
  void shouldRefuseInvalidOptionsAndLimits() {
    assertThatThrownBy(() -> new EmbedderOptions(Device.CPU, 0, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxBatchSize must be >= 1, found 0");
    assertThatThrownBy(() -> new EmbedderOptions(Device.CPU, -1, 8))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("found -1");
    assertThatThrownBy(() -> new ImageLimits(0, 100))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxEncodedBytes must be positive, found 0");
  }

  @Test
  void shouldFailClearlyWhenCudaRequestedWithoutCudaProvider() {
    assumeThat(OrtEnvironment.getAvailableProviders())
        .as("CPU-only ONNX Runtime build")
        .doesNotContain(OrtProvider.CUDA);

    assertThatThrownBy(() -> OnnxEmbedder.open(Fixtures.rgb32(), CPU.withDevice(Device.CUDA)))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining(
            "CUDA execution provider requested for backbone 'test-rgb32-channel-stats' but not"
                + " available")
        .hasMessageContaining("-Pgpu");
  }

  @Test
  void shouldFallBackToCpuOnAutoWithIdenticalResults() {
    assumeThat(OrtEnvironment.getAvailableProviders())
        .as("CPU-only ONNX Runtime build")
        .doesNotContain(OrtProvider.CUDA);
    byte[] png = TestImages.png(picture());

    try (OnnxEmbedder auto = OnnxEmbedder.open(Fixtures.rgb32(), CPU.withDevice(Device.AUTO))) {
      assertThat(auto.device()).isEqualTo(Device.CPU);
      assertThat(auto.embed(png)).containsExactly(rgb.embed(png));
    }
  }

  @Test
  void shouldRefuseCallsAfterClose() {
    OnnxEmbedder embedder = OnnxEmbedder.open(Fixtures.rgb32(), CPU);
    embedder.close();
    embedder.close(); // closing twice is harmless

    assertThatThrownBy(() -> embedder.embed(TestImages.png(picture())))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }
}
