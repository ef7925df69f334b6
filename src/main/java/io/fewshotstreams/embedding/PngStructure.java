package io.fewshotstreams.embedding;

import io.fewshotstreams.embedding.InvalidImageException.Reason;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * Walks a PNG's chunks before any decoding: checks lengths and CRCs (the JDK decoder ignores CRCs)
 * and reads the declared size from IHDR, so that damaged files and decompression bombs are refused
 * cheaply and with a precise message.
 */
final class PngStructure {
  static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  private PngStructure() {}

  /** The width and height declared by IHDR. */
  record Size(long width, long height) {}

  /**
   * Checks every chunk up to IEND and returns the declared size. The size is checked against {@code
   * maxPixels} as soon as IHDR is read, so an oversized image is named as such even when the rest
   * of the file is missing.
   *
   * @throws InvalidImageException TOO_MANY_PIXELS for an oversized image, CORRUPT when the
   *     structure is broken
   */
  static Size check(byte[] png, long maxPixels) {
    int pos = SIGNATURE.length;
    Size size = null;
    CRC32 crc = new CRC32();
    boolean first = true;
    while (true) {
      if (png.length - pos < 12) {
        throw corrupt(
            "PNG is truncated: expected a chunk header at byte "
                + pos
                + ", found "
                + Math.max(0, png.length - pos)
                + " bytes left and no IEND chunk");
      }
      long length = readUint32(png, pos);
      String type = new String(png, pos + 4, 4, StandardCharsets.ISO_8859_1);
      if (length > png.length - pos - 12L) {
        throw corrupt(
            "PNG is truncated: chunk "
                + printable(type)
                + " at byte "
                + pos
                + " declares "
                + length
                + " data bytes, only "
                + (png.length - pos - 12L)
                + " remain");
      }
      int dataLength = (int) length;
      crc.reset();
      crc.update(png, pos + 4, 4 + dataLength);
      long expectedCrc = readUint32(png, pos + 8 + dataLength);
      if (crc.getValue() != expectedCrc) {
        throw corrupt(
            "PNG chunk "
                + printable(type)
                + " at byte "
                + pos
                + " is damaged: CRC is "
                + Long.toHexString(expectedCrc)
                + ", data gives "
                + Long.toHexString(crc.getValue()));
      }
      if (first) {
        if (!type.equals("IHDR") || dataLength != 13) {
          throw corrupt(
              "PNG must start with a 13-byte IHDR chunk, found "
                  + printable(type)
                  + " of "
                  + dataLength
                  + " bytes");
        }
        size = new Size(readUint32(png, pos + 8), readUint32(png, pos + 12));
        if (size.width() == 0
            || size.height() == 0
            || size.width() > Integer.MAX_VALUE
            || size.height() > Integer.MAX_VALUE) {
          throw corrupt(
              "PNG declares an invalid size "
                  + size.width()
                  + "x"
                  + size.height()
                  + "; expected 1.."
                  + Integer.MAX_VALUE
                  + " in each direction");
        }
        if (size.width() * size.height() > maxPixels) {
          throw ImagePreprocessor.tooManyPixels(size.width(), size.height(), maxPixels);
        }
        first = false;
      }
      if (type.equals("IEND")) {
        return size;
      }
      pos += 12 + dataLength;
    }
  }

  private static long readUint32(byte[] b, int pos) {
    return ((b[pos] & 0xffL) << 24)
        | ((b[pos + 1] & 0xffL) << 16)
        | ((b[pos + 2] & 0xffL) << 8)
        | (b[pos + 3] & 0xffL);
  }

  private static String printable(String type) {
    return type.chars().allMatch(ch -> ch >= 'A' && ch <= 'z') ? type : "with an unreadable type";
  }

  private static InvalidImageException corrupt(String message) {
    return new InvalidImageException(Reason.CORRUPT, message);
  }
}
