package io.fewshotstreams.events;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * How long {@link EventCodec#readQuery} takes for a typical small query: every query passes there.
 * Prints the time; machines differ too much to assert it.
 */
class QueryReadTimeTest {

  /** Enough iterations for the JIT to settle, few enough to keep the unit tests fast. */
  private static final int WARM_UP = 20_000;

  private static final int MEASURED = 20_000;

  @Test
  void shouldReadAOneKilobytePngQueryAndReportTheTime() throws IOException {
    byte[] png = noisePng();
    // about 1 KB: 32 x 32 grey pixels of noise hardly compress
    assertThat(png.length).isBetween(900, 1_400);
    EventCodec codec = new EventCodec();
    byte[] value =
        codec.write(new QueryEvent(1, "shop", "q-000001", new Image(Image.PNG, png), null, 3));

    for (int i = 0; i < WARM_UP; i++) {
      codec.readQuery(value);
    }
    long start = System.nanoTime();
    int bytes = 0;
    for (int i = 0; i < MEASURED; i++) {
      bytes += codec.readQuery(value).image().dataUnsafe().length;
    }
    double microsPerRead = (System.nanoTime() - start) / 1_000.0 / MEASURED;

    assertThat(bytes).isEqualTo(MEASURED * png.length);
    System.out.printf(
        "readQuery of a %d-byte PNG query (%d-byte record): %.1f us per read over %d reads%n",
        png.length, value.length, microsPerRead, MEASURED);
  }

  private static byte[] noisePng() throws IOException {
    BufferedImage image = new BufferedImage(32, 32, BufferedImage.TYPE_BYTE_GRAY);
    Random random = new Random(7);
    for (int y = 0; y < 32; y++) {
      for (int x = 0; x < 32; x++) {
        int grey = random.nextInt(256);
        image.getRaster().setSample(x, y, 0, grey);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(image, "png", out);
    return out.toByteArray();
  }
}
