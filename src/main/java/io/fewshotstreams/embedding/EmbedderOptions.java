package io.fewshotstreams.embedding;

import java.util.Objects;

/**
 * How an {@link Embedder} runs its backbone.
 *
 * @param device where to run; see {@link Device}
 * @param intraOpThreads threads ONNX Runtime may use inside one operator; 0 lets ONNX Runtime
 *     choose
 * @param maxBatchSize most images sent to the model in one call; larger requests are split
 */
public record EmbedderOptions(Device device, int intraOpThreads, int maxBatchSize) {

  /** AUTO device, ONNX Runtime's thread default, batches of at most 64 images. */
  public static final EmbedderOptions DEFAULT = new EmbedderOptions(Device.AUTO, 0, 64);

  public EmbedderOptions {
    Objects.requireNonNull(device, "device");
    if (intraOpThreads < 0) {
      throw new IllegalArgumentException(
          "intraOpThreads must be >= 0 (0 = ONNX Runtime default), found " + intraOpThreads);
    }
    if (maxBatchSize < 1) {
      throw new IllegalArgumentException("maxBatchSize must be >= 1, found " + maxBatchSize);
    }
  }

  /** The same options on another device. */
  public EmbedderOptions withDevice(Device newDevice) {
    return new EmbedderOptions(newDevice, intraOpThreads, maxBatchSize);
  }
}
