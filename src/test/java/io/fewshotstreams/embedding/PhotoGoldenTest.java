package io.fewshotstreams.embedding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * Java against PyTorch on the committed photos ({@code tools/export/make_test_photos.py}): a tiny
 * random-weights CNN exported by {@code tools/export/export_backbone.py} once per resize policy,
 * with the features and the 8-bit pixels that PIL and torchvision gave. Also the EXIF-rotated and
 * CMYK photos against their upright RGB twins.
 */
class PhotoGoldenTest {
  static final String PHOTOS = "/photos/";

  /**
   * Golden values are rounded to 1e-7; the same float32 network in PyTorch and ONNX Runtime differs
   * by a few ulps per operation, far below 1e-4 on features of order 0.1 to 1.
   */
  static final double FEATURE_TOLERANCE = 1e-4;

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"shorter-side", "letterbox", "stretch"})
  void shouldSeeThePixelsPilSeesAndGiveThePyTorchFeatures(String policy) throws IOException {
    String folder = "/embedding/tiny-cnn/" + policy + "/";
    JsonNode golden = json(folder + "golden-features.json");
    Backbone backbone = Backbone.fromClasspath(folder + "model-card.json");
    assertThat(backbone.card().resize().policy().label()).isEqualTo(policy);
    List<byte[]> photos = new ArrayList<>();
    for (JsonNode name : golden.get("images")) {
      photos.add(Fixtures.resource(PHOTOS + name.asText()));
    }
    ImagePreprocessor preprocessor = new ImagePreprocessor(backbone.card(), ImageLimits.DEFAULT);
    for (int i = 0; i < photos.size(); i++) {
      // Exact: the same 8-bit pixels as PIL after EXIF transpose, decode, resize, crop or pad.
      assertThat(pixelsSha256(backbone.card(), preprocessor.preprocess(photos.get(i))))
          .as("8-bit pixels of %s under %s", golden.get("images").get(i).asText(), policy)
          .isEqualTo(golden.get("pixelsSha256").get(i).asText());
    }
    float[][] features;
    try (OnnxEmbedder embedder =
        OnnxEmbedder.open(backbone, EmbedderOptions.DEFAULT.withDevice(Device.CPU))) {
      features = embedder.embedBatch(photos);
    }
    assertFeatures(features, golden, FEATURE_TOLERANCE);
  }

  @Test
  void shouldGiveAnExifRotatedPngTheFeaturesOfItsUprightTwin() {
    // Lossless twins: the upright pixels are identical, so the tensors are identical.
    assertThat(tensor("rotated-exif6.png", "shorter-side"))
        .containsExactly(tensor("portrait-120x160.png", "shorter-side"));
  }

  @Test
  void shouldGiveAnExifRotatedJpegTheFeaturesOfItsUprightTwin() {
    float[] rotated = features("rotated-exif6.jpg");
    float[] upright = features("upright-128x160.jpg");
    // Two JPEG encodings of the same pixels on the same 16-pixel block grid differ by compression
    // noise only: measured cosine 0.999996, largest difference 5e-4. Different photos through this
    // random network give cosines of 0.93 to 0.99 and differences of 0.05 to 0.09, so the bounds
    // below fail if the orientation is ignored or applied the wrong way round.
    assertThat(cosine(rotated, upright)).isGreaterThan(0.99995);
    assertWithin(rotated, upright, 2e-3f);
  }

  @Test
  void shouldDecodeCmykJpegsLikeTheirRgbTwins() {
    float[] cmyk = features("cmyk-160x120.jpg");
    float[] rgb = features("landscape-160x120.jpg");
    // PIL made the CMYK file from the RGB JPEG's decoded pixels (C = 255 - R, ..., K = 0); with no
    // ICC profile both PIL and TwelveMonkeys convert back naively, so only the second JPEG
    // encoding (quality 95) separates the twins: measured cosine 0.9999997, largest difference
    // 1.7e-4 (different photos: see above).
    assertThat(cosine(cmyk, rgb)).isGreaterThan(0.99995);
    assertWithin(cmyk, rgb, 1e-3f);
  }

  private static void assertWithin(float[] actual, float[] expected, float tolerance) {
    for (int j = 0; j < expected.length; j++) {
      assertThat(actual[j]).as("feature %d", j).isCloseTo(expected[j], within(tolerance));
    }
  }

  static void assertFeatures(float[][] features, JsonNode golden, double tolerance) {
    JsonNode expected = golden.get("features");
    assertThat(features.length).isEqualTo(expected.size());
    for (int i = 0; i < features.length; i++) {
      assertThat(features[i]).hasSize(expected.get(i).size());
      for (int j = 0; j < features[i].length; j++) {
        double e = expected.get(i).get(j).asDouble();
        assertThat((double) features[i][j])
            .as("image %s feature %d", golden.get("images").get(i).asText(), j)
            .isCloseTo(e, within(tolerance * Math.max(1, Math.abs(e))));
      }
    }
  }

  /** The 8-bit CHW pixels behind a normalised tensor, hashed as the export tool hashes them. */
  static String pixelsSha256(ModelCard card, float[] tensor) {
    float[] mean = card.mean();
    float[] std = card.std();
    int plane = card.height() * card.width();
    byte[] pixels = new byte[tensor.length];
    for (int i = 0; i < tensor.length; i++) {
      int c = i / plane;
      long v = Math.round(((double) tensor[i] * std[c] + mean[c]) * 255.0);
      pixels[i] = (byte) v;
    }
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(pixels));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static float[] tensor(String photo, String policy) {
    Backbone backbone = Backbone.fromClasspath("/embedding/tiny-cnn/" + policy + "/model-card.json");
    return new ImagePreprocessor(backbone.card(), ImageLimits.DEFAULT)
        .preprocess(Fixtures.resource(PHOTOS + photo));
  }

  private static float[] features(String photo) {
    Backbone backbone = Backbone.fromClasspath("/embedding/tiny-cnn/shorter-side/model-card.json");
    try (OnnxEmbedder embedder =
        OnnxEmbedder.open(backbone, EmbedderOptions.DEFAULT.withDevice(Device.CPU))) {
      return embedder.embed(Fixtures.resource(PHOTOS + photo));
    }
  }

  static double cosine(float[] a, float[] b) {
    double dot = 0;
    double na = 0;
    double nb = 0;
    for (int i = 0; i < a.length; i++) {
      dot += (double) a[i] * b[i];
      na += (double) a[i] * a[i];
      nb += (double) b[i] * b[i];
    }
    return dot / Math.sqrt(na * nb);
  }

  static JsonNode json(String resource) throws IOException {
    return new ObjectMapper().readTree(Fixtures.resource(resource));
  }
}
