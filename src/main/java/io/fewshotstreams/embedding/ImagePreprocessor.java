package io.fewshotstreams.embedding;

import io.fewshotstreams.embedding.InvalidImageException.Reason;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBufferByte;
import java.awt.image.DirectColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.PixelInterleavedSampleModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Turns PNG or JPEG bytes, or a {@link BufferedImage}, into the input tensor a {@link ModelCard}
 * describes. Pure Java ({@code javax.imageio}); no native code.
 *
 * <p>Steps, in order: refuse empty or oversized input; recognise PNG or JPEG by signature; read
 * width and height from the header and refuse more pixels than the limit before decoding anything;
 * decode (CMYK and Adobe YCCK JPEGs through TwelveMonkeys ImageIO); turn the pixels upright by the
 * EXIF orientation; composite transparent pixels onto the card's background; bring the image to
 * the card's height x width by the card's {@link ModelCard.Resize} policy; scale to {@code [0, 1]}
 * by {@code /255}; normalise {@code (x - mean) / std} per channel; write in the card's layout (NCHW
 * or NHWC) without the batch axis.
 *
 * <p>With the {@code area} filter (the default {@code stretch}) the channels are converted first
 * (grayscale is ITU-R BT.601 luminance {@code 0.299 R + 0.587 G + 0.114 B}, grayscale to RGB
 * repeats the value) and each axis is resampled in floating point: area average when shrinking,
 * bilinear with half-pixel centres when enlarging, an axis already at the right size copied
 * exactly. With {@code bilinear} or {@code bicubic} the image is resized as PIL resizes 8-bit
 * images ({@link PilResize}), then cropped or padded, so that the tensor equals torchvision's.
 *
 * <p>Grayscale images (including 16-bit and gray+alpha PNGs) are read from their raw samples, so a
 * gray value {@code v} becomes exactly {@code v / 255} with no colour-space conversion.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class ImagePreprocessor {
  /** Media type of PNG images. */
  public static final String PNG = "image/png";

  /** Media type of JPEG images. */
  public static final String JPEG = "image/jpeg";

  /**
   * Package of the TwelveMonkeys JPEG reader: CMYK and Adobe YCCK JPEGs (which the JDK's reader
   * refuses) and the JDK's own decoder for everything else.
   */
  private static final String TWELVEMONKEYS = "com.twelvemonkeys.imageio.plugins.jpeg.";

  private static final byte[] JPEG_SIGNATURE = {(byte) 0xff, (byte) 0xd8, (byte) 0xff};

  private final ModelCard card;
  private final ImageLimits limits;
  private final float[] mean;
  private final float[] std;

  public ImagePreprocessor(ModelCard card, ImageLimits limits) {
    this.card = Objects.requireNonNull(card, "card");
    this.limits = Objects.requireNonNull(limits, "limits");
    this.mean = card.mean();
    this.std = card.std();
  }

  public ModelCard card() {
    return card;
  }

  public ImageLimits limits() {
    return limits;
  }

  /** Number of floats one image occupies in the tensor: channels x height x width. */
  public int tensorSize() {
    return card.inputElements();
  }

  /**
   * Decodes PNG or JPEG bytes after checking the size limits.
   *
   * @throws InvalidImageException when the bytes are empty, too large, not PNG/JPEG, declare too
   *     many pixels, or are damaged
   */
  public BufferedImage decode(byte[] encoded) {
    Objects.requireNonNull(encoded, "encoded");
    if (encoded.length == 0) {
      throw new InvalidImageException(Reason.EMPTY, "image is empty (0 bytes)");
    }
    if (encoded.length > limits.maxEncodedBytes()) {
      throw new InvalidImageException(
          Reason.TOO_MANY_BYTES,
          "image is " + encoded.length + " bytes, limit is " + limits.maxEncodedBytes());
    }
    String mediaType = mediaType(encoded);
    String format;
    if (PNG.equals(mediaType)) {
      format = "png";
      // The JDK's PNG decoder ignores CRCs and reads the size lazily; check both up front.
      PngStructure.check(encoded, limits.maxPixels());
    } else if (JPEG.equals(mediaType)) {
      format = "jpeg";
    } else {
      throw new InvalidImageException(
          Reason.UNSUPPORTED_FORMAT,
          "unsupported image format: expected PNG or JPEG, first bytes are " + hexPrefix(encoded));
    }
    BufferedImage image = decodeWith(format, encoded);
    // Before anything else, as PIL's exif_transpose: the stored pixels may lie on their side.
    return ExifOrientation.apply(image, ExifOrientation.read(encoded, mediaType));
  }

  /**
   * Decodes and preprocesses one encoded image into a new array of {@link #tensorSize()} floats.
   */
  public float[] preprocess(byte[] encoded) {
    return preprocess(decode(encoded));
  }

  /** Preprocesses one image into a new array of {@link #tensorSize()} floats. */
  public float[] preprocess(BufferedImage image) {
    float[] out = new float[tensorSize()];
    preprocess(image, out, 0);
    return out;
  }

  /**
   * Preprocesses one image into {@code dest[offset .. offset + tensorSize())}, so that a batch
   * tensor can be filled in place.
   *
   * @throws InvalidImageException when the image has more pixels than the limit
   */
  public void preprocess(BufferedImage image, float[] dest, int offset) {
    Objects.checkFromIndexSize(offset, tensorSize(), dest.length);
    write(planes(image), FloatBuffer.wrap(dest), offset);
  }

  /**
   * Preprocesses one image into {@code dest} at absolute float index {@code offset}, leaving the
   * buffer's position unchanged. Works with direct buffers handed to a native runtime: the values
   * are written in place, with no intermediate array.
   */
  public void preprocess(BufferedImage image, FloatBuffer dest, int offset) {
    Objects.checkFromIndexSize(offset, tensorSize(), dest.limit());
    write(planes(image), dest, offset);
  }

  /** The card's planes on the 0..255 scale, by the card's resize policy. */
  private double[][] planes(BufferedImage image) {
    int srcW = image.getWidth();
    int srcH = image.getHeight();
    if ((long) srcW * srcH > limits.maxPixels()) {
      throw tooManyPixels(srcW, srcH, limits.maxPixels());
    }
    ModelCard.Resize resize = card.resize();
    return resize.interpolation() == ModelCard.Interpolation.AREA
        ? resample(image)
        : resizeLikePil(image, resize);
  }

  /**
   * The PIL path: 8-bit RGB (or PIL's 8-bit "L" for one-channel cards), resized with PIL's filter,
   * then cropped or padded as the policy says.
   */
  private double[][] resizeLikePil(BufferedImage image, ModelCard.Resize resize) {
    int srcW = image.getWidth();
    int srcH = image.getHeight();
    int outW = card.width();
    int outH = card.height();
    int channels = card.channels();
    double[][] planes = new double[channels][outH * outW];
    PilResize.Rows rows = eightBitRows(image, channels);
    switch (resize.policy()) {
      case STRETCH ->
          PilResize.resize(
              rows, channels, srcW, srcH, outW, outH, resize.interpolation(), 0, 0, outW, outH,
              planes, outW, 0, 0);
      case SHORTER_SIDE -> {
        // torchvision's Resize(size): the longer side in proportion, truncated.
        int shorter = resize.size();
        int resizedW;
        int resizedH;
        if (srcW <= srcH) {
          resizedW = shorter;
          resizedH = (int) ((double) ((long) shorter * srcH) / srcW);
        } else {
          resizedH = shorter;
          resizedW = (int) ((double) ((long) shorter * srcW) / srcH);
        }
        // torchvision's CenterCrop: int(round((size - crop) / 2.0)), Python rounding half to even.
        int top = (int) Math.rint((resizedH - outH) / 2.0);
        int left = (int) Math.rint((resizedW - outW) / 2.0);
        PilResize.resize(
            rows, channels, srcW, srcH, resizedW, resizedH, resize.interpolation(), left, top,
            outW, outH, planes, outW, 0, 0);
      }
      case LETTERBOX -> {
        double scale = Math.min((double) outW / srcW, (double) outH / srcH);
        int fittedW = Math.min(outW, Math.max(1, (int) Math.floor(srcW * scale + 0.5)));
        int fittedH = Math.min(outH, Math.max(1, (int) Math.floor(srcH * scale + 0.5)));
        PilResize.fill(planes, resize.padColor());
        PilResize.resize(
            rows, channels, srcW, srcH, fittedW, fittedH, resize.interpolation(), 0, 0, fittedW,
            fittedH, planes, outW, (outW - fittedW) / 2, (outH - fittedH) / 2);
      }
      default -> throw new IllegalStateException("unknown resize policy " + resize.policy());
    }
    return planes;
  }

  /**
   * Source rows as PIL holds them: 8-bit R, G, B (alpha composited onto the card's background,
   * rounded), or for one channel PIL's {@code convert("L")}: {@code (19595 R + 38470 G + 7471 B +
   * 0x8000) >> 16}, which keeps a gray pixel's value.
   */
  private PilResize.Rows eightBitRows(BufferedImage image, int channels) {
    PilResize.Rows direct = interleavedRgbBytes(image, channels);
    if (direct != null) {
      return direct;
    }
    RowSource source = RowSource.of(image, card.background().value(), 3);
    float[][] rgb = new float[3][image.getWidth()];
    return (y, out) -> {
      source.read(y, rgb);
      int w = rgb[0].length;
      for (int x = 0; x < w; x++) {
        int r = eightBit(rgb[0][x]);
        int g = eightBit(rgb[1][x]);
        int b = eightBit(rgb[2][x]);
        if (channels == 3) {
          out[0][x] = r;
          out[1][x] = g;
          out[2][x] = b;
        } else {
          out[0][x] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
        }
      }
    };
  }

  /**
   * Opaque 8-bit sRGB images with interleaved bytes (what the JPEG and PNG decoders return for
   * colour photos) read straight from their byte array: the same values as the general path,
   * without a float round trip per sample. Null for any other image.
   */
  private static PilResize.Rows interleavedRgbBytes(BufferedImage image, int channels) {
    ColorModel cm = image.getColorModel();
    Raster raster = image.getRaster();
    if (!(cm instanceof ComponentColorModel)
        || cm.hasAlpha()
        || !cm.getColorSpace().isCS_sRGB()
        || raster.getNumBands() != 3
        || !(raster.getSampleModel() instanceof PixelInterleavedSampleModel sm)
        || !(raster.getDataBuffer() instanceof DataBufferByte buffer)
        || buffer.getNumBanks() != 1
        || raster.getParent() != null
        || raster.getSampleModelTranslateX() != 0
        || raster.getSampleModelTranslateY() != 0) {
      return null;
    }
    for (int b = 0; b < 3; b++) {
      if (cm.getComponentSize(b) != 8) {
        return null;
      }
    }
    byte[] data = buffer.getData();
    int base = buffer.getOffset();
    int[] offsets = sm.getBandOffsets();
    int pixelStride = sm.getPixelStride();
    int scanline = sm.getScanlineStride();
    int width = image.getWidth();
    return (y, out) -> {
      int row = base + y * scanline;
      for (int x = 0, i = row; x < width; x++, i += pixelStride) {
        int r = data[i + offsets[0]] & 0xff;
        int g = data[i + offsets[1]] & 0xff;
        int b = data[i + offsets[2]] & 0xff;
        if (channels == 3) {
          out[0][x] = r;
          out[1][x] = g;
          out[2][x] = b;
        } else {
          out[0][x] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
        }
      }
    };
  }

  private static int eightBit(float v) {
    return Math.max(0, Math.min(255, Math.round(v)));
  }

  /** Writes the normalised planes at absolute index {@code offset}, in the card's layout. */
  private void write(double[][] planes, FloatBuffer dest, int offset) {
    int channels = card.channels();
    int pixels = card.height() * card.width();
    boolean nchw = card.layout() == ModelCard.Layout.NCHW;
    for (int c = 0; c < channels; c++) {
      for (int p = 0; p < pixels; p++) {
        dest.put(offset + (nchw ? c * pixels + p : p * channels + c), normalised(planes, c, p));
      }
    }
  }

  /** Pixel {@code p} of channel {@code c}, scaled to [0, 1] and normalised by the card. */
  private float normalised(double[][] planes, int c, int p) {
    // Same float32 steps as the usual ToTensor + Normalize: x/255, then (x - mean)/std.
    return ((float) planes[c][p] / 255f - mean[c]) / std[c];
  }

  static InvalidImageException tooManyPixels(long width, long height, long limit) {
    return new InvalidImageException(
        Reason.TOO_MANY_PIXELS,
        "image declares "
            + width
            + "x"
            + height
            + " = "
            + (width * height)
            + " pixels, limit is "
            + limit);
  }

  private BufferedImage decodeWith(String format, byte[] encoded) {
    Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format);
    if (!readers.hasNext()) {
      throw new InvalidImageException(
          Reason.UNSUPPORTED_FORMAT, "no " + format + " decoder available in this Java runtime");
    }
    ImageReader reader = readers.next();
    while (!reader.getClass().getName().startsWith(TWELVEMONKEYS) && readers.hasNext()) {
      // TwelveMonkeys registers ahead of the JDK's reader; look for it rather than rely on it.
      ImageReader next = readers.next();
      if (next.getClass().getName().startsWith(TWELVEMONKEYS)) {
        reader.dispose();
        reader = next;
      } else {
        next.dispose();
      }
    }
    List<String> warnings = new ArrayList<>();
    IIOReadWarningListener listener = (source, warning) -> warnings.add(warning);
    reader.addIIOReadWarningListener(listener);
    // MemoryCacheImageInputStream keeps everything in memory: no temporary files per image.
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(encoded))) {
      reader.setInput(in, true, true);
      long width = reader.getWidth(0);
      long height = reader.getHeight(0);
      if (width * height > limits.maxPixels()) {
        throw tooManyPixels(width, height, limits.maxPixels());
      }
      BufferedImage image = reader.read(0);
      // Notes about colour profiles (a CMYK JPEG without one is converted naively, as PIL does)
      // and Adobe markers describe metadata, not damage.
      warnings.removeIf(w -> w.contains("ICC") || w.contains("App14"));
      if (!warnings.isEmpty()) {
        // libjpeg reports a truncated or damaged scan as a warning and returns grey filler pixels.
        throw new InvalidImageException(
            Reason.CORRUPT,
            format.toUpperCase(Locale.ROOT) + " image is damaged: " + String.join("; ", warnings));
      }
      return image;
    } catch (IOException e) {
      // The JDK names variants it cannot decode (CMYK or YCCK JPEG, for one) "Unsupported ...".
      boolean unsupported =
          String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).startsWith("unsupported");
      throw new InvalidImageException(
          unsupported ? Reason.UNSUPPORTED_FORMAT : Reason.CORRUPT,
          format.toUpperCase(Locale.ROOT) + " image cannot be decoded: " + describe(e),
          e);
    } catch (RuntimeException e) {
      if (e instanceof InvalidImageException invalid) {
        throw invalid;
      }
      // The JDK decoders signal some malformed input with unchecked exceptions.
      throw new InvalidImageException(
          Reason.CORRUPT,
          format.toUpperCase(Locale.ROOT) + " image cannot be decoded: " + describe(e),
          e);
    } finally {
      reader.dispose();
    }
  }

  /**
   * Reads the image row by row and resamples it to the card's size. Returns one plane per card
   * channel on the 0..255 scale, each {@code height * width} values in row-major order (rounded to
   * float by the caller, as before normalising). Memory is
   * bounded by one source row plus the output, whatever the source size.
   */
  private double[][] resample(BufferedImage image) {
    int srcW = image.getWidth();
    int srcH = image.getHeight();
    int channels = card.channels();
    int outW = card.width();
    int outH = card.height();
    Weights horizontal = Weights.of(srcW, outW);
    Weights vertical = Weights.of(srcH, outH);
    RowSource rows = RowSource.of(image, card.background().value(), channels);
    float[][] row = new float[channels][srcW];
    double[][] out = new double[channels][outH * outW];
    double[] resampledRow = new double[outW];
    int firstTarget = 0;
    for (int y = 0; y < srcH; y++) {
      // Skip the work for source rows no target row draws from (large shrink factors).
      while (firstTarget < outH && vertical.end(firstTarget) <= y) {
        firstTarget++;
      }
      if (firstTarget >= outH || vertical.start(firstTarget) > y) {
        continue;
      }
      rows.read(y, row);
      for (int c = 0; c < channels; c++) {
        horizontal.apply(row[c], resampledRow);
        for (int t = firstTarget; t < outH && vertical.start(t) <= y; t++) {
          double w = vertical.weight(t, y);
          if (w != 0.0) {
            double[] plane = out[c];
            int base = t * outW;
            for (int x = 0; x < outW; x++) {
              plane[base + x] += w * resampledRow[x];
            }
          }
        }
      }
    }
    return out;
  }

  /**
   * The media type of an encoded image from its leading bytes: {@value #PNG}, {@value #JPEG}, or
   * null for anything else. Only the signature is read; the image may still be damaged.
   */
  public static String mediaType(byte[] encoded) {
    if (startsWith(encoded, PngStructure.SIGNATURE)) {
      return PNG;
    }
    if (startsWith(encoded, JPEG_SIGNATURE)) {
      return JPEG;
    }
    return null;
  }

  private static boolean startsWith(byte[] bytes, byte[] prefix) {
    if (bytes.length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (bytes[i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  private static String hexPrefix(byte[] bytes) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < Math.min(8, bytes.length); i++) {
      sb.append(i == 0 ? "" : " ").append(String.format("%02x", bytes[i] & 0xff));
    }
    return sb.append(bytes.length > 8 ? " ..." : "").toString();
  }

  private static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder(String.valueOf(e.getMessage()));
    for (Throwable cause = e.getCause(); cause != null && cause != e; cause = cause.getCause()) {
      sb.append(" (")
          .append(cause.getClass().getSimpleName())
          .append(": ")
          .append(cause.getMessage())
          .append(')');
      if (cause.getCause() == cause) {
        break;
      }
    }
    return sb.toString();
  }

  /**
   * Resampling weights along one axis: for each target index, a run of consecutive source indices
   * and their weights (summing to 1).
   */
  private static final class Weights {
    private final int[] start;
    private final double[][] weights;

    private Weights(int[] start, double[][] weights) {
      this.start = start;
      this.weights = weights;
    }

    static Weights of(int src, int dst) {
      int[] start = new int[dst];
      double[][] weights = new double[dst][];
      if (src > dst) {
        // Area average: target i covers source interval [i*scale, (i+1)*scale).
        double scale = (double) src / dst;
        for (int i = 0; i < dst; i++) {
          double lo = (double) i * src / dst;
          double hi = (double) (i + 1) * src / dst;
          int first = (int) Math.floor(lo);
          int last = Math.min(src - 1, (int) Math.ceil(hi) - 1);
          double[] w = new double[last - first + 1];
          for (int s = first; s <= last; s++) {
            w[s - first] = (Math.min(hi, s + 1) - Math.max(lo, s)) / scale;
          }
          start[i] = first;
          weights[i] = w;
        }
      } else {
        // Bilinear with half-pixel centres (align_corners=false), clamped at the edges.
        for (int i = 0; i < dst; i++) {
          double pos = (i + 0.5) * src / dst - 0.5;
          pos = Math.max(0.0, Math.min(src - 1, pos));
          int first = (int) Math.floor(pos);
          double frac = pos - first;
          start[i] = first;
          weights[i] =
              (frac == 0.0 || first + 1 >= src)
                  ? new double[] {1.0}
                  : new double[] {1 - frac, frac};
        }
      }
      return new Weights(start, weights);
    }

    int start(int target) {
      return start[target];
    }

    int end(int target) {
      return start[target] + weights[target].length;
    }

    double weight(int target, int source) {
      int k = source - start[target];
      return k >= 0 && k < weights[target].length ? weights[target][k] : 0.0;
    }

    void apply(float[] src, double[] dst) {
      for (int i = 0; i < dst.length; i++) {
        double[] w = weights[i];
        int s0 = start[i];
        double sum = 0.0;
        for (int k = 0; k < w.length; k++) {
          sum += w[k] * src[s0 + k];
        }
        dst[i] = sum;
      }
    }
  }

  /** Reads one source row as card channels on the 0..255 scale, alpha already composited. */
  private interface RowSource {
    void read(int y, float[][] out);

    static RowSource of(BufferedImage image, float background, int channels) {
      ColorModel cm = image.getColorModel();
      Raster raster = image.getRaster();
      boolean rawGray =
          !(cm instanceof IndexColorModel)
              && !cm.isAlphaPremultiplied()
              && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY
              && raster.getNumBands() == (cm.hasAlpha() ? 2 : 1);
      if (rawGray) {
        return new GrayRows(image, cm, background, channels);
      }
      boolean rawRgb =
          (cm instanceof ComponentColorModel || cm instanceof DirectColorModel)
              && !cm.isAlphaPremultiplied()
              && cm.getColorSpace().isCS_sRGB()
              && cm.getNumComponents() == raster.getNumBands()
              && raster.getNumBands() == (cm.hasAlpha() ? 4 : 3);
      return rawRgb
          ? new RawRgbRows(image, cm, background, channels)
          : new RgbRows(image, background, channels);
    }
  }

  /**
   * Grayscale (and gray + alpha) images read from raw samples: BufferedImage.getRGB would apply a
   * linear-gray to sRGB conversion and change the values the backbone was trained on.
   */
  private static final class GrayRows implements RowSource {
    private final Raster raster;
    private final float background;
    private final int channels;
    private final boolean alpha;
    private final float grayScale;
    private final float alphaScale;
    private final int[] gray;
    private final int[] alphaRow;

    GrayRows(BufferedImage image, ColorModel cm, float background, int channels) {
      this.raster = image.getRaster();
      this.background = background;
      this.channels = channels;
      this.alpha = cm.hasAlpha();
      this.grayScale = 255f / ((1 << cm.getComponentSize(0)) - 1);
      this.alphaScale = alpha ? 1f / ((1 << cm.getComponentSize(1)) - 1) : 0f;
      this.gray = new int[image.getWidth()];
      this.alphaRow = alpha ? new int[image.getWidth()] : null;
    }

    @Override
    public void read(int y, float[][] out) {
      int w = gray.length;
      raster.getSamples(0, y, w, 1, 0, gray);
      if (alpha) {
        raster.getSamples(0, y, w, 1, 1, alphaRow);
      }
      for (int x = 0; x < w; x++) {
        float v = grayScale == 1f ? gray[x] : gray[x] * grayScale;
        if (alpha) {
          float a = alphaRow[x] * alphaScale;
          v = v * a + background * (1 - a);
        }
        for (int c = 0; c < channels; c++) {
          out[c][x] = v;
        }
      }
    }
  }

  /**
   * sRGB images with one band per component (what the PNG and JPEG decoders return), read from raw
   * samples: same values as getRGB for 8-bit data, about ten times faster.
   */
  private static final class RawRgbRows implements RowSource {
    private final Raster raster;
    private final float background;
    private final int channels;
    private final int bands;
    private final float[] scale;
    private final int[] samples;

    RawRgbRows(BufferedImage image, ColorModel cm, float background, int channels) {
      this.raster = image.getRaster();
      this.background = background;
      this.channels = channels;
      this.bands = raster.getNumBands();
      this.scale = new float[bands];
      for (int b = 0; b < bands; b++) {
        // Colour bands go to 0..255; the alpha band (last) to 0..1.
        float max = (1 << cm.getComponentSize(b)) - 1;
        scale[b] = b < 3 ? 255f / max : 1f / max;
      }
      this.samples = new int[image.getWidth() * bands];
    }

    @Override
    public void read(int y, float[][] out) {
      int w = samples.length / bands;
      raster.getPixels(0, y, w, 1, samples);
      for (int x = 0, i = 0; x < w; x++, i += bands) {
        float r = samples[i] * scale[0];
        float g = samples[i + 1] * scale[1];
        float b = samples[i + 2] * scale[2];
        if (bands == 4) {
          float a = samples[i + 3] * scale[3];
          if (a != 1f) {
            r = r * a + background * (1 - a);
            g = g * a + background * (1 - a);
            b = b * a + background * (1 - a);
          }
        }
        store(out, x, r, g, b, channels);
      }
    }
  }

  static void store(float[][] out, int x, float r, float g, float b, int channels) {
    if (channels == 3) {
      out[0][x] = r;
      out[1][x] = g;
      out[2][x] = b;
    } else {
      // Equal channels are already gray; keep them exact rather than re-weighting.
      out[0][x] = (r == g && g == b) ? r : 0.299f * r + 0.587f * g + 0.114f * b;
    }
  }

  /** Every other image (palettes, other colour spaces): non-premultiplied sRGB via getRGB. */
  private static final class RgbRows implements RowSource {
    private final BufferedImage image;
    private final float background;
    private final int channels;
    private final int[] argb;

    RgbRows(BufferedImage image, float background, int channels) {
      this.image = image;
      this.background = background;
      this.channels = channels;
      this.argb = new int[image.getWidth()];
    }

    @Override
    public void read(int y, float[][] out) {
      int w = argb.length;
      image.getRGB(0, y, w, 1, argb, 0, w);
      for (int x = 0; x < w; x++) {
        int p = argb[x];
        int a8 = p >>> 24;
        float r = (p >> 16) & 0xff;
        float g = (p >> 8) & 0xff;
        float b = p & 0xff;
        if (a8 != 255) {
          float a = a8 / 255f;
          r = r * a + background * (1 - a);
          g = g * a + background * (1 - a);
          b = b * a + background * (1 - a);
        }
        store(out, x, r, g, b, channels);
      }
    }
  }
}
