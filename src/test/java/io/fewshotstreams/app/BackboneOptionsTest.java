package io.fewshotstreams.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.embedding.Device;
import io.fewshotstreams.embedding.EmbedderOptions;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

class BackboneOptionsTest {

  @Command(name = "probe")
  static final class Probe {
    @Mixin BackboneOptions backbone;
  }

  private static BackboneOptions parse(String... args) {
    Probe probe = new Probe();
    new CommandLine(probe).parseArgs(args);
    return probe.backbone;
  }

  @Test
  void shouldAcceptTheDeviceInAnyCase() {
    // Issue 15: "--device cuda" was refused because only CUDA matched.
    assertThat(parse("--device", "cuda").device).isEqualTo(Device.CUDA);
    assertThat(parse("--device", "Cpu").device).isEqualTo(Device.CPU);
    assertThat(parse("--device", "AUTO").device).isEqualTo(Device.AUTO);
    assertThat(parse().device).isEqualTo(Device.AUTO);
  }

  @Test
  void shouldRefuseAnUnknownDeviceNamingTheChoices() {
    assertThatThrownBy(() -> parse("--device", "tpu"))
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("expected auto, cpu or cuda")
        .hasMessageContaining("'tpu'");
  }

  @Test
  void shouldGiveOnnxRuntimeTheJvmsProcessorsByDefault() {
    // 0 threads used to leave ONNX Runtime to take every core of the node; the JVM's count
    // follows the container's CPU quota.
    assertThat(parse().threads).isZero();
    assertThat(new EmbedderOptions(Device.CPU, 0, 8).effectiveIntraOpThreads())
        .isEqualTo(Runtime.getRuntime().availableProcessors());
    assertThat(new EmbedderOptions(Device.CPU, 3, 8).effectiveIntraOpThreads()).isEqualTo(3);
  }
}
