package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * {@code run}'s start-up wait agrees with the startup probe of the Kubernetes manifests: it ends
 * (with {@code run}'s own message and status 2) no later than the probe gives up, and not much
 * earlier. Catches issue 16's hard-coded 2 minutes under a 5-minute probe, and a later change of
 * either side alone.
 */
class StartupTimeoutTest {
  private static final YAMLMapper YAML = new YAMLMapper();

  @Test
  void shouldWaitAsLongAsTheStartupProbeAllows() throws IOException {
    JsonNode container =
        YAML.readTree(Files.readString(Path.of("deploy/k8s/statefulset.yaml")))
            .at("/spec/template/spec/containers/0");
    JsonNode probe = container.get("startupProbe");
    assertThat(probe).as("a startupProbe in deploy/k8s/statefulset.yaml").isNotNull();
    long period = probe.path("periodSeconds").asLong(10); // Kubernetes' default period
    Duration window =
        Duration.ofSeconds(
            probe.path("initialDelaySeconds").asLong(0)
                + period * probe.path("failureThreshold").asLong(3));

    Properties deployed = new Properties();
    JsonNode data = YAML.readTree(Files.readString(Path.of("deploy/k8s/configmap.yaml"))).get("data");
    deployed.load(new StringReader(data.properties().iterator().next().getValue().asString()));
    Map<String, Object> settings = new HashMap<>();
    deployed.stringPropertyNames().forEach(k -> settings.put(k, deployed.getProperty(k)));
    Duration wait = new FewShotConfig(settings).startupTimeout();

    assertThat(wait).as("run gives up before the probe kills the pod").isLessThanOrEqualTo(window);
    assertThat(wait)
        .as("run does not give up more than one probe period before the probe would")
        .isGreaterThanOrEqualTo(window.minusSeconds(period));
  }
}
