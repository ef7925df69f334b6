package io.fewshotstreams.embedding;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns model-card JSON into a {@link ModelCard}. The only class of this package that uses Jackson;
 * it checks JSON types field by field so that a wrong type reads as a card error, not a Jackson
 * stack trace. Unknown fields are ignored.
 */
final class ModelCardReader {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private ModelCardReader() {}

  static ModelCard read(Path cardJson) {
    String text;
    try {
      text = Files.readString(cardJson, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new EmbeddingException("cannot read model card " + cardJson + ": " + e, e);
    }
    return parse(text, cardJson.toString());
  }

  static ModelCard parse(String json, String source) {
    JsonNode root;
    try {
      root = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new EmbeddingException(
          "model card " + source + " is not valid JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new EmbeddingException(
          "model card "
              + source
              + " must be a JSON object, found "
              + (root == null ? "nothing" : root.getNodeType()));
    }
    Fields f = new Fields(root, source);
    try {
      return new ModelCard(
          f.integer("schemaVersion"),
          f.text("id", true),
          f.text("description", false),
          f.text("onnxFile", true),
          f.text("onnxSha256", true),
          f.text("inputName", true),
          f.enumValue("layout", ModelCard.Layout.class),
          f.integer("channels"),
          f.integer("height"),
          f.integer("width"),
          f.floats("mean", true),
          f.floats("std", true),
          f.enumValue("background", ModelCard.Background.class),
          f.text("outputName", true),
          f.integer("featureSize"),
          f.strings("baseClasses"),
          f.floats("baseMean", false),
          f.optionalNumber("trainingAccuracy"),
          f.object("training"),
          f.resize("resize"));
    } catch (EmbeddingException e) {
      throw new EmbeddingException(e.getMessage() + " (in " + source + ")", e);
    }
  }

  /** Typed access to the card's fields, failing with the field name and the JSON found. */
  private static final class Fields {
    private final JsonNode root;
    private final String source;

    Fields(JsonNode root, String source) {
      this.root = root;
      this.source = source;
    }

    private JsonNode present(String name) {
      JsonNode node = root.get(name);
      return node == null || node.isNull() ? null : node;
    }

    private EmbeddingException wrongType(String name, String expected, JsonNode found) {
      return new EmbeddingException(
          "invalid model card "
              + source
              + ": field '"
              + name
              + "': expected "
              + expected
              + ", found "
              + (found == null ? "nothing" : found.toString()));
    }

    int integer(String name) {
      JsonNode node = present(name);
      if (node == null || !node.canConvertToInt() || !node.isIntegralNumber()) {
        throw wrongType(name, "an integer", node);
      }
      return node.intValue();
    }

    String text(String name, boolean required) {
      JsonNode node = present(name);
      if (node == null && !required) {
        return null;
      }
      if (node == null || !node.isTextual()) {
        throw wrongType(name, "a string", node);
      }
      return node.textValue();
    }

    <E extends Enum<E>> E enumValue(String name, Class<E> type) {
      JsonNode node = present(name);
      List<String> allowed = new ArrayList<>();
      for (E constant : type.getEnumConstants()) {
        allowed.add(constant.name());
      }
      if (node == null || !node.isTextual()) {
        throw wrongType(name, "one of " + allowed, node);
      }
      String value = node.textValue().trim().toUpperCase(Locale.ROOT);
      for (E constant : type.getEnumConstants()) {
        if (constant.name().equals(value)) {
          return constant;
        }
      }
      throw wrongType(name, "one of " + allowed, node);
    }

    float[] floats(String name, boolean required) {
      JsonNode node = present(name);
      if (node == null && !required) {
        return null;
      }
      if (node == null || !node.isArray()) {
        throw wrongType(name, "an array of numbers", node);
      }
      float[] values = new float[node.size()];
      for (int i = 0; i < values.length; i++) {
        JsonNode element = node.get(i);
        if (!element.isNumber()) {
          throw wrongType(name + "[" + i + "]", "a number", element);
        }
        values[i] = element.floatValue();
      }
      return values;
    }

    List<String> strings(String name) {
      JsonNode node = present(name);
      if (node == null) {
        return List.of();
      }
      if (!node.isArray()) {
        throw wrongType(name, "an array of strings", node);
      }
      List<String> values = new ArrayList<>(node.size());
      for (int i = 0; i < node.size(); i++) {
        JsonNode element = node.get(i);
        if (!element.isTextual()) {
          throw wrongType(name + "[" + i + "]", "a string", element);
        }
        values.add(element.textValue());
      }
      return values;
    }

    Double optionalNumber(String name) {
      JsonNode node = present(name);
      if (node == null) {
        return null;
      }
      if (!node.isNumber()) {
        throw wrongType(name, "a number", node);
      }
      return node.doubleValue();
    }

    /** The optional {@code resize} object: policy, size, interpolation, padColor. */
    ModelCard.Resize resize(String name) {
      JsonNode node = present(name);
      if (node == null) {
        return null;
      }
      if (!node.isObject()) {
        throw wrongType(name, "an object with policy, size, interpolation, padColor", node);
      }
      Fields inner = new Fields(node, source);
      ModelCard.ResizePolicy policy =
          inner.labelled(name + ".policy", "policy", ModelCard.ResizePolicy.values(), null);
      ModelCard.Interpolation defaultInterpolation =
          policy == ModelCard.ResizePolicy.STRETCH
              ? ModelCard.Interpolation.AREA
              : ModelCard.Interpolation.BILINEAR;
      ModelCard.Interpolation interpolation =
          inner.labelled(
              name + ".interpolation",
              "interpolation",
              ModelCard.Interpolation.values(),
              defaultInterpolation);
      int size = inner.present("size") == null ? 0 : inner.integerAs("size", name + ".size");
      int[] padColor = null;
      JsonNode pad = inner.present("padColor");
      if (pad != null) {
        float[] values = inner.floats("padColor", true);
        padColor = new int[values.length];
        for (int i = 0; i < values.length; i++) {
          if (!pad.get(i).isIntegralNumber()) {
            throw wrongType(name + ".padColor[" + i + "]", "an integer in 0..255", pad.get(i));
          }
          padColor[i] = pad.get(i).intValue();
        }
      }
      return new ModelCard.Resize(policy, size, interpolation, padColor);
    }

    private int integerAs(String key, String shownAs) {
      JsonNode node = present(key);
      if (node == null || !node.canConvertToInt() || !node.isIntegralNumber()) {
        throw wrongType(shownAs, "an integer", node);
      }
      return node.intValue();
    }

    /** An enum written in JSON by its label (such as {@code shorter-side}), any case. */
    private <E extends Enum<E>> E labelled(String shownAs, String key, E[] constants, E fallback) {
      JsonNode node = present(key);
      List<String> allowed = new ArrayList<>();
      for (E constant : constants) {
        allowed.add(label(constant));
      }
      if (node == null && fallback != null) {
        return fallback;
      }
      if (node == null || !node.isTextual()) {
        throw wrongType(shownAs, "one of " + allowed, node);
      }
      String value = node.textValue().trim().toLowerCase(Locale.ROOT);
      for (E constant : constants) {
        if (label(constant).equals(value)) {
          return constant;
        }
      }
      throw wrongType(shownAs, "one of " + allowed, node);
    }

    private static String label(Enum<?> constant) {
      if (constant instanceof ModelCard.ResizePolicy p) {
        return p.label();
      }
      if (constant instanceof ModelCard.Interpolation i) {
        return i.label();
      }
      return constant.name().toLowerCase(Locale.ROOT);
    }

    Map<String, Object> object(String name) {
      JsonNode node = present(name);
      if (node == null) {
        return Map.of();
      }
      if (!node.isObject()) {
        throw wrongType(name, "an object", node);
      }
      @SuppressWarnings("unchecked") // an ObjectNode always converts to a map with string keys
      Map<String, Object> map = MAPPER.convertValue(node, Map.class);
      return map;
    }
  }
}
