package io.fewshotstreams.streaming.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.events.Prediction;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UnknownAnswersTest {

  private static Prediction answer(String task, Boolean accepted) {
    return new Prediction(1, task, "q", "A", 0.9, Map.of("A", 0.9, "B", 0.1), null, 1,
        "fine-tuned", "b", 1.0, 0L, 1L, 0.5, accepted);
  }

  /**
   * Unknown answers count by task; accepted ones and predictions without the field do not.
   * Catches counting every prediction, or none.
   */
  @Test
  void shouldCountUnknownAnswersByTask() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Telemetry telemetry = new Telemetry(registry, 0);
    telemetry.predicted(answer("shop", false), null);
    telemetry.predicted(answer("shop", false), null);
    telemetry.predicted(answer("shop", true), null);
    telemetry.predicted(answer("garden", null), null);
    assertThat(registry.get("fewshot.predictions.unknown").tag("task", "shop").counter().count())
        .isEqualTo(2);
    assertThat(registry.find("fewshot.predictions.unknown").tag("task", "garden").counter())
        .isNull();
    assertThat(telemetry.unknownTotal()).isEqualTo(2);
  }

  /**
   * Past {@value Telemetry#MAX_UNKNOWN_TASKS} tasks, unknown answers share one tag value, so the
   * number of series stays bounded. Catches a counter per task without a bound.
   */
  @Test
  void shouldBoundTheTaskTags() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Telemetry telemetry = new Telemetry(registry, 0);
    int tasks = Telemetry.MAX_UNKNOWN_TASKS + 20;
    for (int t = 0; t < tasks; t++) {
      telemetry.predicted(answer("task-" + t, false), null);
    }
    assertThat(registry.find("fewshot.predictions.unknown").counters())
        .hasSize(Telemetry.MAX_UNKNOWN_TASKS + 1);
    assertThat(registry.get("fewshot.predictions.unknown").tag("task", Telemetry.OTHER_TASKS)
            .counter().count())
        .isEqualTo(20);
    assertThat(telemetry.unknownTotal()).isEqualTo(tasks);
  }
}
