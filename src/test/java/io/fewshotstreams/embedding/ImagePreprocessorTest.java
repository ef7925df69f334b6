package io.fewshotstreams.embedding;

import static io.fewshotstreams.embedding.TestImages.argb;
import static io.fewshotstreams.embedding.TestImages.rgb;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;

class ImagePreprocessorTest {
  // float32 arithmetic on values of order 1: a few ulps of error at most.
  private static final Offset<Float> FLOAT_EPS = within(1e-5f);

  private static final ModelCard RGB = Fixtures.rgb32().card(); // NHWC, 32x32, white background
  private static final ModelCard GRAY = Fixtures.gray28().card(); // NCHW, 28x28, black background

  private final ImagePreprocessor rgb = new ImagePreprocessor(RGB, ImageLimits.DEFAULT);
  private final ImagePreprocessor gray = new ImagePreprocessor(GRAY, ImageLimits.DEFAULT);

  /** The RGB card's normalisation of pixel level {@code v} in channel {@code c}. */
  private static float rgbNorm(float v, int c) {
    return (v / 255f - RGB.mean()[c]) / RGB.std()[c];
  }

  private static float grayNorm(float v) {
    return (v / 255f - 0.5f) / 0.5f;
  }

  /** Value at (x, y, c) of an NHWC 32x32x3 tensor. */
  private static float nhwc(float[] t, int x, int y, int c) {
    return t[(y * 32 + x) * 3 + c];
  }

  @Test
  void shouldWriteNhwcInRgbOrderWithPerChannelNormalisation() {
    BufferedImage image =
        TestImages.image(32, 32, BufferedImage.TYPE_INT_RGB, (x, y) -> rgb(8 * x, 4 * y + 100, 7));

    float[] t = rgb.preprocess(TestImages.png(image));

    assertThat(t).hasSize(32 * 32 * 3);
    assertThat(nhwc(t, 5, 9, 0)).isCloseTo(rgbNorm(40, 0), FLOAT_EPS);
    assertThat(nhwc(t, 5, 9, 1)).isCloseTo(rgbNorm(136, 1), FLOAT_EPS);
    assertThat(nhwc(t, 5, 9, 2)).isCloseTo(rgbNorm(7, 2), FLOAT_EPS);
  }

  @Test
  void shouldWriteNchwPlaneByPlane() {
    BufferedImage image = TestImages.gray(28, 28, (x, y) -> x + 10 * y);

    float[] t = gray.preprocess(image);

    assertThat(t).hasSize(28 * 28);
    assertThat(t[3 * 28 + 2]).isCloseTo(grayNorm(32), FLOAT_EPS); // x=2, y=3
  }

  @Test
  void shouldRepeatGrayValueInEveryChannelForRgbCard() {
    byte[] grayPng = TestImages.png(TestImages.gray(32, 32, (x, y) -> 100));

    float[] t = rgb.preprocess(grayPng);

    for (int c = 0; c < 3; c++) {
      assertThat(nhwc(t, 7, 7, c)).isCloseTo(rgbNorm(100, c), FLOAT_EPS);
    }
  }

  @Test
  void shouldKeepRawGrayLevelsWithoutColourSpaceConversion() {
    // getRGB on a TYPE_BYTE_GRAY image would turn 100 into about 169 (linear gray to sRGB).
    float[] t = gray.preprocess(TestImages.png(TestImages.gray(28, 28, (x, y) -> 100)));

    assertThat(t[0]).isCloseTo(grayNorm(100), FLOAT_EPS);
  }

  @Test
  void shouldUseLuminanceForGrayCard() {
    byte[] png =
        TestImages.png(
            TestImages.image(28, 28, BufferedImage.TYPE_INT_RGB, (x, y) -> rgb(200, 100, 50)));

    float[] t = gray.preprocess(png);

    // BT.601: 0.299 * 200 + 0.587 * 100 + 0.114 * 50 = 124.2
    assertThat(t[100]).isCloseTo(grayNorm(124.2f), FLOAT_EPS);
  }

  @Test
  void shouldCompositeTransparentPixelsOntoCardBackground() {
    // Left half opaque red, right half red at alpha 51/255 = 0.2; top row fully transparent.
    BufferedImage image =
        TestImages.image(
            32,
            32,
            BufferedImage.TYPE_INT_ARGB,
            (x, y) -> y == 0 ? argb(0, 0, 0, 0) : argb(x < 16 ? 255 : 51, 255, 0, 0));
    byte[] png = TestImages.png(image);

    float[] onWhite = rgb.preprocess(png);
    float[] onBlack =
        gray.preprocess(
            TestImages.png(
                TestImages.image(
                    28, 28, BufferedImage.TYPE_INT_ARGB, (x, y) -> argb(51, 255, 255, 255))));

    assertThat(nhwc(onWhite, 3, 0, 1))
        .as("transparent on white")
        .isCloseTo(rgbNorm(255, 1), FLOAT_EPS);
    assertThat(nhwc(onWhite, 3, 5, 1))
        .as("opaque red keeps green 0")
        .isCloseTo(rgbNorm(0, 1), FLOAT_EPS);
    // 0 * 0.2 + 255 * 0.8 = 204 in green and blue; red stays 255.
    assertThat(nhwc(onWhite, 20, 5, 0)).isCloseTo(rgbNorm(255, 0), FLOAT_EPS);
    assertThat(nhwc(onWhite, 20, 5, 1)).isCloseTo(rgbNorm(204, 1), FLOAT_EPS);
    assertThat(nhwc(onWhite, 20, 5, 2)).isCloseTo(rgbNorm(204, 2), FLOAT_EPS);
    // White at alpha 0.2 on black: 255 * 0.2 = 51.
    assertThat(onBlack[0]).isCloseTo(grayNorm(51), FLOAT_EPS);
  }

