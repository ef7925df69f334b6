package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.EventType;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The bad-input corpus ({@code src/test/resources/bad-input}, written by {@code
 * tools/fixtures/make_bad_input.py}): every record lands on the dead-letter topic with its precise
 * reason, produces nothing else, and the next good query is still classified.
 */
class BadInputCorpusTest {
  private static final Path CORPUS = Path.of("src/test/resources/bad-input");
  private static final String TASK = "corpus";
  /** Small enough for the corpus's 70 kB record, large enough for every other case. */
  private static final int MAX_RECORD_BYTES = 64 * 1024;

  @TempDir static Path stateDir;
  private static Embedder embedder;
  private static TopologyHarness harness;
  private static TestInputTopic<String, byte[]> support;
  private static TestInputTopic<String, byte[]> queries;
  private static TestOutputTopic<String, byte[]> predictions;
  private static TestOutputTopic<String, byte[]> deadLetters;
  private static TestOutputTopic<String, byte[]> models;
  private static final EventCodec codec = new EventCodec();
  private static final Telemetry telemetry = new Telemetry(new SimpleMeterRegistry(), 10);

  record Case(String file, String topic, String reason) {
    @Override
    public String toString() {
      return file + " -> " + reason;
    }
  }

  static Stream<Case> corpus() throws IOException {
    return Files.readAllLines(CORPUS.resolve("manifest.tsv")).stream()
        .filter(line -> !line.startsWith("#") && !line.isBlank())
        .map(line -> line.split("\t"))
        .map(f -> new Case(f[0], f[1], f[2]));
  }

  @BeforeAll
  static void start() {
    embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
    harness =
        new TopologyHarness(
            TopologyHarness.settings(
                "corpus-test",
                stateDir,
                Map.of(FewShotConfig.MAX_RECORD_BYTES_CONFIG, MAX_RECORD_BYTES)),
            embedder,
            telemetry,
            0);
    support = harness.support;
    queries = harness.queries;
    predictions = harness.predictions;
    deadLetters = harness.deadLetters;
    models = harness.models;
    for (int c = 0; c < 2; c++) {
      support.pipeInput(
          TASK,
          codec.write(
              new SupportEvent.AddExample(1, TASK, "class-" + c, "e" + c, null, axis(c))));
    }
    models.readValuesToList();
  }

  @AfterAll
  static void stop() {
    harness.close();
    embedder.close();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("corpus")
  void shouldDeadLetterEveryBadRecordWithItsReasonAndKeepServing(Case bad) throws IOException {
    byte[] value = Files.readAllBytes(CORPUS.resolve(bad.file()));
    long countBefore = telemetry.activity().deadLettersByReason().getOrDefault(bad.reason(), 0L);
    (bad.topic().equals("support") ? support : queries).pipeInput(TASK, value);

    List<byte[]> dead = deadLetters.readValuesToList();
    assertThat(dead).as(bad.file()).hasSize(1);
    assertThat(codec.violations(EventType.DEAD_LETTER, dead.get(0))).isEmpty();
    DeadLetter letter = codec.readDeadLetter(dead.get(0));
    assertThat(letter.reason().name()).as(letter.message()).isEqualTo(bad.reason());
    assertThat(letter.message()).isNotBlank();
    assertThat(letter.sourceTopic()).isEqualTo("fewshot-" + bad.topic());
    assertThat(telemetry.activity().deadLettersByReason().get(bad.reason()))
        .as("the dead-letter counter of %s moved with it", bad.reason())
        .isEqualTo(countBefore + 1);
    assertThat(predictions.isEmpty()).as("a bad record gets no prediction").isTrue();
    assertThat(models.isEmpty()).as("a bad record changes no model").isTrue();

    String id = "good-after-" + bad.file();
    queries.pipeInput(TASK, codec.write(new QueryEvent(1, TASK, id, null, axis(1), null)));
    assertThat(codec.readPrediction(predictions.readValue()).queryId()).isEqualTo(id);
  }

  private static float[] axis(int axis) {
    float[] v = new float[embedder.featureSize()];
    v[axis] = 1f;
    return v;
  }

  static {
    if (!Files.isDirectory(CORPUS)) {
      throw new UncheckedIOException(new IOException("expected the corpus at " + CORPUS));
    }
  }
}
