package io.fewshotstreams.embedding;

import java.awt.image.BufferedImage;
import java.util.List;

/**
 * Maps images to feature vectors with a pretrained backbone. Every returned vector has {@link
 * #featureSize()} floats and is the raw model output (no normalisation or centring). Results of a
 * batch call equal those of one call per image, in the same order.
 *
 * <p>Implementations are safe for concurrent use until {@link #close()}; closing releases native
 * resources and later calls fail.
 */
public interface Embedder extends AutoCloseable {

  /** The card that describes the backbone and drives preprocessing. */
  ModelCard card();

  /**
   * The preprocessor this embedder decodes and prepares images with, under its image limits. Its
   * {@link ImagePreprocessor#decode} refuses exactly the images {@link #embed} refuses.
   */
  ImagePreprocessor preprocessor();

  /** Length of every feature vector; equals {@code card().featureSize()}. */
  int featureSize();

  /**
   * Embeds one PNG or JPEG image.
   *
   * @throws InvalidImageException when the image is refused (see {@link ImagePreprocessor})
   */
  float[] embed(byte[] encodedImage);

  /**
   * Embeds encoded images in order. One bad image fails the whole call with an {@link
   * InvalidImageException} whose message names its index; callers that must isolate bad records
   * decode each one with {@link ImagePreprocessor#decode} and then call {@link #embedImages}.
   */
  float[][] embedBatch(List<byte[]> encodedImages);

  /** Embeds decoded images in order. */
  float[][] embedImages(List<BufferedImage> images);

  /**
   * Embeds an already preprocessed batch: {@code batchSize} images of {@code
   * card().inputElements()} floats each, laid out as the card says.
   *
   * @throws IllegalArgumentException when the tensor length does not match the batch size
   */
  float[][] embedPreprocessed(float[] batchTensor, int batchSize);

  /** Releases the model; does not throw. */
  @Override
  void close();
}
