package io.fewshotstreams.embedding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.fewshotstreams.embedding.InvalidImageException.Reason;
import java.awt.image.BufferedImage;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class InvalidImageTest {
  private final ImagePreprocessor preprocessor =
      new ImagePreprocessor(Fixtures.rgb32().card(), ImageLimits.DEFAULT);

  private static BufferedImage photo() {
    return TestImages.image(
        64,
        48,
        BufferedImage.TYPE_INT_RGB,
        (x, y) -> TestImages.rgb((x * 4) % 256, (y * 5) % 256, (x * y) % 256));
  }

  private InvalidImageException refusal(byte[] bytes) {
    return catchThrowableOfType(InvalidImageException.class, () -> preprocessor.preprocess(bytes));
  }

  @Test
  void shouldRefuseEmptyBytes() {
    InvalidImageException e = refusal(new byte[0]);

    assertThat(e.reason()).isEqualTo(Reason.EMPTY);
    assertThat(e).hasMessage("image is empty (0 bytes)");
  }

  @Test
  void shouldRefuseNonImageBytesAsUnsupported() {
    InvalidImageException e = refusal("hello, not an image".getBytes());

    assertThat(e.reason()).isEqualTo(Reason.UNSUPPORTED_FORMAT);
    assertThat(e).hasMessageContaining("expected PNG or JPEG, first bytes are 68 65 6c 6c");
  }

  @Test
  void shouldRefuseOtherImageFormats() {
    assertThat(refusal(TestImages.encode(photo(), "gif")).reason())
        .isEqualTo(Reason.UNSUPPORTED_FORMAT);
    assertThat(refusal(TestImages.encode(photo(), "bmp")).reason())
        .isEqualTo(Reason.UNSUPPORTED_FORMAT);
  }

  @Test
  void shouldRefuseTooManyEncodedBytesBeforeLookingAtThem() {
    ImagePreprocessor strict =
        new ImagePreprocessor(Fixtures.rgb32().card(), new ImageLimits(1000, 1 << 24));
    byte[] big = new byte[1001]; // one byte over the limit, and not even an image

    InvalidImageException e =
        catchThrowableOfType(InvalidImageException.class, () -> strict.decode(big));

    assertThat(e.reason()).isEqualTo(Reason.TOO_MANY_BYTES);
    assertThat(e).hasMessage("image is 1001 bytes, limit is 1000");
  }

  @Test
  void shouldRefusePngDeclaringHugeSizeQuicklyWithoutDecoding() {
    byte[] bomb = TestImages.pngDeclaring(30000, 30000);
    assertThat(bomb.length).as("the whole file is tiny").isLessThan(200);

    // Decoding 900 megapixels would take seconds and gigabytes; the header check takes
    // microseconds.
    InvalidImageException e = assertTimeoutPreemptively(Duration.ofSeconds(1), () -> refusal(bomb));

    assertThat(e.reason()).isEqualTo(Reason.TOO_MANY_PIXELS);
    assertThat(e).hasMessage("image declares 30000x30000 = 900000000 pixels, limit is 16777216");
  }

  @Test
  void shouldRefuseJpegDeclaringHugeSize() {
    byte[] jpeg = TestImages.jpeg(photo(), 0.9f);
    int sof = indexOf(jpeg, (byte) 0xff, (byte) 0xc0);
    assertThat(sof).as("baseline SOF0 marker").isPositive();
    // SOF0: marker(2) length(2) precision(1) height(2) width(2); declare 60000x60000.
    jpeg[sof + 5] = (byte) 0xea;
    jpeg[sof + 6] = (byte) 0x60;
    jpeg[sof + 7] = (byte) 0xea;
    jpeg[sof + 8] = (byte) 0x60;

    InvalidImageException e = assertTimeoutPreemptively(Duration.ofSeconds(1), () -> refusal(jpeg));

    assertThat(e.reason()).isEqualTo(Reason.TOO_MANY_PIXELS);
    assertThat(e).hasMessageContaining("60000x60000 = 3600000000 pixels");
  }

  @Test
  void shouldRefuseDecodedImageOverPixelLimit() {
    ImagePreprocessor strict =
        new ImagePreprocessor(Fixtures.rgb32().card(), new ImageLimits(1 << 20, 1000));

    assertThatThrownBy(() -> strict.preprocess(photo()))
        .isInstanceOf(InvalidImageException.class)
        .hasMessage("image declares 64x48 = 3072 pixels, limit is 1000");
  }

  @Test
  void shouldRefuseTruncatedPng() {
    byte[] png = TestImages.png(photo());

    InvalidImageException e = refusal(Arrays.copyOf(png, png.length / 2));

    assertThat(e.reason()).isEqualTo(Reason.CORRUPT);
    assertThat(e).hasMessageContaining("PNG is truncated");
  }

  @Test
  void shouldRefuseTruncatedJpeg() {
    byte[] jpeg = TestImages.jpeg(photo(), 0.9f);

    InvalidImageException inScan = refusal(Arrays.copyOf(jpeg, jpeg.length * 2 / 3));
    InvalidImageException inHeader = refusal(Arrays.copyOf(jpeg, 40));

    assertThat(inScan.reason()).isEqualTo(Reason.CORRUPT);
    assertThat(inScan).hasMessageContaining("JPEG");
    assertThat(inHeader.reason()).isEqualTo(Reason.CORRUPT);
  }

  @Test
  void shouldRefusePngWithWrongCrc() {
    byte[] png = TestImages.png(photo());
    int idat = TestImages.findChunk(png, "IDAT");
    png[idat + 8 + 5] ^= 0x55; // a data byte changes, its CRC does not

    InvalidImageException e = refusal(png);

    assertThat(e.reason()).isEqualTo(Reason.CORRUPT);
    assertThat(e).hasMessageContaining("PNG chunk IDAT").hasMessageContaining("CRC");
  }

  @Test
  void shouldRefusePngWhoseCompressedDataIsGarbage() {
    byte[] png = TestImages.png(photo());
    int ihdr = TestImages.findChunk(png, "IHDR");
    byte[] header = Arrays.copyOfRange(png, 0, ihdr + 25); // signature + IHDR chunk
    byte[] garbage = new byte[300];
    new SplittableRandom(7).nextBytes(garbage);
    byte[] broken =
        TestImages.concat(
            header, TestImages.chunk("IDAT", garbage), TestImages.chunk("IEND", new byte[0]));

    InvalidImageException e = refusal(broken);

    assertThat(e.reason()).isEqualTo(Reason.CORRUPT);
    assertThat(e).hasMessageContaining("PNG image cannot be decoded");
  }

  @Test
  void shouldRefuseEveryDamagedVariantWithInvalidImageExceptionOnly() {
    // Random byte flips and cuts of valid PNG and JPEG files: each one must either decode or be
    // refused with InvalidImageException, never another exception or a hang.
    SplittableRandom random = new SplittableRandom(42);
    byte[][] originals = {TestImages.png(photo()), TestImages.jpeg(photo(), 0.8f)};
    assertTimeoutPreemptively(
        Duration.ofSeconds(60),
        () -> {
          for (byte[] original : originals) {
            for (int trial = 0; trial < 150; trial++) {
              byte[] damaged = original.clone();
              int flips = 1 + random.nextInt(4);
              for (int k = 0; k < flips; k++) {
                damaged[random.nextInt(2, damaged.length)] = (byte) random.nextInt(256);
              }
              if (trial % 3 == 0) {
                damaged = Arrays.copyOf(damaged, 3 + random.nextInt(damaged.length - 3));
              }
              try {
                preprocessor.preprocess(damaged);
              } catch (InvalidImageException expected) {
                assertThat(expected.getMessage()).isNotBlank();
              }
            }
          }
        });
  }

  private static int indexOf(byte[] data, byte a, byte b) {
    for (int i = 0; i + 1 < data.length; i++) {
      if (data[i] == a && data[i + 1] == b) {
        return i;
      }
    }
    return -1;
  }
}
