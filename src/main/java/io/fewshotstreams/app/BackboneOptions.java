package io.fewshotstreams.app;

import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Device;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.ImageLimits;
import io.fewshotstreams.embedding.ModelCard;
import io.fewshotstreams.embedding.OnnxEmbedder;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Which backbone embeds images, and on what. */
final class BackboneOptions {

  @Option(
      names = "--model",
      paramLabel = "CARD",
      description = "Model card (JSON) of the backbone; its ONNX file sits beside it (default: the bundled backbone).")
  Path card;

  @Option(
      names = "--device",
      converter = DeviceConverter.class,
      description =
          "auto, cpu or cuda, any case (default: ${DEFAULT-VALUE}); auto uses CUDA when"
              + " available.")
  Device device = Device.AUTO;

  @Option(
      names = "--threads",
      description =
          "ONNX Runtime intra-op threads; 0 uses the processors available to the JVM, which"
              + " respects a container's CPU limit (default: ${DEFAULT-VALUE}).")
  int threads = 0;

  @Option(
      names = "--batch-size",
      description = "Images per ONNX Runtime call (default: ${DEFAULT-VALUE}).")
  int batchSize = 64;

  /** {@code --device} in any case: {@code cuda}, {@code CUDA} and {@code Cuda} alike. */
  static final class DeviceConverter implements CommandLine.ITypeConverter<Device> {
    @Override
    public Device convert(String value) {
      for (Device d : Device.values()) {
        if (d.name().equalsIgnoreCase(value.strip())) {
          return d;
        }
      }
      throw new CommandLine.TypeConversionException(
          "expected auto, cpu or cuda (any case), found '" + value + "'");
    }
  }

  /** The model card alone, without loading the network. */
  ModelCard card() {
    return card == null ? Backbone.bundled().card() : ModelCard.load(card);
  }

  Embedder open() {
    return open(ImageLimits.DEFAULT);
  }

  /** The embedder, refusing images beyond {@code limits}. */
  Embedder open(ImageLimits limits) {
    Backbone backbone = card == null ? Backbone.bundled() : Backbone.load(card);
    return OnnxEmbedder.open(backbone, new EmbedderOptions(device, threads, batchSize), limits);
  }
}
