package io.fewshotstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Prediction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EndToEndBenchTest {
  private final EventCodec codec = new EventCodec();
  private final EndToEndBench bench = new EndToEndBench("unused:9092", null, null, Map.of());

  private byte[] prediction(String queryId) {
    return codec.write(
        new Prediction(
            1, "bench", queryId, "Coat", 0.9, Map.of("Coat", 0.9, "Shirt", 0.1),
            List.of(new Prediction.Ranked("Coat", 0.9)), 3, "prototypes", "backbone", 1.5, 10, 12));
  }

  @Test
  void shouldReadTheQueryIdOfAPredictionAsTheCodecDoes() {
    // The shortcut scans the JSON text; a change of the codec's field name or spacing would make
    // it return something else, and the run would count no answers and time out.
    byte[] p = prediction("s-000000042");
    assertThat(bench.queryIdOf(p)).isEqualTo(codec.readPrediction(p).queryId()).isEqualTo("s-000000042");
  }

  @Test
  void shouldFallBackToTheCodecWhenTheIdHasAnEscape() {
    byte[] p = prediction("a\"b");
    assertThat(new String(p, StandardCharsets.UTF_8)).contains("a\\\"b");
    assertThat(bench.queryIdOf(p)).isEqualTo("a\"b");
  }
}
