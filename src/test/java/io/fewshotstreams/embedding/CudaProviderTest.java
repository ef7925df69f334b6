package io.fewshotstreams.embedding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The CUDA execution provider, on machines that have one: built with {@code -Pgpu} (the
 * onnxruntime_gpu artifact) and an NVIDIA device node present. Skipped elsewhere, so CPU machines
 * pass; {@code tools/gpu/run-gpu-checks.sh} fails when it is skipped there.
 */
class CudaProviderTest {

  @Test
  void shouldRunOnCudaAndGiveTheCpuFeatures() {
    assumeTrue(
        OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA),
        "this ONNX Runtime build has no CUDA provider (build with -Pgpu)");
    assumeTrue(Files.exists(Path.of("/dev/nvidia0")), "no NVIDIA device node /dev/nvidia0");

    Backbone backbone = Backbone.fromClasspath("/embedding/tiny-cnn/shorter-side/model-card.json");
    List<byte[]> photos = new ArrayList<>();
    for (String name : List.of("landscape-160x120.jpg", "portrait-120x160.png", "cmyk-160x120.jpg")) {
      photos.add(Fixtures.resource(PhotoGoldenTest.PHOTOS + name));
    }
    float[][] onGpu;
    try (OnnxEmbedder cuda =
        OnnxEmbedder.open(backbone, EmbedderOptions.DEFAULT.withDevice(Device.CUDA))) {
      assertThat(cuda.device()).isEqualTo(Device.CUDA);
      onGpu = cuda.embedBatch(photos);
    }
    float[][] onCpu;
    try (OnnxEmbedder cpu =
        OnnxEmbedder.open(backbone, EmbedderOptions.DEFAULT.withDevice(Device.CPU))) {
      onCpu = cpu.embedBatch(photos);
    }
    for (int i = 0; i < onCpu.length; i++) {
      for (int j = 0; j < onCpu[i].length; j++) {
        // cuDNN may pick TF32 convolutions (10-bit mantissa): about 1e-3 relative on these
        // features of order 0.1 to 1; a wrong input layout or device copy is off by far more.
        assertThat(onGpu[i][j]).as("image %d feature %d", i, j).isCloseTo(onCpu[i][j], within(2e-3f));
      }
    }
  }
}
