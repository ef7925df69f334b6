package io.fewshotstreams.embedding;

import java.util.Objects;

/**
 * How an {@link Embedder} runs its backbone.
 *
 * @param device where to run; see {@link Device}
 * @param intraOpThreads threads ONNX Runtime may use inside one operator; 0 means {@link
 *     Runtime#availableProcessors()}, which follows the container's CPU limit (ONNX Runtime's own
 *     default would take every core of the machine)
 * @param maxBatchSize most images sent to the model in one call; larger requests are split
 */
public record EmbedderOptions(Device device, int intraOpThreads, int maxBatchSize) {

  /** AUTO device, as many threads as available processors, batches of at most 64 images. */
  public static final EmbedderOptions DEFAULT = new EmbedderOptions(Device.AUTO, 0, 64);

  public EmbedderOptions {
    Objects.requireNonNull(device, "device");
    if (intraOpThreads < 0) {
      throw new IllegalArgumentException(
          "intraOpThreads must be >= 0 (0 = available processors), found " + intraOpThreads);
    }
    if (maxBatchSize < 1) {
      throw new IllegalArgumentException("maxBatchSize must be >= 1, found " + maxBatchSize);
    }
  }

  /** The intra-op threads ONNX Runtime is given: {@code intraOpThreads}, or if 0 the JVM's count. */
  public int effectiveIntraOpThreads() {
    return intraOpThreads > 0 ? intraOpThreads : Runtime.getRuntime().availableProcessors();
  }

  /** The same options on another device. */
  public EmbedderOptions withDevice(Device newDevice) {
    return new EmbedderOptions(newDevice, intraOpThreads, maxBatchSize);
  }
}
