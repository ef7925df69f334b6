package io.fewshotstreams.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EventCodecTest {

  private static final EventCodec CODEC = new EventCodec();

  /** The smallest PNG-like payload the schema accepts; the codec does not decode images. */
  private static final byte[] IMAGE_BYTES = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

  private static byte[] utf8(String json) {
    return json.getBytes(StandardCharsets.UTF_8);
  }

  /** JSON with single quotes for readability in the tests. */
  private static byte[] json(String singleQuoted) {
    return utf8(singleQuoted.replace('\'', '"'));
  }

  private static InvalidEventException readQueryFailure(byte[] value) {
    return catchThrowableOfType(InvalidEventException.class, () -> CODEC.readQuery(value));
  }

  private static InvalidEventException readSupportFailure(byte[] value) {
    return catchThrowableOfType(InvalidEventException.class, () -> CODEC.readSupport(value));
  }

  @Test
  void shouldRoundTripEverySupportEvent() {
    List<SupportEvent> events =
        List.of(
            new SupportEvent.AddExample(
                1, "shop", "sneaker", "e1", new Image(Image.PNG, IMAGE_BYTES), null),
            new SupportEvent.AddExample(1, "shop", "boot", "e2", null, new float[] {0.25f, -1.5f}),
            new SupportEvent.RemoveExample(1, "shop", "e1"),
            new SupportEvent.DeleteClass(1, "shop", "boot"));

    for (SupportEvent event : events) {
      byte[] json = CODEC.write(event);

      assertThat(CODEC.violations(EventType.SUPPORT, json)).as(event.toString()).isEmpty();
      assertThat(CODEC.readSupport(json)).isEqualTo(event);
    }
  }

  @Test
  void shouldWriteImagesAsBase64AndLeaveOutAbsentFields() {
    QueryEvent query =
        new QueryEvent(1, "shop", "q1", new Image(Image.JPEG, IMAGE_BYTES), null, null);

    String json = new String(CODEC.write(query), StandardCharsets.UTF_8);

    String base64 = Base64.getEncoder().encodeToString(IMAGE_BYTES);
    assertThat(json).contains("\"data\":\"" + base64 + "\"");
    assertThat(json).doesNotContain("embedding", "topK", "null");
  }

  @Test
  void shouldRoundTripQueriesWithAndWithoutTopK() {
    for (QueryEvent query :
        List.of(
            new QueryEvent(1, "shop", "q1", new Image(Image.PNG, IMAGE_BYTES), null, 3),
            new QueryEvent(1, "shop", "q2", null, new float[] {1f, 2f, 3f}, null))) {
      byte[] json = CODEC.write(query);

      assertThat(CODEC.violations(EventType.QUERY, json)).isEmpty();
      assertThat(CODEC.readQuery(json)).isEqualTo(query);
    }
  }

  @Test
  void shouldRoundTripPredictions() {
    Map<String, Double> probabilities = new LinkedHashMap<>();
    probabilities.put("sneaker", 0.75);
    probabilities.put("boot", 0.25);
    for (List<Prediction.Ranked> topK :
        Arrays.asList(null, List.of(new Prediction.Ranked("sneaker", 0.75)))) {
      Prediction prediction =
          new Prediction(1, "shop", "q1", "sneaker", 0.75, probabilities, topK, 4,
              ModelSnapshot.PROTOTYPES, "backbone-a", 2.5, 1_000L, 1_003L);
      byte[] json = CODEC.write(prediction);

      assertThat(CODEC.violations(EventType.PREDICTION, json)).isEmpty();
      Prediction back = CODEC.readPrediction(json);
      assertThat(back).isEqualTo(prediction);
      // clients show the classes in the model's order
      assertThat(back.probabilities().keySet()).containsExactly("sneaker", "boot");
      Prediction own = CODEC.readOwnPrediction(json);
      assertThat(own).isEqualTo(prediction);
      assertThat(own.probabilities().keySet()).containsExactly("sneaker", "boot");
    }
  }

  // The feedback room's stores bind their predictions without the schema: a value that does not
  // bind must still fail loudly (a service bug), not come back half read.
  @Test
  void shouldFailLoudlyOnAnOwnPredictionThatDoesNotBind() {
    assertThatThrownBy(() -> CODEC.readOwnPrediction("{\"task\": 3".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("expected a prediction the service wrote");
    assertThatThrownBy(() -> CODEC.readOwnPrediction("{\"schemaVersion\": 1}".getBytes(StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void shouldRoundTripModelSnapshotsOfBothMethods() {
    List<ModelSnapshot.ClassWeights> classes =
        List.of(
            new ModelSnapshot.ClassWeights("sneaker", 5, new float[] {0.1f, 0.2f, 0.3f}, 0.5f),
            new ModelSnapshot.ClassWeights("boot", 2, new float[] {-0.1f, 1e-8f, 3e7f}, -0.25f));
    List<ModelSnapshot> snapshots =
        List.of(
            new ModelSnapshot(1, "shop", 1, ModelSnapshot.PROTOTYPES, null, "backbone-a", 3, 10f,
                classes, 7, 0, 1_000L, null, null),
            new ModelSnapshot(1, "shop", 2, ModelSnapshot.FINE_TUNED, "transductive", "backbone-a",
                3, 12.5f, classes, 7, 64, 2_000L, 0.375, 87.5),
            // a task whose classes were all deleted
            new ModelSnapshot(1, "shop", 3, ModelSnapshot.PROTOTYPES, null, "backbone-a", 3, 10f,
                List.of(), 0, 0, 3_000L, null, null));

    for (ModelSnapshot snapshot : snapshots) {
      byte[] json = CODEC.write(snapshot);

      assertThat(CODEC.violations(EventType.MODEL, json)).isEmpty();
      assertThat(CODEC.readSnapshot(json)).isEqualTo(snapshot);
    }
  }

  @Test
  void shouldRoundTripDeadLetters() {
    List<DeadLetter> letters =
        List.of(
            new DeadLetter(1, DeadLetterReason.INVALID_JSON, "expected JSON, found 'x'", "queries",
                0, 17, 1_000L, "shop", "x", DeadLetter.UTF8, 1, false, null, null, 1_001L),
            new DeadLetter(1, DeadLetterReason.RECORD_TOO_LARGE, "too large", "support", 2, 5,
                1_000L, null, null, null, 20_000_000, true, null, null, 1_001L),
            new DeadLetter(1, DeadLetterReason.UNKNOWN_CLASS, "no class 'boot'", "support", 1, 9,
                1_000L, "shop", "AAEC", DeadLetter.BASE64, 3, false, "shop", "e1", 1_001L));

    for (DeadLetter letter : letters) {
      byte[] json = CODEC.write(letter);

      assertThat(CODEC.violations(EventType.DEAD_LETTER, json)).isEmpty();
      assertThat(CODEC.readDeadLetter(json)).isEqualTo(letter);
    }
  }

  @Test
  void shouldReadBackEveryFloatExactly() {
    // random bit patterns cover subnormals, extremes and long decimal expansions
    Random random = new Random(42);
    float[] values = new float[4096];
    for (int i = 0; i < values.length; i++) {
      float f;
      do {
        f = Float.intBitsToFloat(random.nextInt());
      } while (!Float.isFinite(f));
      values[i] = f;
    }
    values[0] = -0.0f;
    values[1] = Float.MIN_VALUE;
    values[2] = Float.MAX_VALUE;
    values[3] = 0.1f;

    QueryEvent query = new QueryEvent(1, "shop", "q1", null, values, null);
    ModelSnapshot snapshot =
        new ModelSnapshot(1, "shop", 1, ModelSnapshot.PROTOTYPES, null, "backbone-a",
            values.length, 0.1f, List.of(new ModelSnapshot.ClassWeights("c", 1, values, 0.1f)), 1,
            0, 1_000L, null, null);

    assertThat(CODEC.readQuery(CODEC.write(query)).embedding()).isEqualTo(values);
    assertThat(CODEC.readSnapshot(CODEC.write(snapshot))).isEqualTo(snapshot);
  }

  @Test
  void shouldWriteFloatsInTheirShortestForm() {
    QueryEvent query = new QueryEvent(1, "shop", "q1", null, new float[] {0.1f, 0.3f}, null);

    // not the double expansion 0.10000000149011612 of the float nearest 0.1
    assertThat(new String(CODEC.write(query), StandardCharsets.UTF_8))
        .contains("\"embedding\":[0.1,0.3]");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '"',
      value = {
        "not json",
        "{'schemaVersion':1",
        "{'schemaVersion':1,'task':'t','queryId':'q','embedding':[1]} trailing",
        "{'schemaVersion':1,'task':'t','task':'u','queryId':'q','embedding':[1]}",
        "''"
      })
  void shouldRefuseValuesThatAreNotJson(String value) {
    InvalidEventException e = readQueryFailure(json(value.equals("''") ? "" : value));

    assertThat(e.reason()).isEqualTo(DeadLetterReason.INVALID_JSON);
    assertThat(e.getMessage()).startsWith("expected");
  }

  @Test
  void shouldRefuseValuesThatAreNotUtf8() {
    byte[] latin1 =
        "{\"schemaVersion\":1,\"task\":\"caf\u00e9\",\"queryId\":\"q\",\"embedding\":[1]}"
            .getBytes(StandardCharsets.ISO_8859_1);

    assertThat(readQueryFailure(latin1).reason()).isEqualTo(DeadLetterReason.INVALID_JSON);
    assertThat(readQueryFailure(null).reason()).isEqualTo(DeadLetterReason.INVALID_JSON);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '"',
      value = {
        // what is wrong | a word the message must contain to point at it
        "{'schemaVersion':1,'task':'t','embedding':[1]} | queryId",
        "{'schemaVersion':1,'task':'t','queryId':'q','embedding':[1],'colour':'red'} | colour",
        "{'schemaVersion':2,'task':'t','queryId':'q','embedding':[1]} | $.schemaVersion",
        "{'schemaVersion':1,'task':7,'queryId':'q','embedding':[1]} | $.task",
        "{'schemaVersion':1,'task':'t','queryId':'q','embedding':[1],'topK':0} | $.topK",
        "{'schemaVersion':1,'task':'t','queryId':'q','embedding':[]} | $.embedding",
        "{'schemaVersion':1,'task':'t','queryId':'q','embedding':['a']} | $.embedding[0]",
        "{'schemaVersion':1,'task':'','queryId':'q','embedding':[1]} | $.task",
        "{'schemaVersion':1,'task':'t','queryId':'q'} | embedding",
        "{'schemaVersion':1,'task':'t','queryId':'q','image':{'contentType':'image/gif','data':'AA=='}} | $.image.contentType",
        "{'schemaVersion':1,'task':'t','queryId':'q','image':{'contentType':'image/png','data':'not base64!'}} | $.image.data",
        "{'schemaVersion':1,'task':'t','queryId':'q','image':{'contentType':'image/png','data':'AA=='},'embedding':[1]} | embedding",
        "[1,2] | $"
      })
  void shouldNameTheFieldOfASchemaViolationInAQuery(String value, String field) {
    InvalidEventException e = readQueryFailure(json(value));

    assertThat(e.reason()).isEqualTo(DeadLetterReason.SCHEMA_VIOLATION);
    assertThat(e.getMessage()).contains(field);
  }

  @Test
  void shouldRefuseBothImageAndEmbeddingNamingBoth() {
    InvalidEventException e =
        readQueryFailure(
            json(
                "{'schemaVersion':1,'task':'t','queryId':'q','embedding':[1],"
                    + "'image':{'contentType':'image/png','data':'AA=='}}"));

    assertThat(e.reason()).isEqualTo(DeadLetterReason.SCHEMA_VIOLATION);
    assertThat(e.getMessage()).contains("image", "embedding");
  }

  @Test
  void shouldRefuseControlCharactersInNamesBecauseTheServiceUsesNulAsKeySeparator() {
    for (String name : List.of("a\\u0000b", "tab\\there", "bell\\u0007", "del\\u007f")) {
      InvalidEventException e =
          readSupportFailure(
              json(
                  "{'schemaVersion':1,'type':'delete-class','task':'" + name + "','label':'l'}"));

      assertThat(e.reason()).as(name).isEqualTo(DeadLetterReason.SCHEMA_VIOLATION);
      assertThat(e.getMessage()).contains("$.task");
    }
  }

  @Test
  void shouldAcceptNamesUpTo256Characters() {
    // 256 is the schema's maxLength for task, label, exampleId and queryId
    String longest = "x".repeat(256);
    SupportEvent event =
        CODEC.readSupport(
            json("{'schemaVersion':1,'type':'delete-class','task':'" + longest + "','label':'l'}"));

    assertThat(event.task()).hasSize(256);
    assertThat(
            readSupportFailure(
                    json(
                        "{'schemaVersion':1,'type':'delete-class','task':'"
                            + longest
                            + "x','label':'l'}"))
                .getMessage())
        .contains("$.task");
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      quoteCharacter = '"',
      value = {
        "{'schemaVersion':1,'type':'add','task':'t'} | $.type",
        "{'schemaVersion':1,'task':'t','label':'l'} | type",
        "{'schemaVersion':1,'type':'add-example','task':'t','exampleId':'e','embedding':[1]} | label",
        "{'schemaVersion':1,'type':'add-example','task':'t','label':'l','embedding':[1]} | exampleId",
        "{'schemaVersion':1,'type':'add-example','task':'t','label':'l','exampleId':'e'} | embedding",
        "{'schemaVersion':1,'type':'remove-example','task':'t'} | exampleId",
        "{'schemaVersion':1,'type':'remove-example','task':'t','exampleId':'e','label':'l'} | $.label",
        "{'schemaVersion':1,'type':'delete-class','task':'t'} | label",
        "{'schemaVersion':1,'type':'delete-class','task':'t','label':'l','embedding':[1]} | $.embedding"
      })
  void shouldRequireTheFieldsOfEachSupportEventType(String value, String field) {
    InvalidEventException e = readSupportFailure(json(value));

    assertThat(e.reason()).isEqualTo(DeadLetterReason.SCHEMA_VIOLATION);
    assertThat(e.getMessage()).contains(field);
  }

  @Test
  void shouldReportRecordChecksTheSchemaCannotExpressAsSchemaViolations() {
    byte[] threeWeightsForFeatureSizeTwo =
        json(
            "{'schemaVersion':1,'task':'t','version':1,'method':'prototypes','backboneId':'b',"
                + "'featureSize':2,'scale':10,'classes':[{'label':'c','examples':1,"
                + "'weights':[1,2,3],'bias':0}],'supportExamples':1,'poolQueries':0,'createdAt':0}");

    InvalidEventException e =
        catchThrowableOfType(
            InvalidEventException.class, () -> CODEC.readSnapshot(threeWeightsForFeatureSizeTwo));

    assertThat(e.reason()).isEqualTo(DeadLetterReason.SCHEMA_VIOLATION);
    assertThat(e.getMessage()).contains("expected 2 weights", "found 3");
  }

  @Test
  void shouldRequireFineTuningOnlyForFineTunedSnapshots() {
    String common =
        "'schemaVersion':1,'task':'t','version':1,'backboneId':'b','featureSize':1,'scale':10,"
            + "'classes':[],'supportExamples':0,'poolQueries':0,'createdAt':0";

    assertThat(CODEC.violations(EventType.MODEL, json("{" + common + ",'method':'fine-tuned'}")))
        .anyMatch(m -> m.contains("fineTuning"));
    assertThat(
            CODEC.violations(
                EventType.MODEL,
                json("{" + common + ",'method':'prototypes','fineTuning':'inductive'}")))
        .anyMatch(m -> m.contains("fineTuning"));
  }

  @Test
  void shouldListAtMostFiveViolationsInTheMessage() {
    // six unknown properties: each is its own violation
    InvalidEventException e =
        readQueryFailure(
            json(
                "{'schemaVersion':1,'task':'t','queryId':'q','embedding':[1],"
                    + "'a':1,'b':1,'c':1,'d':1,'e':1,'f':1}"));

    assertThat(e.getMessage()).contains("and 1 more");
  }

  @Test
  void shouldRefuseRecordsLargerThanTheLimitBeforeParsing() {
    // a limit of 1 KiB, and a value of 2 KiB that is not even JSON: the size is checked first
    EventCodec small = new EventCodec(1024);
    byte[] value = new byte[2048];

    InvalidEventException e =
        catchThrowableOfType(InvalidEventException.class, () -> small.readQuery(value));

    assertThat(e.reason()).isEqualTo(DeadLetterReason.RECORD_TOO_LARGE);
    assertThat(e.getMessage()).contains("1024", "2048");
  }

  @Test
  void shouldAcceptARecordOfExactlyTheLimit() {
    byte[] value = json("{'schemaVersion':1,'type':'delete-class','task':'t','label':'l'}");
    EventCodec exact = new EventCodec(value.length);

    assertThat(exact.readSupport(value)).isEqualTo(new SupportEvent.DeleteClass(1, "t", "l"));
  }

  @Test
  void shouldReadFromManyThreadsAtOnce() throws Exception {
    // stream threads share one codec: 4 threads, each reading a different event many times
    int threads = 4;
    int readsPerThread = 2_000;
    ExecutorService pool =
        Executors.newFixedThreadPool(threads);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        QueryEvent query =
            new QueryEvent(1, "shop-" + t, "q" + t, null, new float[] {t, t + 0.5f}, t + 1);
        byte[] json = CODEC.write(query);
        results.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < readsPerThread; i++) {
                    if (!CODEC.readQuery(json).equals(query)) {
                      return false;
                    }
                  }
                  return true;
                }));
      }
      for (Future<Boolean> result : results) {
        assertThat(result.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
