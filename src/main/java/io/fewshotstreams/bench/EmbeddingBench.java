package io.fewshotstreams.bench;

import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.ImageLimits;
import io.fewshotstreams.embedding.ImagePreprocessor;
import java.util.ArrayList;
import java.util.List;

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
