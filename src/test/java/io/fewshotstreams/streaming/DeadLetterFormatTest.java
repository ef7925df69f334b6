package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.EventType;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two formats of the dead-letter topic, through the whole topology: the JSON envelope by
 * default, and with {@code fewshot.dead.letter.format=raw} the original key, value and headers with
 * the reason and origin in {@code fewshot.dlt.*} headers (issue 16: dead letters standard tools can
 * replay).
 */
class DeadLetterFormatTest {
  private static final byte[] BAD = "{\"task\": 1".getBytes(StandardCharsets.UTF_8);
  private static final String TRACEPARENT =
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
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

  private TestRecord<String, byte[]> deadLetterOfAMalformedQuery(Map<String, Object> overrides) {
    harness =
        new TopologyHarness(
            TopologyHarness.settings("dead-letter-format-test", stateDir, overrides),
            embedder,
            new Telemetry(new SimpleMeterRegistry(), 0),
            0);
    Headers headers = new RecordHeaders();
    headers.add("traceparent", TRACEPARENT.getBytes(StandardCharsets.UTF_8));
    harness.queries.pipeInput(new TestRecord<>("shoe-shop", BAD, headers, 1_234L));
    assertThat(harness.deadLetters.getQueueSize()).isEqualTo(1);
    return harness.deadLetters.readRecord();
  }

  @Test
  void shouldWriteTheJsonEnvelopeByDefault() {
    TestRecord<String, byte[]> record = deadLetterOfAMalformedQuery(Map.of());
    assertThat(codec.violations(EventType.DEAD_LETTER, record.value())).isEmpty();
    DeadLetter letter = codec.readDeadLetter(record.value());
    assertThat(letter.reason()).isEqualTo(DeadLetterReason.INVALID_JSON);
    assertThat(letter.sourceTopic()).isEqualTo(harness.config.queriesTopic());
    assertThat(letter.value()).isEqualTo("{\"task\": 1");
    assertThat(record.headers().lastHeader("fewshot.dlt.reason")).isNull();
  }

  @Test
  void shouldWriteTheOriginalRecordWithTheReasonInHeadersWhenRaw() {
    Map<String, Object> raw = new HashMap<>();
    raw.put(FewShotConfig.DEAD_LETTER_FORMAT_CONFIG, "raw");
    TestRecord<String, byte[]> record = deadLetterOfAMalformedQuery(raw);
    assertThat(record.key()).isEqualTo("shoe-shop");
    assertThat(record.value()).as("the original bytes, ready to replay").isEqualTo(BAD);
    assertThat(record.timestamp()).as("the original timestamp").isEqualTo(1_234L);
    assertThat(header(record, "traceparent")).as("the original headers stay").isEqualTo(TRACEPARENT);
    assertThat(header(record, "fewshot.dlt.reason")).isEqualTo("INVALID_JSON");
    assertThat(header(record, "fewshot.dlt.topic")).isEqualTo(harness.config.queriesTopic());
    assertThat(header(record, "fewshot.dlt.partition")).isEqualTo("0");
    assertThat(header(record, "fewshot.dlt.offset")).isEqualTo("0");
    assertThat(header(record, "fewshot.dlt.timestamp")).isEqualTo("1234");
    assertThat(header(record, "fewshot.dlt.message")).isNotBlank();
    assertThat(record.headers().lastHeader("fewshot.dlt.value.omitted")).isNull();
  }

  private static String header(TestRecord<String, byte[]> record, String name) {
    Header header = record.headers().lastHeader(name);
    assertThat(header).as("header " + name).isNotNull();
    return new String(header.value(), StandardCharsets.UTF_8);
  }
}
