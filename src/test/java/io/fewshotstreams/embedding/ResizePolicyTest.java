package io.fewshotstreams.embedding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import org.junit.jupiter.api.Test;

/** The card's {@code resize} object: parsing, defaults, refusals, and the geometry of each policy. */
class ResizePolicyTest {

  /** The rgb32 fixture's card (32x32, NHWC) with a resize object added. */
  private static ModelCard rgbWithResize(String resizeJson) {
    String json = Fixtures.cardJson(Fixtures.RGB32);
    return ModelCard.parse(json.replaceFirst("\\{", "{\n  \"resize\": " + resizeJson + ","), "test");
  }

  @Test
  void shouldDefaultToTodaysStretchWhenTheCardHasNoResize() {
    assertThat(ModelCard.parse(Fixtures.cardJson(Fixtures.RGB32), "rgb32").resize())
        .isEqualTo(ModelCard.Resize.STRETCH);
  }

  @Test
  void shouldReadEveryPolicyInAnyCase() {
    ModelCard shorter =
        rgbWithResize("{\"policy\": \"Shorter-Side\", \"size\": 36, \"interpolation\": \"BICUBIC\"}");
    assertThat(shorter.resize().policy()).isEqualTo(ModelCard.ResizePolicy.SHORTER_SIDE);
    assertThat(shorter.resize().size()).isEqualTo(36);
    assertThat(shorter.resize().interpolation()).isEqualTo(ModelCard.Interpolation.BICUBIC);

    ModelCard letterbox = rgbWithResize("{\"policy\": \"letterbox\"}");
    assertThat(letterbox.resize().interpolation()).isEqualTo(ModelCard.Interpolation.BILINEAR);
    assertThat(letterbox.resize().padColor()).as("black by default").containsExactly(0, 0, 0);

    assertThat(rgbWithResize("{\"policy\": \"stretch\"}").resize())
        .isEqualTo(ModelCard.Resize.STRETCH);
  }

  @Test
  void shouldRefuseInconsistentResizeObjectsNamingTheField() {
    assertRefused("{\"policy\": \"crop\"}", "resize.policy", "shorter-side");
    assertRefused("{\"policy\": \"shorter-side\"}", "resize.size", "found 0");
    // 31 < 32: the centre crop would have to pad, which torchvision's eval transforms never do.
    assertRefused("{\"policy\": \"shorter-side\", \"size\": 31}", "resize.size", "found 31");
    assertRefused("{\"policy\": \"letterbox\", \"interpolation\": \"area\"}", "resize.interpolation", "area");
    assertRefused("{\"policy\": \"letterbox\", \"padColor\": [1, 2]}", "resize.padColor", "3 values");
    assertRefused("{\"policy\": \"letterbox\", \"padColor\": [0, 0, 256]}", "resize.padColor", "0..255");
    assertRefused("{\"policy\": \"stretch\", \"size\": 40}", "resize.size", "found 40");
    assertRefused("\"stretch\"", "resize", "an object");
  }

  @Test
  void shouldCentreTheCropOfTheShorterSideResize() {
    // 96x32: the shorter side is already 32, so no filtering; the 32 centre columns are 32..63.
    ModelCard card = rgbWithResize("{\"policy\": \"shorter-side\", \"size\": 32}");
    BufferedImage image =
        TestImages.image(96, 32, BufferedImage.TYPE_INT_RGB, (x, y) -> TestImages.rgb(x, y, 7));
    float[] tensor = new ImagePreprocessor(card, ImageLimits.DEFAULT).preprocess(image);
    assertThat(pixel(card, tensor, 0, 0, 0)).isEqualTo(32);
    assertThat(pixel(card, tensor, 31, 5, 0)).isEqualTo(63);
    assertThat(pixel(card, tensor, 31, 5, 1)).isEqualTo(5);
  }

  @Test
  void shouldPadTheLetterboxWithTheCardsColour() {
    // 64x16 fits as 32x8, centred at rows 12..19; rows above and below are the pad colour.
    ModelCard card = rgbWithResize("{\"policy\": \"letterbox\", \"padColor\": [10, 20, 30]}");
    BufferedImage image =
        TestImages.image(64, 16, BufferedImage.TYPE_INT_RGB, (x, y) -> TestImages.rgb(200, 200, 200));
    float[] tensor = new ImagePreprocessor(card, ImageLimits.DEFAULT).preprocess(image);
    for (int y = 0; y < 32; y++) {
      boolean inside = y >= 12 && y < 20;
      assertThat(pixel(card, tensor, 16, y, 0)).as("row %d", y).isEqualTo(inside ? 200 : 10);
      assertThat(pixel(card, tensor, 16, y, 2)).as("row %d", y).isEqualTo(inside ? 200 : 30);
    }
  }

  /** The 0..255 value of channel c at (x, y) behind an NHWC tensor, undoing mean and std. */
  private static int pixel(ModelCard card, float[] tensor, int x, int y, int c) {
    float v = tensor[(y * card.width() + x) * 3 + c];
    return Math.round((v * card.std()[c] + card.mean()[c]) * 255f);
  }

  private static void assertRefused(String resizeJson, String field, String found) {
    assertThatThrownBy(() -> rgbWithResize(resizeJson))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining(field)
        .hasMessageContaining(found);
  }

  @Test
  void shouldReadInterleavedBytesAsTheGeneralPathDoes() {
    // The decoders' 3-byte BGR images take a direct byte path; an INT_RGB copy takes the general
    // one. A swapped band offset or a lost row stride would make the two differ.
    ModelCard card = rgbWithResize("{\"policy\": \"shorter-side\", \"size\": 40}");
    BufferedImage bytes =
        TestImages.image(
            77, 53, BufferedImage.TYPE_3BYTE_BGR, (x, y) -> TestImages.rgb(3 * x, 4 * y, x ^ y));
    BufferedImage ints =
        TestImages.image(
            77, 53, BufferedImage.TYPE_INT_RGB, (x, y) -> TestImages.rgb(3 * x, 4 * y, x ^ y));
    ImagePreprocessor preprocessor = new ImagePreprocessor(card, ImageLimits.DEFAULT);
    assertThat(preprocessor.preprocess(bytes)).containsExactly(preprocessor.preprocess(ints));
  }
}
