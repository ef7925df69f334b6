package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.EventType;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outputs in the Schema Registry wire format (issue 16): with a schema id per output topic, the
 * predictions, the model snapshots and the dead letters are framed as 0x00, the id, the JSON; the
 * service reads its own framed snapshots back from the models topic; without ids every output is
 * plain JSON, as before.
 */
class OutputFramingTest {
  private static final String TASK = "parts";
  private static Embedder embedder;
  private final EventCodec codec = new EventCodec();
  private TopologyHarness harness;

  @TempDir Path stateDir;

  @BeforeAll
  static void openEmbedder() {
    embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
  }

  @AfterAll
  static void closeEmbedder() {
    embedder.close();
  }

  @AfterEach
  void stop() {
    harness.close();
  }

  private void run(Map<String, Object> overrides) {
    harness =
        new TopologyHarness(
            TopologyHarness.settings("output-framing-test", stateDir, overrides),
            embedder,
            new Telemetry(new SimpleMeterRegistry(), 0),
            0);
    harness.support.pipeInput(TASK, add("A", "a1", 0));
    harness.support.pipeInput(TASK, add("B", "b1", 1));
    harness.queries.pipeInput(
        TASK, codec.write(new QueryEvent(1, TASK, "q1", null, axis(1), null)));
    harness.queries.pipeInput(TASK, "{not json".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void shouldFrameEachOutputWithItsSchemaIdAndReadItsOwnFramedSnapshots() {
    run(
        Map.of(
            FewShotConfig.SCHEMA_ID_PREDICTIONS_CONFIG, 7,
            FewShotConfig.SCHEMA_ID_MODELS_CONFIG, 8,
            FewShotConfig.SCHEMA_ID_DEAD_LETTERS_CONFIG, 9));

    List<byte[]> snapshots = harness.models.readValuesToList();
    assertThat(snapshots).hasSize(2);
    for (byte[] snapshot : snapshots) {
      assertThat(EventCodec.schemaId(snapshot)).isEqualTo(OptionalInt.of(8));
      assertThat(codec.violations(EventType.MODEL, unframed(snapshot))).isEmpty();
    }
    byte[] answer = harness.predictions.readValue();
    assertThat(EventCodec.schemaId(answer)).isEqualTo(OptionalInt.of(7));
    // classified against both classes: the global store took the framed snapshots
    Prediction prediction = codec.readPrediction(answer);
    assertThat(prediction.probabilities()).containsOnlyKeys("A", "B");
    assertThat(prediction.label()).isEqualTo("B");
    byte[] letter = harness.deadLetters.readValue();
    assertThat(EventCodec.schemaId(letter)).isEqualTo(OptionalInt.of(9));
    assertThat(codec.readDeadLetter(letter).reason()).isEqualTo(DeadLetterReason.INVALID_JSON);
  }

  @Test
  void shouldWritePlainJsonWithoutSchemaIds() {
    run(Map.of());
    assertThat(harness.models.readValuesToList())
        .hasSize(2)
        .allSatisfy(v -> assertThat(EventCodec.schemaId(v)).isEmpty());
    assertThat(EventCodec.schemaId(harness.predictions.readValue())).isEmpty();
    assertThat(EventCodec.schemaId(harness.deadLetters.readValue())).isEmpty();
  }

  private byte[] add(String label, String id, int axis) {
    return codec.write(new SupportEvent.AddExample(1, TASK, label, id, null, axis(axis)));
  }

  private static byte[] unframed(byte[] framed) {
    return Arrays.copyOfRange(framed, 5, framed.length);
  }

  /** A unit vector along {@code axis}: classes along different axes are told apart exactly. */
  private static float[] axis(int axis) {
    float[] v = new float[embedder.featureSize()];
    v[axis] = 1f;
    return v;
  }
}
