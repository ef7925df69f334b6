package io.fewshotstreams.embedding;

/**
 * Bounds on untrusted images, checked before decoding so that a hostile image cannot exhaust
 * memory: the encoded size first, then the pixel count declared in the header.
 *
 * @param maxEncodedBytes largest accepted encoded image, in bytes
 * @param maxPixels largest accepted width times height, as declared by the image header
 */
public record ImageLimits(long maxEncodedBytes, long maxPixels) {

  /** 10 MiB encoded and 4096 x 4096 pixels: far above what a classifier input needs. */
  public static final ImageLimits DEFAULT = new ImageLimits(10L * 1024 * 1024, 4096L * 4096);

  public ImageLimits {
    if (maxEncodedBytes <= 0) {
      throw new IllegalArgumentException(
          "maxEncodedBytes must be positive, found " + maxEncodedBytes);
    }
    // A BufferedImage holds at most Integer.MAX_VALUE pixels in one int[] raster.
    if (maxPixels <= 0 || maxPixels > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "maxPixels must be in [1, " + Integer.MAX_VALUE + "], found " + maxPixels);
    }
  }
}
