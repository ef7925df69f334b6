package io.fewshotstreams.embedding;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** The committed ONNX fixtures (tools/fixtures/make_rgb_fixture.py) and variants of their cards. */
final class Fixtures {
  static final String RGB32 = "/embedding/rgb32/model-card.json";
  static final String GRAY28 = "/embedding/gray28/model-card.json";

  private Fixtures() {}

  static Backbone rgb32() {
    return Backbone.fromClasspath(RGB32);
  }

  static Backbone gray28() {
    return Backbone.fromClasspath(GRAY28);
  }

  static String cardJson(String resource) {
    return new String(resource(resource), StandardCharsets.UTF_8);
  }

  static byte[] resource(String name) {
    try (InputStream in = Fixtures.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The RGB fixture's model with its card's JSON edited by replacing {@code from} with {@code to}.
   */
  static Backbone rgb32WithCardEdit(String from, String to) {
    String json = cardJson(RGB32);
    if (!json.contains(from)) {
      throw new IllegalArgumentException("card has no '" + from + "'");
    }
    ModelCard card = ModelCard.parse(json.replace(from, to), "edited rgb32 card");
    return new Backbone(card, resource("/embedding/rgb32/model.onnx"), "rgb32 model.onnx");
  }
}
