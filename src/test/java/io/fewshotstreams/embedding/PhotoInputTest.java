package io.fewshotstreams.embedding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.embedding.InvalidImageException.Reason;
import java.awt.image.BufferedImage;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** EXIF orientation and CMYK JPEGs: the good photos, and damaged variants of each. */
class PhotoInputTest {
  private static final String PHOTOS = PhotoGoldenTest.PHOTOS;
  private final ImagePreprocessor preprocessor =
      new ImagePreprocessor(
          Backbone.fromClasspath("/embedding/tiny-cnn/stretch/model-card.json").card(),
          ImageLimits.DEFAULT);

  @Test
  void shouldReadOrientationSixFromJpegAndPng() {
    assertThat(ExifOrientation.read(photo("rotated-exif6.jpg"), ImagePreprocessor.JPEG))
        .isEqualTo(6);
    assertThat(ExifOrientation.read(photo("rotated-exif6.png"), ImagePreprocessor.PNG))
        .isEqualTo(6);
    assertThat(ExifOrientation.read(photo("landscape-160x120.jpg"), ImagePreprocessor.JPEG))
        .isEqualTo(ExifOrientation.NORMAL);
  }

  @Test
  void shouldTurnTheStoredPixelsUpright() {
    // Stored 160 wide and 120 high; orientation 6 shows it 120 wide and 160 high.
    BufferedImage upright = preprocessor.decode(photo("rotated-exif6.png"));
    BufferedImage twin = preprocessor.decode(photo("portrait-120x160.png"));
    assertThat(upright.getWidth()).isEqualTo(120);
    assertThat(upright.getHeight()).isEqualTo(160);
    assertThat(upright.getRGB(0, 0, 120, 160, null, 0, 120))
        .containsExactly(twin.getRGB(0, 0, 120, 160, null, 0, 120));
  }

