package io.fewshotstreams.embedding;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.nio.charset.StandardCharsets;

/**
 * The EXIF orientation tag (0x0112) of a JPEG (APP1 "Exif") or PNG ({@code eXIf} chunk), and the
 * transpose that brings the decoded pixels upright, as PIL's {@code ImageOps.exif_transpose} does.
 * Cameras and phones store the sensor's pixels and record how to turn them in this tag.
 *
 * <p>The reader is defensive: it only reads inside the given bytes, follows no offset out of the
 * EXIF block, and treats anything malformed or unknown as "no orientation" (1), like PIL, so that
 * a damaged EXIF block never refuses an otherwise good image.
 */
final class ExifOrientation {
  /** No transform: the stored pixels are upright. */
  static final int NORMAL = 1;

  private static final int TAG_ORIENTATION = 0x0112;
  private static final int TYPE_SHORT = 3;
  private static final byte[] EXIF_HEADER = "Exif\0\0".getBytes(StandardCharsets.ISO_8859_1);

  private ExifOrientation() {}

  /** The orientation (1..8) recorded in a JPEG or PNG, or {@link #NORMAL} when there is none. */
  static int read(byte[] encoded, String mediaType) {
    if (ImagePreprocessor.JPEG.equals(mediaType)) {
      return fromJpeg(encoded);
    }
    if (ImagePreprocessor.PNG.equals(mediaType)) {
      return fromPng(encoded);
    }
    return NORMAL;
  }

  private static int fromJpeg(byte[] b) {
    int pos = 2; // after SOI
    while (pos + 4 <= b.length) {
      if ((b[pos] & 0xff) != 0xff) {
        return NORMAL;
      }
      int marker = b[pos + 1] & 0xff;
      if (marker == 0xff) {
        pos++; // fill byte
        continue;
      }
      if (marker == 0xda || marker == 0xd9) {
        return NORMAL; // start of scan or end of image: no EXIF before the pixels
      }
      int length = u16(b, pos + 2, false);
      if (length < 2 || pos + 2 + length > b.length) {
        return NORMAL;
      }
      int data = pos + 4;
      int dataLength = length - 2;
      if (marker == 0xe1 && dataLength > EXIF_HEADER.length && startsWith(b, data, EXIF_HEADER)) {
        return fromTiff(b, data + EXIF_HEADER.length, dataLength - EXIF_HEADER.length);
      }
      pos += 2 + length;
    }
    return NORMAL;
  }

  private static int fromPng(byte[] b) {
    int pos = PngStructure.SIGNATURE.length;
    while (pos + 12 <= b.length) {
      long length = u32(b, pos, false);
      if (length > b.length - pos - 12L) {
        return NORMAL;
      }
      String type = new String(b, pos + 4, 4, StandardCharsets.ISO_8859_1);
      if (type.equals("eXIf")) {
        return fromTiff(b, pos + 8, (int) length);
      }
      if (type.equals("IDAT") || type.equals("IEND")) {
        // The PNG specification puts eXIf before IDAT; PIL reads it only there, too.
        return NORMAL;
      }
      pos += 12 + (int) length;
    }
    return NORMAL;
  }

  /** IFD0 of a TIFF structure at {@code start}, {@code length} bytes long. */
  private static int fromTiff(byte[] b, int start, int length) {
    if (length < 8) {
      return NORMAL;
    }
    boolean little;
    if (b[start] == 'I' && b[start + 1] == 'I') {
      little = true;
    } else if (b[start] == 'M' && b[start + 1] == 'M') {
      little = false;
    } else {
      return NORMAL;
    }
    if (u16(b, start + 2, little) != 42) {
      return NORMAL;
    }
    long ifd = u32(b, start + 4, little);
    if (ifd < 8 || ifd + 2 > length) {
      return NORMAL;
    }
    int entries = u16(b, start + (int) ifd, little);
    for (int i = 0; i < entries; i++) {
      long entry = ifd + 2 + 12L * i;
      if (entry + 12 > length) {
        return NORMAL;
      }
      int at = start + (int) entry;
      if (u16(b, at, little) == TAG_ORIENTATION) {
        if (u16(b, at + 2, little) != TYPE_SHORT || u32(b, at + 4, little) < 1) {
          return NORMAL;
        }
        int value = u16(b, at + 8, little);
        return value >= 1 && value <= 8 ? value : NORMAL;
      }
    }
    return NORMAL;
  }

  /**
   * The upright image: {@code image} itself for {@link #NORMAL}, else a transposed copy with the
   * same colour model. Orientations 5 to 8 swap width and height.
   */
  static BufferedImage apply(BufferedImage image, int orientation) {
    if (orientation < 2 || orientation > 8) {
      return image;
    }
    int w = image.getWidth();
    int h = image.getHeight();
    boolean swap = orientation >= 5;
    int outW = swap ? h : w;
    int outH = swap ? w : h;
    ColorModel cm = image.getColorModel();
    WritableRaster out = cm.createCompatibleWritableRaster(outW, outH);
    Raster in = image.getRaster();
    Object pixel = null;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        pixel = in.getDataElements(x, y, pixel);
        // Where stored pixel (x, y) lands in the upright image (EXIF 2.3, PIL's exif_transpose).
        int tx;
        int ty;
        switch (orientation) {
          case 2 -> { // mirrored horizontally
            tx = w - 1 - x;
            ty = y;
          }
          case 3 -> { // rotated 180
            tx = w - 1 - x;
            ty = h - 1 - y;
          }
          case 4 -> { // mirrored vertically
            tx = x;
            ty = h - 1 - y;
          }
          case 5 -> { // transposed
            tx = y;
            ty = x;
          }
          case 6 -> { // stored turned 90 counter-clockwise: turn 90 clockwise
            tx = h - 1 - y;
            ty = x;
          }
          case 7 -> { // transversed
            tx = h - 1 - y;
            ty = w - 1 - x;
          }
          default -> { // 8: stored turned 90 clockwise: turn 90 counter-clockwise
            tx = y;
            ty = w - 1 - x;
          }
        }
        out.setDataElements(tx, ty, pixel);
      }
    }
    return new BufferedImage(cm, out, cm.isAlphaPremultiplied(), null);
  }

  private static boolean startsWith(byte[] b, int at, byte[] prefix) {
    if (at + prefix.length > b.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (b[at + i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  private static int u16(byte[] b, int at, boolean little) {
    if (at < 0 || at + 2 > b.length) {
      return -1;
    }
    int b0 = b[at] & 0xff;
    int b1 = b[at + 1] & 0xff;
    return little ? (b1 << 8) | b0 : (b0 << 8) | b1;
  }

  private static long u32(byte[] b, int at, boolean little) {
    if (at < 0 || at + 4 > b.length) {
      return -1;
    }
    long v = 0;
    for (int i = 0; i < 4; i++) {
      int shift = little ? 8 * i : 8 * (3 - i);
      v |= (b[at + i] & 0xffL) << shift;
    }
    return v;
  }
}
