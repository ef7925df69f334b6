package io.fewshotstreams.embedding;

import java.util.Arrays;

/**
 * PIL's {@code Image.resize} for 8-bit images (Pillow's {@code Resample.c}), reproduced bit for
 * bit: per-axis filter coefficients normalised to sum 1 and turned into 22-bit fixed point, a
 * horizontal pass over the source rows that the vertical pass needs, each value rounded and clipped
 * to 8 bits, then the vertical pass rounded the same way. An axis whose size does not change is
 * not filtered. Only the output pixels of a region are computed (the centre crop, for one), which
 * gives the same values as resizing the whole image and cropping, since every output pixel depends
 * on its own coefficients alone.
 */
final class PilResize {
  private static final int PRECISION_BITS = 32 - 8 - 2;

  private PilResize() {}

  /** One axis: for each output index, the first source index and fixed-point coefficients. */
  static final class Axis {
    final int[] start;
    final int[][] coefficients;

    private Axis(int[] start, int[][] coefficients) {
      this.start = start;
      this.coefficients = coefficients;
    }

    /**
     * Pillow's {@code precompute_coeffs} plus {@code normalize_coeffs_8bpc} for an axis from
     * {@code inSize} to {@code outSize} over the whole source.
     */
    static Axis of(int inSize, int outSize, ModelCard.Interpolation filter) {
      double support = filter == ModelCard.Interpolation.BICUBIC ? 2.0 : 1.0;
      double scale = (double) inSize / outSize;
      double filterScale = Math.max(scale, 1.0);
      support *= filterScale;
      int[] start = new int[outSize];
      int[][] coefficients = new int[outSize][];
      for (int xx = 0; xx < outSize; xx++) {
        double center = (xx + 0.5) * scale;
        double ss = 1.0 / filterScale;
        // C's (int) truncates toward zero, as Java's cast does.
        int xmin = Math.max(0, (int) (center - support + 0.5));
        int xmax = Math.min(inSize, (int) (center + support + 0.5)) - xmin;
        double[] k = new double[Math.max(0, xmax)];
        double ww = 0.0;
        for (int x = 0; x < k.length; x++) {
          double w = kernel(filter, (x + xmin - center + 0.5) * ss);
          k[x] = w;
          ww += w;
        }
        int[] fixed = new int[k.length];
        for (int x = 0; x < k.length; x++) {
          double v = ww != 0.0 ? k[x] / ww : k[x];
          fixed[x] =
              v < 0
                  ? (int) (-0.5 + v * (1 << PRECISION_BITS))
                  : (int) (0.5 + v * (1 << PRECISION_BITS));
        }
        start[xx] = xmin;
        coefficients[xx] = fixed;
      }
      return new Axis(start, coefficients);
    }

    int end(int out) {
      return start[out] + coefficients[out].length;
    }
  }

  private static double kernel(ModelCard.Interpolation filter, double x) {
    x = Math.abs(x);
    if (filter == ModelCard.Interpolation.BICUBIC) {
      double a = -0.5;
      if (x < 1.0) {
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
      }
      if (x < 2.0) {
        return (((x - 5) * x + 8) * x - 4) * a;
      }
      return 0.0;
    }
    return x < 1.0 ? 1.0 - x : 0.0;
  }

  /** Pillow's {@code clip8}: a rounded fixed-point sum back to 0..255. */
  static int clip8(int sum) {
    if (sum >= (1 << PRECISION_BITS << 8)) {
      return 255;
    }
    if (sum <= 0) {
      return 0;
    }
    return sum >> PRECISION_BITS;
  }

  /** Reads one source row as 8-bit values, one array per channel. */
  interface Rows {
    void read(int y, int[][] out);
  }

  /**
   * Resizes a {@code srcW x srcH} image to {@code outW x outH} and writes the region {@code [x0,
   * x0 + w) x [y0, y0 + h)} of the result into {@code dest} (one plane per channel, row-major,
   * {@code destW} wide) at {@code (dx, dy)}.
   */
  static void resize(
      Rows rows,
      int channels,
      int srcW,
      int srcH,
      int outW,
      int outH,
      ModelCard.Interpolation filter,
      int x0,
      int y0,
      int w,
      int h,
      double[][] dest,
      int destW,
      int dx,
      int dy) {
    boolean horizontal = outW != srcW;
    boolean vertical = outH != srcH;
    Axis hAxis = horizontal ? Axis.of(srcW, outW, filter) : null;
    Axis vAxis = vertical ? Axis.of(srcH, outH, filter) : null;
    // Source rows the region's output rows draw from.
    int firstRow = vertical ? vAxis.start[y0] : y0;
    int lastRow = vertical ? vAxis.end(y0 + h - 1) : y0 + h;
    for (int t = y0; vertical && t < y0 + h; t++) {
      firstRow = Math.min(firstRow, vAxis.start[t]);
      lastRow = Math.max(lastRow, vAxis.end(t));
    }
    int rowCount = lastRow - firstRow;
    // The horizontal pass's output for the region's columns, one 8-bit value per int.
    int[][] temp = new int[channels][rowCount * w];
    int[][] row = new int[channels][srcW];
    for (int y = firstRow; y < lastRow; y++) {
      rows.read(y, row);
      int base = (y - firstRow) * w;
      for (int c = 0; c < channels; c++) {
        int[] src = row[c];
        int[] t = temp[c];
        if (!horizontal) {
          System.arraycopy(src, x0, t, base, w);
          continue;
        }
        for (int x = 0; x < w; x++) {
          int[] k = hAxis.coefficients[x0 + x];
          int s0 = hAxis.start[x0 + x];
          int ss = 1 << (PRECISION_BITS - 1);
          for (int i = 0; i < k.length; i++) {
            ss += src[s0 + i] * k[i];
          }
          t[base + x] = clip8(ss);
        }
      }
    }
    int[] sums = new int[w];
    for (int c = 0; c < channels; c++) {
      int[] t = temp[c];
      double[] plane = dest[c];
      for (int y = 0; y < h; y++) {
        int destBase = (dy + y) * destW + dx;
        if (!vertical) {
          int srcBase = (y0 + y - firstRow) * w;
          for (int x = 0; x < w; x++) {
            plane[destBase + x] = t[srcBase + x];
          }
          continue;
        }
        int[] k = vAxis.coefficients[y0 + y];
        int s0 = vAxis.start[y0 + y] - firstRow;
        // Row by row for contiguous reads; integer sums do not depend on the order of the terms.
        Arrays.fill(sums, 1 << (PRECISION_BITS - 1));
        for (int i = 0; i < k.length; i++) {
          int weight = k[i];
          int rowBase = (s0 + i) * w;
          for (int x = 0; x < w; x++) {
            sums[x] += t[rowBase + x] * weight;
          }
        }
        for (int x = 0; x < w; x++) {
          plane[destBase + x] = clip8(sums[x]);
        }
      }
    }
  }

  /** Fills every plane with its channel's colour, for the letterbox canvas. */
  static void fill(double[][] planes, int[] color) {
    for (int c = 0; c < planes.length; c++) {
      Arrays.fill(planes[c], color[c]);
    }
  }
}
