package io.fewshotstreams.bench;

import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.ImageLimits;
import io.fewshotstreams.embedding.ImagePreprocessor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Throughput of the embedding stages at one batch size: ONNX Runtime alone on a tensor prepared
 * beforehand ({@link Embedder#embedPreprocessed}), and the whole pipeline from encoded images
 * ({@link Embedder#embedBatch}: decode, preprocess, ONNX Runtime). Each repeat times one of each,
 * one after the other, so that the ratio compares the two under the same load of the machine.
 */
public final class EmbeddingBench {
  private EmbeddingBench() {}

  /**
   * Medians over the repeats of one batch size.
   *
   * @param onnxImagesPerSecond ONNX Runtime alone
   * @param pipelineImagesPerSecond decode, preprocess and ONNX Runtime
   * @param ratio the pipeline's median over ONNX Runtime's median
   */
  public record Row(
      int batchSize,
      int repeats,
      int imagesPerRepeat,
      double onnxImagesPerSecond,
      double pipelineImagesPerSecond,
      double ratio) {}

  /**
   * Runs {@code warmup} untimed repeats, then {@code repeats} timed ones; each repeat embeds at
   * least {@code minImagesPerRepeat} images (whole batches) through each stage.
   *
   * @param encodedImages PNG or JPEG images, cycled through to fill the batches
   */
  public static Row run(
      Embedder embedder,
      List<byte[]> encodedImages,
      int batchSize,
      int repeats,
      int warmup,
      int minImagesPerRepeat) {
    if (batchSize < 1 || repeats < 1 || warmup < 0 || minImagesPerRepeat < 1) {
      throw new IllegalArgumentException(
          String.format(
              "expected batchSize >= 1, repeats >= 1, warmup >= 0, minImagesPerRepeat >= 1,"
                  + " found %d, %d, %d, %d",
              batchSize, repeats, warmup, minImagesPerRepeat));
    }
    if (encodedImages.isEmpty()) {
      throw new IllegalArgumentException("expected at least one image, found none");
    }
    List<byte[]> batch = new ArrayList<>(batchSize);
    for (int i = 0; i < batchSize; i++) {
      batch.add(encodedImages.get(i % encodedImages.size()));
    }
    float[] tensor = tensor(embedder, batch);
    int calls = (minImagesPerRepeat + batchSize - 1) / batchSize;
    double[] onnx = new double[repeats];
    double[] pipeline = new double[repeats];
    long sink = 0;
    for (int r = 0; r < warmup + repeats; r++) {
      long start = System.nanoTime();
      for (int c = 0; c < calls; c++) {
        sink += embedder.embedPreprocessed(tensor, batchSize).length;
      }
      long onnxNanos = System.nanoTime() - start;
      start = System.nanoTime();
      for (int c = 0; c < calls; c++) {
        sink += embedder.embedBatch(batch).length;
      }
      long pipelineNanos = System.nanoTime() - start;
      if (r >= warmup) {
        onnx[r - warmup] = imagesPerSecond(calls * batchSize, onnxNanos);
        pipeline[r - warmup] = imagesPerSecond(calls * batchSize, pipelineNanos);
      }
    }
    if (sink != 2L * (warmup + repeats) * calls * batchSize) {
      throw new IllegalStateException("expected one feature vector per image, found " + sink);
    }
    double onnxMedian = Percentiles.median(onnx);
    double pipelineMedian = Percentiles.median(pipeline);
    return new Row(
        batchSize, repeats, calls * batchSize, onnxMedian, pipelineMedian, pipelineMedian / onnxMedian);
  }

  /**
   * Where the time of one photo goes, medians over the repeats: decoding the JPEG (with the EXIF
   * check), preprocessing it (colour conversion, resize, crop or pad, normalisation), and ONNX
   * Runtime's share of one image when it runs batches of {@code batchSize}.
   *
   * @param share decode plus preprocess over the whole (decode + preprocess + ONNX per image)
   */
  public record PhotoRow(
      int width,
      int height,
      int encodedBytes,
      double decodeMillis,
      double preprocessMillis,
      double onnxMillisPerImage,
      double share) {}

  /**
   * Times one synthetic JPEG photo of about {@code megapixels} (4:3, quality 0.9) through decode
   * and preprocess, against ONNX Runtime on batches of {@code batchSize} prepared tensors.
   */
  public static PhotoRow photo(
      Embedder embedder, double megapixels, int batchSize, int repeats, int warmup) {
    if (!(megapixels > 0) || batchSize < 1 || repeats < 1 || warmup < 0) {
      throw new IllegalArgumentException(
          String.format(
              "expected megapixels > 0, batchSize >= 1, repeats >= 1, warmup >= 0, found %s, %d,"
                  + " %d, %d",
              megapixels, batchSize, repeats, warmup));
    }
    int width = (int) Math.round(Math.sqrt(megapixels * 1e6 * 4 / 3));
    int height = (int) Math.round(width * 3.0 / 4);
    byte[] jpeg = syntheticJpeg(width, height, 42);
    ImagePreprocessor preprocessor = embedder.preprocessor();
    float[] one = new float[embedder.card().inputElements()];
    float[] batch = new float[batchSize * one.length];
    double[] decode = new double[repeats];
    double[] prepare = new double[repeats];
    double[] onnx = new double[repeats];
    for (int r = 0; r < warmup + repeats; r++) {
      long t0 = System.nanoTime();
      BufferedImage image = preprocessor.decode(jpeg);
      long t1 = System.nanoTime();
      preprocessor.preprocess(image, one, 0);
      long t2 = System.nanoTime();
      embedder.embedPreprocessed(batch, batchSize);
      long t3 = System.nanoTime();
      if (r >= warmup) {
        decode[r - warmup] = (t1 - t0) / 1e6;
        prepare[r - warmup] = (t2 - t1) / 1e6;
        onnx[r - warmup] = (t3 - t2) / 1e6 / batchSize;
      }
    }
    double d = Percentiles.median(decode);
    double p = Percentiles.median(prepare);
    double o = Percentiles.median(onnx);
    return new PhotoRow(width, height, jpeg.length, d, p, o, (d + p) / (d + p + o));
  }

  /**
   * A photo-like JPEG: smooth gradients, a few hard edges and mild noise, so that the decoder
   * does the work a camera picture asks of it. Deterministic for a seed.
   */
  public static byte[] syntheticJpeg(int width, int height, long seed) {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
    Random random = new Random(seed);
    int[] row = new int[width];
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int noise = random.nextInt(17) - 8;
        int r = clamp(40 + 200 * x / width + noise);
        int g = clamp(220 - 150 * y / height - noise);
        int b = clamp(((x / 97 + y / 61) % 2 == 0 ? 70 : 180) + noise);
        row[x] = (r << 16) | (g << 8) | b;
      }
      image.setRGB(0, y, width, 1, row, 0, width);
    }
    ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(out)) {
      writer.setOutput(stream);
      ImageWriteParam param = writer.getDefaultWriteParam();
      param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
      param.setCompressionQuality(0.9f);
      writer.write(null, new IIOImage(image, null, null), param);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      writer.dispose();
    }
    return out.toByteArray();
  }

  private static int clamp(int v) {
    return Math.max(0, Math.min(255, v));
  }

  /** The batch decoded and preprocessed once, in the layout the embedder's card names. */
  static float[] tensor(Embedder embedder, List<byte[]> batch) {
    ImagePreprocessor preprocessor = new ImagePreprocessor(embedder.card(), ImageLimits.DEFAULT);
    int size = embedder.card().inputElements();
    float[] tensor = new float[batch.size() * size];
    for (int i = 0; i < batch.size(); i++) {
      preprocessor.preprocess(preprocessor.decode(batch.get(i)), tensor, i * size);
    }
    return tensor;
  }

  private static double imagesPerSecond(int images, long nanos) {
    return images * 1e9 / Math.max(nanos, 1);
  }
}
