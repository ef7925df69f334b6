package io.fewshotstreams.embedding;

import java.awt.image.BufferedImage;
import java.util.List;

/**
 * An {@link Embedder} that passes every call to another: tests extend it and override only the
 * calls they count, slow down or make fail.
 */
public class ForwardingEmbedder implements Embedder {
  protected final Embedder delegate;

  public ForwardingEmbedder(Embedder delegate) {
    this.delegate = delegate;
  }

  @Override
  public ModelCard card() {
    return delegate.card();
  }

  @Override
  public ImagePreprocessor preprocessor() {
    return delegate.preprocessor();
  }

  @Override
  public int featureSize() {
    return delegate.featureSize();
  }

  @Override
  public float[] embed(byte[] encodedImage) {
    return delegate.embed(encodedImage);
  }

  @Override
  public float[][] embedBatch(List<byte[]> encodedImages) {
    return delegate.embedBatch(encodedImages);
  }

  @Override
  public float[][] embedImages(List<BufferedImage> images) {
    return delegate.embedImages(images);
  }

  @Override
  public float[][] embedPreprocessed(float[] batchTensor, int batchSize) {
    return delegate.embedPreprocessed(batchTensor, batchSize);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
