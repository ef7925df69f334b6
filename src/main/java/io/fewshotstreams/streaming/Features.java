package io.fewshotstreams.streaming;

import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.ImagePreprocessor;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.InvalidEventException;
import io.fewshotstreams.fewshot.FeatureTransform;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import java.awt.image.BufferedImage;
import java.util.List;

/**
 * Turns the image or precomputed embedding of an event into the unit feature vector every later
 * stage uses: the same normalisation as {@code evaluate}, so online and offline results agree.
 */
public final class Features {
  private static final FeatureTransform TRANSFORM = FeatureTransform.none();

  private final Embedder embedder;
  private final Telemetry telemetry;

  /** Features from {@code embedder}, whose calls are timed in {@code telemetry}. */
  public Features(Embedder embedder, Telemetry telemetry) {
    this.embedder = embedder;
    this.telemetry = telemetry;
  }

  public int size() {
    return embedder.featureSize();
  }

  public String backboneId() {
    return embedder.card().id();
  }

  /** The preprocessor whose {@code decode} refuses exactly the images {@link #of} refuses. */
  public ImagePreprocessor preprocessor() {
    return embedder.preprocessor();
  }

  /**
   * The unit feature of an image or a precomputed embedding (exactly one is non-null).
   *
   * @throws io.fewshotstreams.embedding.InvalidImageException for a refused image
   * @throws InvalidEventException for an embedding of the wrong length
   * @throws io.fewshotstreams.fewshot.InvalidInputException for a non-finite or zero embedding
   */
  public float[] of(Image image, float[] embedding) {
    float[] raw;
    if (image != null) {
      long start = System.nanoTime();
      try {
        raw = embedder.embed(image.dataUnsafe());
      } finally {
        telemetry.embedded(System.nanoTime() - start);
      }
    } else {
      if (embedding.length != embedder.featureSize()) {
        throw new InvalidEventException(
            DeadLetterReason.INVALID_EMBEDDING,
            "expected an embedding of "
                + embedder.featureSize()
                + " floats (backbone "
                + backboneId()
                + "), found "
                + embedding.length);
      }
      raw = embedding;
    }
    return unit(raw);
  }

  /**
   * The raw embeddings of decoded images, in order, from one call of the embedder. The embedding
   * time is recorded once per image, as the call's time divided by the number of images.
   */
  public float[][] embedImages(List<BufferedImage> images) {
    long start = System.nanoTime();
    try {
      return embedder.embedImages(images);
    } finally {
      long perImage = (System.nanoTime() - start) / Math.max(1, images.size());
      for (int i = 0; i < images.size(); i++) {
        telemetry.embedded(perImage);
      }
    }
  }

  /**
   * The unit feature of a raw embedding from {@link #embedImages}.
   *
   * @throws io.fewshotstreams.fewshot.InvalidInputException for a non-finite or zero embedding
   */
  public float[] unit(float[] raw) {
    return TRANSFORM.apply(raw);
  }
}