  @Test
  void shouldApplyEveryOrientationAsPilDoes() {
    // A 3x2 image with distinct pixels; where pixel (x, y) lands for each tag (PIL's transposes).
    BufferedImage image =
        TestImages.image(3, 2, BufferedImage.TYPE_INT_RGB, (x, y) -> TestImages.rgb(x, y, 0));
    int[][] expectedTopRow = {
      {}, {0, 1, 2}, {2, 1, 0}, {2, 1, 0}, {0, 1, 2}, {0, 0}, {0, 0}, {2, 2}, {2, 2}
    };
    int[][] expectedTopRowY = {
      {}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1}, {1, 1, 1}, {0, 1}, {1, 0}, {1, 0}, {0, 1}
    };
    for (int orientation = 1; orientation <= 8; orientation++) {
      BufferedImage turned = ExifOrientation.apply(image, orientation);
      assertThat(turned.getWidth()).isEqualTo(orientation >= 5 ? 2 : 3);
      for (int x = 0; x < turned.getWidth(); x++) {
        int rgb = turned.getRGB(x, 0);
        assertThat(new int[] {(rgb >> 16) & 0xff, (rgb >> 8) & 0xff})
            .as("orientation %d, top row x=%d", orientation, x)
            .containsExactly(expectedTopRow[orientation][x], expectedTopRowY[orientation][x]);
      }
    }
  }

  @Test
  void shouldIgnoreDamagedOrUnknownExifAndStillDecodeTheImage() {
    byte[] good = photo("rotated-exif6.jpg");
    int tiff = indexOf(good, "Exif\0\0".getBytes()) + 6;
    byte[][] variants = {
      patch(good, tiff, 'X', 'X'), // neither II nor MM
      patch(good, tiff + 2, 0, 0), // TIFF magic 42 missing
      patch(good, tiff + 4, 0x7f, 0xff, 0xff, 0xff), // IFD offset far outside the block
      patch(good, tiff + 8, 0xff, 0xff, 0x01, 0x00), // 65535 entries, first not 0x0112: runs off
      orientationValue(good, tiff, 9), // not one of 1..8
      orientationValue(good, tiff, 0),
    };
    for (byte[] variant : variants) {
      assertThat(ExifOrientation.read(variant, ImagePreprocessor.JPEG)).isEqualTo(1);
      // The scan is untouched, so the image decodes, just not turned: 160 wide as stored.
      assertThat(preprocessor.decode(variant).getWidth()).isEqualTo(160);
    }
    // An APP1 segment whose length runs past the end of the file.
    byte[] cut = Arrays.copyOf(good, tiff + 4);
    assertThat(ExifOrientation.read(cut, ImagePreprocessor.JPEG)).isEqualTo(1);
    assertThatThrownBy(() -> preprocessor.decode(cut))
        .isInstanceOfSatisfying(
            InvalidImageException.class, e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT));
  }

  @Test
  void shouldDecodeCmykJpegsThatTheJdkRefuses() {
    BufferedImage cmyk = preprocessor.decode(photo("cmyk-160x120.jpg"));
    assertThat(cmyk.getWidth()).isEqualTo(160);
    assertThat(cmyk.getHeight()).isEqualTo(120);
    assertThat(cmyk.getColorModel().getColorSpace().isCS_sRGB()).isTrue();
  }

  @Test
  void shouldRefuseATruncatedCmykJpegAsCorrupt() {
    byte[] good = photo("cmyk-160x120.jpg");
    byte[] truncated = Arrays.copyOf(good, good.length / 2);
    assertThatThrownBy(() -> preprocessor.decode(truncated))
        .isInstanceOfSatisfying(
            InvalidImageException.class, e -> assertThat(e.reason()).isEqualTo(Reason.CORRUPT));
  }

  @Test
  void shouldRefuseACmykJpegDeclaringTooManyPixelsBeforeDecoding() {
    byte[] huge = declaredSize(photo("cmyk-160x120.jpg"), 60_000, 60_000);
    assertThatThrownBy(() -> preprocessor.decode(huge))
        .isInstanceOfSatisfying(
            InvalidImageException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.TOO_MANY_PIXELS);
              assertThat(e.getMessage()).contains("60000x60000");
            });
  }

  @Test
  void shouldRefuseACmykJpegWithGarbageInItsScan() {
    byte[] good = photo("cmyk-160x120.jpg");
    byte[] damaged = good.clone();
    int scan = indexOf(good, new byte[] {(byte) 0xff, (byte) 0xda}) + 20;
    for (int i = scan; i < good.length - 2; i++) {
      damaged[i] = (byte) 0xff; // every byte a marker prefix: the entropy decoder cannot go on
    }
    assertThatThrownBy(() -> preprocessor.decode(damaged))
        .isInstanceOf(InvalidImageException.class);
  }

  private static byte[] photo(String name) {
    return Fixtures.resource(PHOTOS + name);
  }

  private static byte[] orientationValue(byte[] jpeg, int tiff, int value) {
    // PIL writes big-endian ("MM") TIFF with one IFD entry, tag 0x0112, right after the header;
    // the entry's SHORT value sits 8 bytes into the entry.
    int entry = tiff + 8 + 2;
    assertThat(new int[] {jpeg[entry] & 0xff, jpeg[entry + 1] & 0xff}).containsExactly(0x01, 0x12);
    return patch(jpeg, entry + 8, 0, value);
  }

  private static byte[] patch(byte[] bytes, int at, int... values) {
    byte[] copy = bytes.clone();
    for (int i = 0; i < values.length; i++) {
      copy[at + i] = (byte) values[i];
    }
    return copy;
  }

  /** The JPEG with its start-of-frame header declaring another size. */
  private static byte[] declaredSize(byte[] jpeg, int width, int height) {
    for (int i = 2; i + 9 < jpeg.length; i++) {
      int marker = jpeg[i + 1] & 0xff;
      if ((jpeg[i] & 0xff) == 0xff && (marker == 0xc0 || marker == 0xc1 || marker == 0xc2)) {
        return patch(jpeg, i + 5, height >> 8, height & 0xff, width >> 8, width & 0xff);
      }
    }
    throw new IllegalArgumentException("no start-of-frame marker");
  }

  private static int indexOf(byte[] bytes, byte[] pattern) {
    outer:
    for (int i = 0; i + pattern.length <= bytes.length; i++) {
      for (int j = 0; j < pattern.length; j++) {
        if (bytes[i + j] != pattern[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new IllegalArgumentException("pattern not found");
  }
}