  @Test
  void shouldCompositePaletteTransparencyOntoBackground() {
    byte[] r = {(byte) 255, 0};
    byte[] g = {0, 0};
    byte[] b = {0, 0};
    IndexColorModel palette = new IndexColorModel(1, 2, r, g, b, 1); // index 1 is transparent
    BufferedImage image = new BufferedImage(32, 32, BufferedImage.TYPE_BYTE_BINARY, palette);
    image.getRaster().setSample(0, 0, 0, 1);

    float[] t = rgb.preprocess(TestImages.png(image));

    assertThat(nhwc(t, 0, 0, 1))
        .as("transparent entry on white")
        .isCloseTo(rgbNorm(255, 1), FLOAT_EPS);
    assertThat(nhwc(t, 1, 0, 0)).as("opaque red entry").isCloseTo(rgbNorm(255, 0), FLOAT_EPS);
    assertThat(nhwc(t, 1, 0, 1)).isCloseTo(rgbNorm(0, 1), FLOAT_EPS);
  }

  @Test
  void shouldAreaAverageLargeNonSquareImage() {
    // 640x320 -> 32x32: each output pixel averages a 20x10 block. Left half red, right half blue,
    // and column 330 (inside output column 16) is white, which lifts column 16 by 1/20 of white.
    BufferedImage image =
        TestImages.image(
            640,
            320,
            BufferedImage.TYPE_INT_RGB,
            (x, y) -> x == 330 ? rgb(255, 255, 255) : x < 320 ? rgb(255, 0, 0) : rgb(0, 0, 255));

    float[] t = rgb.preprocess(TestImages.png(image));

    for (int y : new int[] {0, 17, 31}) {
      assertThat(nhwc(t, 15, y, 0)).isCloseTo(rgbNorm(255, 0), FLOAT_EPS);
      assertThat(nhwc(t, 15, y, 2)).isCloseTo(rgbNorm(0, 2), FLOAT_EPS);
      assertThat(nhwc(t, 16, y, 0)).isCloseTo(rgbNorm(255 / 20f, 0), FLOAT_EPS);
      assertThat(nhwc(t, 16, y, 1)).isCloseTo(rgbNorm(255 / 20f, 1), FLOAT_EPS);
      assertThat(nhwc(t, 17, y, 2)).isCloseTo(rgbNorm(255, 2), FLOAT_EPS);
    }
  }

  @Test
  void shouldAverageOverFractionalBlocksWhenShrinkingByNonIntegerFactor() {
    // 45 columns onto 28: a uniform image must stay uniform whatever the block boundaries.
    float[] t = gray.preprocess(TestImages.gray(45, 101, (x, y) -> 77));

    for (float v : t) {
      assertThat(v).isCloseTo(grayNorm(77), FLOAT_EPS);
    }
  }

  @Test
  void shouldEnlargeBilinearlyWithHalfPixelCentres() {
    // 2x2 -> 28x28, left column 0, right column 200. Output column i samples source position
    // (i + 0.5) * 2 / 28 - 0.5, clamped to [0, 1]; column 14 samples 15/28 of the way to the right.
    float[] t = gray.preprocess(TestImages.gray(2, 2, (x, y) -> x == 0 ? 0 : 200));

    assertThat(t[5 * 28]).as("column 0").isCloseTo(grayNorm(0), FLOAT_EPS);
    assertThat(t[5 * 28 + 6]).as("column 6 is still clamped").isCloseTo(grayNorm(0), FLOAT_EPS);
    assertThat(t[5 * 28 + 14]).isCloseTo(grayNorm(200f * 15 / 28), FLOAT_EPS);
    assertThat(t[5 * 28 + 27]).as("last column").isCloseTo(grayNorm(200), FLOAT_EPS);
  }

  @Test
  void shouldReadSixteenBitGrayPng() {
    BufferedImage image = new BufferedImage(28, 28, BufferedImage.TYPE_USHORT_GRAY);
    for (int y = 0; y < 28; y++) {
      for (int x = 0; x < 28; x++) {
        image.getRaster().setSample(x, y, 0, 65535);
      }
    }

    float[] t = gray.preprocess(TestImages.png(image));

    assertThat(t[0]).isCloseTo(grayNorm(255), FLOAT_EPS);
  }

  @Test
  void shouldFillBatchTensorAtOffsetInArrayAndDirectBuffer() {
    BufferedImage image = TestImages.gray(28, 28, (x, y) -> 3 * x + y);
    float[] single = gray.preprocess(image);
    float[] batch = new float[3 * 784];
    FloatBuffer direct =
        ByteBuffer.allocateDirect(3 * 784 * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();

    gray.preprocess(image, batch, 784);
    gray.preprocess(image, direct, 2 * 784);

    float[] second = new float[784];
    System.arraycopy(batch, 784, second, 0, 784);
    float[] third = new float[784];
    direct.get(2 * 784, third);
    assertThat(second).containsExactly(single);
    assertThat(third).containsExactly(single);
    assertThat(batch[0]).as("first slot untouched").isZero();
    assertThat(direct.position()).as("buffer position unchanged").isZero();
  }
}
