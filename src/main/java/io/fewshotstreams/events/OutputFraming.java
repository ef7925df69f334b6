package io.fewshotstreams.events;

import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Which output topics are written in the Schema Registry wire format, and with which schema id:
 * one id per {@link EventType} the service writes (predictions, models, dead letters). A type
 * without an id is written as plain JSON, as before.
 *
 * @param schemaIds the registry's schema id for each framed output type; copied
 */
public record OutputFraming(Map<EventType, Integer> schemaIds) {

  /** The types the service writes to its output topics. */
  public static final Set<EventType> OUTPUT_TYPES =
      Set.of(EventType.PREDICTION, EventType.MODEL, EventType.DEAD_LETTER);

  private static final OutputFraming NONE = new OutputFraming(Map.of());

  public OutputFraming {
    Objects.requireNonNull(schemaIds, "schemaIds");
    Map<EventType, Integer> copy = new EnumMap<>(EventType.class);
    for (Map.Entry<EventType, Integer> entry : schemaIds.entrySet()) {
      EventType type = Objects.requireNonNull(entry.getKey(), "schemaIds: a null event type");
      Integer id = entry.getValue();
      if (!OUTPUT_TYPES.contains(type)) {
        throw new IllegalArgumentException(
            "schemaIds: expected output types among " + OUTPUT_TYPES + ", found " + type);
      }
      if (id == null || id < 0) {
        throw new IllegalArgumentException(
            "schemaIds: expected a schema id >= 0 for " + type + ", found " + id);
      }
      copy.put(type, id);
    }
    schemaIds = Map.copyOf(copy);
  }

  /** Every output as plain JSON. */
  public static OutputFraming none() {
    return NONE;
  }

  /** The schema id {@code type} is framed with; empty when it is written as plain JSON. */
  public OptionalInt schemaId(EventType type) {
    Integer id = schemaIds.get(type);
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }

  /** {@code json} as it goes to the topic of {@code type}: framed when the type has an id. */
  public byte[] apply(EventType type, byte[] json) {
    OptionalInt id = schemaId(type);
    return id.isPresent() ? EventCodec.frame(json, id.getAsInt()) : json;
  }
}
