package io.fewshotstreams.events;

import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import com.networknt.schema.path.PathType;
import com.networknt.schema.resource.SchemaLoader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Reads incoming events, validated against the schemas under {@code schemas/}, and writes outgoing
 * ones. Thread-safe; build one per application and share it, since it compiles the schemas once.
 *
 * <p>Every read checks the size first, parses the value once into a tree, validates the tree
 * against the topic's schema and binds it to the record. The schemas come from the classpath; the
 * codec never fetches anything over the network.
 *
 * <p>Values in the Schema Registry wire format are read too: a {@link #MAGIC_BYTE 0x00} byte, a
 * 4-byte big-endian schema id, then the JSON. A JSON value never starts with 0x00, so the first byte
 * tells the two apart; the schema id is not looked up (the schema is the codec's own), so reading
 * needs no registry. {@link #frame} writes such values.
 */
public final class EventCodec {

  /** Largest record accepted by default: a 10 MiB image in base64 plus the envelope. */
  public static final int DEFAULT_MAX_RECORD_BYTES = 14 * 1024 * 1024;

  /** The first byte of a value in the Schema Registry wire format. */
  public static final byte MAGIC_BYTE = 0;

  /** The bytes before the JSON in the Schema Registry wire format: magic byte and schema id. */
  public static final int FRAME_HEADER_BYTES = 1 + Integer.BYTES;

  /** Schema violations named in an exception message; the rest are counted. */
  private static final int MAX_REPORTED_VIOLATIONS = 5;

  private final int maxRecordBytes;
  private final JsonMapper mapper;
  private final Map<EventType, Schema> schemas = new EnumMap<>(EventType.class);

  public EventCodec() {
    this(DEFAULT_MAX_RECORD_BYTES);
  }

  /** A codec that refuses records larger than {@code maxRecordBytes}. */
  public EventCodec(int maxRecordBytes) {
    if (maxRecordBytes < 1) {
      throw new IllegalArgumentException(
          "expected maxRecordBytes >= 1, found " + maxRecordBytes);
    }
    this.maxRecordBytes = maxRecordBytes;
    this.mapper =
        JsonMapper.builder()
            // a repeated property would make the meaning of an event depend on the parser
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    SchemaRegistry registry =
        SchemaRegistry.withDefaultDialect(
            SpecificationVersion.DRAFT_2020_12,
            builder ->
                builder
                    // only the schemas given here and the meta-schemas inside the validator's jar
                    .schemaLoader(SchemaLoader.builder().fetchRemoteResources(false).build())
                    .schemaRegistryConfig(
                        SchemaRegistryConfig.builder()
                            .locale(Locale.ENGLISH)
                            .pathType(PathType.JSON_PATH)
                            .build()));
    for (EventType type : EventType.values()) {
      JsonNode node = readSchemaNode(type.schemaResource());
      Schema schema = registry.getSchema(SchemaLocation.of(schemaIri(node, type)), node);
      // compiled now rather than lazily on the first record, which may arrive on any thread
      schema.initializeValidators();
      schemas.put(type, schema);
    }
  }

  /** The largest record, in bytes, this codec accepts. */
  public int maxRecordBytes() {
    return maxRecordBytes;
  }

  /**
   * Parses and validates a support event.
   *
   * @throws InvalidEventException with {@link DeadLetterReason#RECORD_TOO_LARGE}, {@link
   *     DeadLetterReason#INVALID_JSON} or {@link DeadLetterReason#SCHEMA_VIOLATION}
   */
  public SupportEvent readSupport(byte[] value) {
    return read(EventType.SUPPORT, value, SupportEvent.class);
  }

  /** Parses and validates a query event; throws as {@link #readSupport}. */
  public QueryEvent readQuery(byte[] value) {
    return read(EventType.QUERY, value, QueryEvent.class);
  }

  /** Parses and validates a model snapshot; throws as {@link #readSupport}. */
  public ModelSnapshot readSnapshot(byte[] value) {
    return read(EventType.MODEL, value, ModelSnapshot.class);
  }

  /** Parses a prediction (for clients and tests); throws as {@link #readSupport}. */
  public Prediction readPrediction(byte[] value) {
    return read(EventType.PREDICTION, value, Prediction.class);
  }

  /**
   * Binds a prediction that this codec wrote into one of the service's own stores or internal
   * topics: straight to the record, without the schema validation an outside value needs (on the
   * stream thread, for every kept prediction, it cost more than the binding). Not for values from
   * users' topics.
   *
   * @throws IllegalStateException when the value does not bind (a service bug, not bad input)
   */
  public Prediction readOwnPrediction(byte[] value) {
    try {
      return mapper.readValue(value, Prediction.class);
    } catch (JacksonException e) {
      throw new IllegalStateException(
          "expected a prediction the service wrote, found one that does not bind: "
              + e.getOriginalMessage(),
          e);
    }
  }

  /** Parses a dead letter (for clients and tests); throws as {@link #readSupport}. */
  public DeadLetter readDeadLetter(byte[] value) {
    return read(EventType.DEAD_LETTER, value, DeadLetter.class);
  }

  /** Parses and validates a feedback event; throws as {@link #readSupport}. */
  public FeedbackEvent readFeedback(byte[] value) {
    return read(EventType.FEEDBACK, value, FeedbackEvent.class);
  }

  /** Parses an outcome (for clients and tests); throws as {@link #readSupport}. */
  public Outcome readOutcome(byte[] value) {
    return read(EventType.OUTCOME, value, Outcome.class);
  }

  /** Parses a review item (for clients and tests); throws as {@link #readSupport}. */
  public ReviewItem readReview(byte[] value) {
    return read(EventType.REVIEW, value, ReviewItem.class);
  }

  /**
   * The JSON of any event record of this package, as UTF-8: byte arrays as base64, null components
   * left out, floats in their shortest form that reads back as the same float.
   */
  public byte[] write(Object event) {
    if (event == null) {
      throw new IllegalArgumentException("expected an event record, found null");
    }
    try {
      return mapper.writeValueAsBytes(event);
    } catch (JacksonException e) {
      throw new IllegalArgumentException(
          "expected an event record of this package, found "
              + event.getClass().getName()
              + ": "
              + e.getOriginalMessage(),
          e);
    }
  }

  /**
   * {@code json} in the Schema Registry wire format: {@link #MAGIC_BYTE}, {@code schemaId} as 4
   * bytes big-endian, then {@code json} unchanged.
   *
   * @throws IllegalArgumentException if {@code schemaId} is negative or {@code json} is empty
   */
  public static byte[] frame(byte[] json, int schemaId) {
    if (schemaId < 0) {
      throw new IllegalArgumentException("expected a schema id >= 0, found " + schemaId);
    }
    if (json == null || json.length == 0) {
      throw new IllegalArgumentException(
          "expected JSON to frame, found " + (json == null ? "null" : "an empty value"));
    }
    return ByteBuffer.allocate(FRAME_HEADER_BYTES + json.length)
        .put(MAGIC_BYTE)
        .putInt(schemaId)
        .put(json)
        .array();
  }

  /**
   * The schema id of a value in the Schema Registry wire format; empty for a plain JSON value (or
   * no value, or a frame too short to hold an id).
   */
  public static OptionalInt schemaId(byte[] value) {
    if (value == null || value.length < FRAME_HEADER_BYTES || value[0] != MAGIC_BYTE) {
      return OptionalInt.empty();
    }
    return OptionalInt.of(ByteBuffer.wrap(value, 1, Integer.BYTES).getInt());
  }

  /**
   * What is wrong with {@code json} as a record of {@code type}: one entry per schema violation,
   * each naming the JSON path, or one entry saying why it is not JSON; empty when it is valid.
   * Does not bind the record, so checks made by the records' constructors (such as a model's
   * weights having {@code featureSize} numbers) are not included. A framed value is checked as the
   * JSON after its frame.
   */
  public List<String> violations(EventType type, byte[] json) {
    JsonNode tree;
    try {
      tree = parse(json);
    } catch (InvalidEventException e) {
      return List.of(e.getMessage());
    }
    return describe(schemas.get(type).validate(tree));
  }

  private <T> T read(EventType type, byte[] value, Class<T> recordType) {
    if (value != null && value.length > maxRecordBytes) {
      throw new InvalidEventException(
          DeadLetterReason.RECORD_TOO_LARGE,
          "expected at most " + maxRecordBytes + " bytes, found " + value.length);
    }
    JsonNode tree = parse(value);
    List<Error> errors = schemas.get(type).validate(tree);
    if (!errors.isEmpty()) {
      List<String> messages = describe(errors);
      int shown = Math.min(messages.size(), MAX_REPORTED_VIOLATIONS);
      StringBuilder message =
          new StringBuilder("expected a value following ")
              .append(type.schemaResource().substring(1))
              .append(", found: ")
              .append(String.join("; ", messages.subList(0, shown)));
      if (messages.size() > shown) {
        message.append("; and ").append(messages.size() - shown).append(" more");
      }
      throw new InvalidEventException(DeadLetterReason.SCHEMA_VIOLATION, message.toString());
    }
    try {
      return mapper.treeToValue(tree, recordType);
    } catch (JacksonException e) {
      // the schema cannot say everything: record constructors check the rest
      throw new InvalidEventException(
          DeadLetterReason.SCHEMA_VIOLATION, bindingMessage(e), e);
    }
  }

  private JsonNode parse(byte[] value) {
    if (value == null || value.length == 0) {
      throw new InvalidEventException(
          DeadLetterReason.INVALID_JSON,
          "expected a JSON object, found " + (value == null ? "no value" : "an empty value"));
    }
    int offset = 0;
    String framing = "";
    if (value[0] == MAGIC_BYTE) {
      if (value.length < FRAME_HEADER_BYTES) {
        throw new InvalidEventException(
            DeadLetterReason.INVALID_JSON,
            "expected a JSON object, or a Schema Registry frame of at least "
                + FRAME_HEADER_BYTES
                + " bytes (magic byte 0x00, 4-byte schema id, JSON), found a value of "
                + value.length
                + (value.length == 1 ? " byte" : " bytes")
                + " starting with 0x00");
      }
      int schemaId = ByteBuffer.wrap(value, 1, Integer.BYTES).getInt();
      if (value.length == FRAME_HEADER_BYTES) {
        throw new InvalidEventException(
            DeadLetterReason.INVALID_JSON,
            "expected a JSON object after the Schema Registry frame (schema id "
                + schemaId
                + "), found nothing after it");
      }
      offset = FRAME_HEADER_BYTES;
      framing = " after the Schema Registry frame (schema id " + schemaId + ")";
    }
    JsonNode tree;
    try {
      tree = mapper.readTree(value, offset, value.length - offset);
    } catch (JacksonException e) {
      throw new InvalidEventException(
          DeadLetterReason.INVALID_JSON,
          "expected a JSON object in UTF-8"
              + framing
              + ", found invalid JSON: "
              + brief(e.getOriginalMessage())
              + where(e),
          e);
    }
    if (tree == null || tree.isMissingNode()) {
      throw new InvalidEventException(
          DeadLetterReason.INVALID_JSON,
          "expected a JSON object" + framing + ", found only white space");
    }
    return tree;
  }

  private static String where(JacksonException e) {
    if (e.getLocation() == null || e.getLocation().getByteOffset() < 0) {
      return "";
    }
    return " (at byte " + e.getLocation().getByteOffset() + ")";
  }

  /** The parser's message without its note on where the enclosing object started. */
  private static String brief(String message) {
    int note = message.indexOf(" (start marker at");
    return note < 0 ? message : message.substring(0, note);
  }

  private static List<String> describe(List<Error> errors) {
    List<String> messages = new ArrayList<>(errors.size());
    for (Error error : errors) {
      messages.add(error.toString());
    }
    return messages;
  }

  private static String bindingMessage(JacksonException e) {
    Throwable cause = e.getCause();
    if (cause instanceof IllegalArgumentException || cause instanceof NullPointerException) {
      return cause.getMessage();
    }
    return jsonPath(e) + ": " + e.getOriginalMessage();
  }

  /** Where binding failed, written like the validator's paths: {@code $.image.data}. */
  private static String jsonPath(JacksonException e) {
    StringBuilder path = new StringBuilder("$");
    for (JacksonException.Reference reference : e.getPath()) {
      if (reference.getPropertyName() != null) {
        path.append('.').append(reference.getPropertyName());
      } else if (reference.getIndex() >= 0) {
        path.append('[').append(reference.getIndex()).append(']');
      }
    }
    return path.toString();
  }

  private JsonNode readSchemaNode(String resource) {
    try (InputStream in = EventCodec.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("expected the schema " + resource + " on the classpath");
      }
      return mapper.readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the schema " + resource, e);
    }
  }

  private static String schemaIri(JsonNode schema, EventType type) {
    JsonNode id = schema.get("$id");
    if (id == null || !id.isString()) {
      throw new IllegalStateException("expected an $id in " + type.schemaResource());
    }
    return id.asString();
  }
}
