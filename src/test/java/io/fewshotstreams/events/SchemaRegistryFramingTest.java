package io.fewshotstreams.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Values in the Schema Registry wire format: 0x00, a 4-byte big-endian schema id, the JSON. */
class SchemaRegistryFramingTest {

  private static final EventCodec CODEC = new EventCodec();

  private static final QueryEvent QUERY =
      new QueryEvent(1, "shop", "q1", null, new float[] {0.5f, -1f}, 3);

  private static final SupportEvent SUPPORT = new SupportEvent.DeleteClass(1, "shop", "boot");

  /** What a Confluent JSON Schema serializer writes for schema id 258 (0x00000102). */
  private static byte[] framedBy258(byte[] json) {
    byte[] value = new byte[5 + json.length];
    value[0] = 0;
    value[3] = 0x01;
    value[4] = 0x02;
    System.arraycopy(json, 0, value, 5, json.length);
    return value;
  }

  @Test
  void shouldReadFramedQueriesAndSupportEventsAsTheirJson() {
    // catches: framed values becoming INVALID_JSON dead letters, as before the wire format
    assertThat(CODEC.readQuery(framedBy258(CODEC.write(QUERY)))).isEqualTo(QUERY);
    assertThat(CODEC.readSupport(framedBy258(CODEC.write(SUPPORT)))).isEqualTo(SUPPORT);
    assertThat(CODEC.violations(EventType.QUERY, framedBy258(CODEC.write(QUERY)))).isEmpty();
  }

  @Test
  void shouldWriteTheFrameBigEndianAsTheRegistrySerializersDo() {
    byte[] json = CODEC.write(QUERY);

    byte[] framed = EventCodec.frame(json, 258);

    // the hand-made frame above is the reference: byte 3 = 0x01 and byte 4 = 0x02 for 258
    assertThat(framed).isEqualTo(framedBy258(json));
    assertThat(EventCodec.schemaId(framed)).isEqualTo(OptionalInt.of(258));
    assertThat(EventCodec.schemaId(json)).isEmpty();
  }

  @Test
  void shouldReadBackWhatItFramesForEveryOutputType() {
    // the service reads its own models topic back, so a framed model must read as one
    Prediction prediction = CODEC.readPrediction(framedBy258(CODEC.write(samplePrediction())));
    assertThat(prediction).isEqualTo(samplePrediction());
  }

  /** The schema's own example prediction. */
  private static Prediction samplePrediction() {
    try (InputStream in =
        SchemaRegistryFramingTest.class.getResourceAsStream("/schemas/examples/prediction.json")) {
      return CODEC.readPrediction(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 4})
  void shouldRefuseAFrameTooShortToHoldASchemaIdSayingSo(int length) {
    // 0x00 then fewer than 4 id bytes: not JSON, and not a frame either
    byte[] value = new byte[length];

    InvalidEventException e =
        catchThrowableOfType(InvalidEventException.class, () -> CODEC.readQuery(value));

    assertThat(e.reason()).isEqualTo(DeadLetterReason.INVALID_JSON);
    assertThat(e.getMessage())
        .contains("Schema Registry frame of at least 5 bytes")
        .contains("found a value of " + length + " byte");
  }

  @Test
  void shouldRefuseAFrameWithNothingAfterItNamingTheSchemaId() {
    InvalidEventException e =
        catchThrowableOfType(
            InvalidEventException.class, () -> CODEC.readQuery(new byte[] {0, 0, 0, 1, 2}));

    assertThat(e.reason()).isEqualTo(DeadLetterReason.INVALID_JSON);
    assertThat(e.getMessage()).contains("schema id 258").contains("nothing after it");
  }

  @Test
  void shouldRefuseBrokenJsonAfterAFrameNamingTheFrame() {
    byte[] json = CODEC.write(QUERY);
    byte[] truncated = framedBy258(Arrays.copyOf(json, json.length - 1));

    InvalidEventException e =
        catchThrowableOfType(InvalidEventException.class, () -> CODEC.readQuery(truncated));

    assertThat(e.reason()).isEqualTo(DeadLetterReason.INVALID_JSON);
    assertThat(e.getMessage()).contains("after the Schema Registry frame (schema id 258)");
  }

  @Test
  void shouldCheckTheSchemaOfTheJsonInsideAFrame() {
    byte[] noQueryId =
        "{\"schemaVersion\":1,\"task\":\"t\",\"embedding\":[1]}".getBytes(StandardCharsets.UTF_8);

    InvalidEventException e =
        catchThrowableOfType(
            InvalidEventException.class, () -> CODEC.readQuery(framedBy258(noQueryId)));

    assertThat(e.reason()).isEqualTo(DeadLetterReason.SCHEMA_VIOLATION);
    assertThat(e.getMessage()).contains("queryId");
  }

  @Test
  void shouldCountTheFrameAgainstTheRecordSizeLimit() {
    // the limit is on the record as it sits on the topic, frame included
    byte[] json = CODEC.write(QUERY);
    EventCodec limited = new EventCodec(json.length + 4);

    InvalidEventException e =
        catchThrowableOfType(
            InvalidEventException.class, () -> limited.readQuery(framedBy258(json)));

    assertThat(e.reason()).isEqualTo(DeadLetterReason.RECORD_TOO_LARGE);
  }

  @Test
  void shouldRefuseANegativeSchemaIdOrNothingToFrame() {
    assertThatThrownBy(() -> EventCodec.frame(new byte[] {'{', '}'}, -1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("found -1");
    assertThatThrownBy(() -> EventCodec.frame(new byte[0], 7))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("empty");
  }

  @Test
  void shouldFrameOnlyTheOutputTypesGivenAnId() {
    OutputFraming framing = new OutputFraming(Map.of(EventType.PREDICTION, 7));
    byte[] json = CODEC.write(samplePrediction());

    assertThat(framing.apply(EventType.PREDICTION, json)).isEqualTo(EventCodec.frame(json, 7));
    assertThat(framing.apply(EventType.DEAD_LETTER, json)).isSameAs(json);
    assertThat(OutputFraming.none().apply(EventType.PREDICTION, json)).isSameAs(json);
  }

  @Test
  void shouldRefuseFramingForInputTypesAndNegativeIds() {
    // the service never writes support or query records, so an id for them is a typo
    assertThatThrownBy(() -> new OutputFraming(Map.of(EventType.QUERY, 1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("found QUERY");
    assertThatThrownBy(() -> new OutputFraming(Map.of(EventType.MODEL, -2)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("found -2");
  }
}
