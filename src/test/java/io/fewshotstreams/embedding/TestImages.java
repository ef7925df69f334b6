package io.fewshotstreams.embedding;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.function.IntBinaryOperator;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/** Builds test images in memory: encoded PNG/JPEG and hand-made PNG chunks. */
final class TestImages {
  private TestImages() {}

  /** An image of the given type whose pixel (x, y) has the packed ARGB value {@code argb(x, y)}. */
  static BufferedImage image(int width, int height, int type, IntBinaryOperator argb) {
    BufferedImage image = new BufferedImage(width, height, type);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        image.setRGB(x, y, argb.applyAsInt(x, y));
      }
    }
    return image;
  }

  /**
   * A gray image whose raw sample at (x, y) is {@code value(x, y)}, bypassing colour conversion.
   */
  static BufferedImage gray(int width, int height, IntBinaryOperator value) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        image.getRaster().setSample(x, y, 0, value.applyAsInt(x, y));
      }
    }
    return image;
  }

  static int rgb(int r, int g, int b) {
    return 0xff000000 | (r << 16) | (g << 8) | b;
  }

  static int argb(int a, int r, int g, int b) {
    return (a << 24) | (r << 16) | (g << 8) | b;
  }

  static byte[] png(BufferedImage image) {
    return encode(image, "png");
  }

  static byte[] encode(BufferedImage image, String format) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      if (!ImageIO.write(image, format, out)) {
        throw new IllegalStateException("no " + format + " writer for " + image);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  static byte[] jpeg(BufferedImage image, float quality) {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
      writer.setOutput(stream);
      ImageWriteParam param = writer.getDefaultWriteParam();
      param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
      param.setCompressionQuality(quality);
      writer.write(null, new IIOImage(image, null, null), param);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      writer.dispose();
    }
    return out.toByteArray();
  }

  /** One PNG chunk with a correct CRC. */
  static byte[] chunk(String type, byte[] data) {
    ByteBuffer buffer = ByteBuffer.allocate(12 + data.length);
    byte[] typeBytes = type.getBytes(StandardCharsets.ISO_8859_1);
    buffer.putInt(data.length).put(typeBytes).put(data);
    CRC32 crc = new CRC32();
    crc.update(typeBytes);
    crc.update(data);
    buffer.putInt((int) crc.getValue());
    return buffer.array();
  }

  /** A structurally valid 8-bit grayscale PNG declaring {@code width x height} with tiny IDAT. */
  static byte[] pngDeclaring(int width, int height) {
    byte[] ihdr =
        ByteBuffer.allocate(13)
            .putInt(width)
            .putInt(height)
            .put((byte) 8)
            .put((byte) 0)
            .put((byte) 0)
            .put((byte) 0)
            .put((byte) 0)
            .array();
    return concat(
        PngStructure.SIGNATURE,
        chunk("IHDR", ihdr),
        chunk("IDAT", deflate(new byte[64])),
        chunk("IEND", new byte[0]));
  }

  /** Offset of the first chunk of the given type in a PNG, or -1. */
  static int findChunk(byte[] png, String type) {
    int pos = 8;
    while (pos + 8 <= png.length) {
      int length = ByteBuffer.wrap(png, pos, 4).getInt();
      if (new String(png, pos + 4, 4, StandardCharsets.ISO_8859_1).equals(type)) {
        return pos;
      }
      pos += 12 + length;
    }
    return -1;
  }

  static byte[] deflate(byte[] data) {
    Deflater deflater = new Deflater();
    deflater.setInput(data);
    deflater.finish();
    byte[] buffer = new byte[data.length + 64];
    int n = deflater.deflate(buffer);
    deflater.end();
    byte[] out = new byte[n];
    System.arraycopy(buffer, 0, out, 0, n);
    return out;
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      out.writeBytes(part);
    }
    return out.toByteArray();
  }
}
