package io.fewshotstreams.events;

import static org.assertj.core.api.Assertions.assertThat;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The schema files and the examples the README shows users. */
class SchemaExamplesTest {

  private static final EventCodec CODEC = new EventCodec();
  private static final JsonMapper MAPPER = JsonMapper.builder().build();

  static byte[] resource(String path) {
    try (InputStream in = SchemaExamplesTest.class.getResourceAsStream(path)) {
      assertThat(in).as(path + " on the classpath").isNotNull();
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static byte[] example(String name) {
    return resource("/schemas/examples/" + name);
  }

  @ParameterizedTest
  @EnumSource(EventType.class)
  void shouldShipSchemasThatAreValidDraft202012(EventType type) {
    SchemaRegistry registry = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12);
    // resolved to the copy inside the validator's jar, not fetched
    Schema metaSchema =
        registry.getSchema(SchemaLocation.of("https://json-schema.org/draft/2020-12/schema"));
    JsonNode schema = MAPPER.readTree(resource(type.schemaResource()));

    List<Error> errors = metaSchema.validate(schema);

    assertThat(errors).isEmpty();
    assertThat(schema.get("$schema").asString())
        .isEqualTo("https://json-schema.org/draft/2020-12/schema");
  }

  @ParameterizedTest
  @EnumSource(EventType.class)
  void shouldDescribeEveryPropertyUsersCodeAgainst(EventType type) {
    JsonNode schema = MAPPER.readTree(resource(type.schemaResource()));
    List<String> undescribed = new ArrayList<>();

    collectUndescribedProperties(schema, "", undescribed);

    assertThat(schema.has("$id")).isTrue();
    assertThat(schema.path("title").asString()).isNotBlank();
    assertThat(schema.path("description").asString()).isNotBlank();
    assertThat(undescribed).isEmpty();
  }

  @ParameterizedTest
  @EnumSource(EventType.class)
  void shouldRequireSchemaVersionOneAndRefuseUnknownProperties(EventType type) {
    JsonNode schema = MAPPER.readTree(resource(type.schemaResource()));

    assertThat(schema.path("properties").path("schemaVersion").path("const").asInt()).isEqualTo(1);
    assertThat(schema.path("required").valueStream().map(JsonNode::asString))
        .contains("schemaVersion");
    assertThat(schema.path("additionalProperties").isBoolean()).isTrue();
    assertThat(schema.path("additionalProperties").asBoolean()).isFalse();
  }

  @Test
  void shouldTellQuerySendersWhatHappensToAQueryForATaskWithoutClasses() {
    JsonNode schema = MAPPER.readTree(resource(EventType.QUERY.schemaResource()));

    assertThat(schema.path("description").asString()).contains("UNKNOWN_TASK", "no prediction");
  }

  @Test
  void shouldListEveryDeadLetterReasonInTheSchema() {
    JsonNode reasons =
        MAPPER
            .readTree(resource(EventType.DEAD_LETTER.schemaResource()))
            .path("properties")
            .path("reason")
            .path("enum");

    assertThat(reasons.valueStream().map(JsonNode::asString))
        .containsExactly(
            Arrays.stream(DeadLetterReason.values()).map(Enum::name).toArray(String[]::new));
  }

  @Test
  void shouldAcceptEveryExampleAndReadItAsTheRightRecord() {
    Map<String, EventType> examples =
        Map.of(
            "support-add-example.json", EventType.SUPPORT,
            "support-add-embedding.json", EventType.SUPPORT,
            "support-remove-example.json", EventType.SUPPORT,
            "support-delete-class.json", EventType.SUPPORT,
            "query.json", EventType.QUERY,
            "prediction.json", EventType.PREDICTION,
            "model.json", EventType.MODEL,
            "dead-letter.json", EventType.DEAD_LETTER);
    examples.forEach(
        (name, type) -> assertThat(CODEC.violations(type, example(name))).as(name).isEmpty());

    SupportEvent addImage = CODEC.readSupport(example("support-add-example.json"));
    assertThat(addImage).isInstanceOf(SupportEvent.AddExample.class);
    Image image = ((SupportEvent.AddExample) addImage).image();
    assertThat(image.contentType()).isEqualTo(Image.PNG);
    // a real PNG: the 8-byte signature every PNG file starts with
    assertThat(image.data())
        .startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G', (byte) 0x0D, (byte) 0x0A);

    SupportEvent addEmbedding = CODEC.readSupport(example("support-add-embedding.json"));
    assertThat(((SupportEvent.AddExample) addEmbedding).embedding())
        .containsExactly(0.125f, -0.5f, 0.0625f, 0.8125f);
    assertThat(CODEC.readSupport(example("support-remove-example.json")))
        .isEqualTo(new SupportEvent.RemoveExample(1, "shoe-shop", "sneaker-001"));
    assertThat(CODEC.readSupport(example("support-delete-class.json")))
        .isEqualTo(new SupportEvent.DeleteClass(1, "shoe-shop", "ankle-boot"));

    QueryEvent query = CODEC.readQuery(example("query.json"));
    assertThat(query.queryId()).isEqualTo("q-20261129-0001");
    assertThat(query.topK()).isEqualTo(2);
    assertThat(query.image().dataUnsafe()).startsWith((byte) 0x89, (byte) 'P', (byte) 'N');

    Prediction prediction = CODEC.readPrediction(example("prediction.json"));
    assertThat(prediction.label()).isEqualTo("sneaker");
    assertThat(prediction.probabilities().keySet())
        .containsExactly("sneaker", "ankle-boot", "sandal");
    assertThat(prediction.topK()).hasSize(2);
    assertThat(prediction.openSetScore()).isEqualTo(0.82);
    assertThat(prediction.accepted()).isTrue();

    ModelSnapshot model = CODEC.readSnapshot(example("model.json"));
    assertThat(model.fineTuning()).isEqualTo("robust");
    assertThat(model.openSetThreshold()).isEqualTo(0.625f);
    assertThat(model.classes().get(1).centre()).containsExactly(0.25f, -0.5f, 0.0f, 0.8125f);
    assertThat(model.trainingLoss()).isEqualTo(0.1875);
    assertThat(model.fineTuneMillis()).isEqualTo(42.5);
    assertThat(model.classes()).extracting(ModelSnapshot.ClassWeights::label)
        .containsExactly("sneaker", "ankle-boot", "sandal");

    DeadLetter deadLetter = CODEC.readDeadLetter(example("dead-letter.json"));
    assertThat(deadLetter.reason()).isEqualTo(DeadLetterReason.UNKNOWN_TASK);
    assertThat(deadLetter.valueBytes()).isEqualTo(deadLetter.value().length());
  }

  /** Every schema under a {@code properties} keyword must carry a description. */
  private static void collectUndescribedProperties(JsonNode node, String path, List<String> out) {
    if (node.isObject()) {
      JsonNode properties = node.get("properties");
      if (properties != null && properties.isObject()) {
        for (Map.Entry<String, JsonNode> property : properties.properties()) {
          JsonNode propertySchema = property.getValue();
          // conditions under `if` select a case; they declare no property of their own
          if (propertySchema.isObject()
              && !propertySchema.has("description")
              && !path.contains("/if")) {
            out.add(path + "/properties/" + property.getKey());
          }
        }
      }
      for (Map.Entry<String, JsonNode> child : node.properties()) {
        collectUndescribedProperties(child.getValue(), path + "/" + child.getKey(), out);
      }
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        collectUndescribedProperties(node.get(i), path + "/" + i, out);
      }
    }
  }
}
