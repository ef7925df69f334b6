package io.fewshotstreams.embedding;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A model card together with the ONNX bytes it describes. The constructor checks the bytes against
 * the card's sha-256, so every {@code Backbone} is one whose card and model belong together.
 *
 * @param card the validated model card
 * @param onnxModel the serialised ONNX model; copied in and out
 * @param source where the model was read from, for messages and logs
 */
public record Backbone(ModelCard card, byte[] onnxModel, String source) {

  /** Classpath location of the default backbone's card. */
  public static final String BUNDLED_CARD_RESOURCE = "/backbone/model-card.json";

  public Backbone {
    Objects.requireNonNull(card, "card");
    Objects.requireNonNull(onnxModel, "onnxModel");
    source = source == null ? card.onnxFile() : source;
    String actual = sha256(onnxModel);
    if (!actual.equals(card.onnxSha256())) {
      throw new EmbeddingException(
          "ONNX model "
              + source
              + " ("
              + onnxModel.length
              + " bytes) has sha-256 "
              + actual
              + ", but model card '"
              + card.id()
              + "' expects "
              + card.onnxSha256()
              + "; the model and its card do not belong together");
    }
    onnxModel = onnxModel.clone();
  }

  /**
   * Reads a card from a file and the ONNX file it names, resolved against the card's folder.
   *
   * @throws EmbeddingException when either file is missing or invalid, or the digest differs
   */
  public static Backbone load(Path cardJson) {
    ModelCard card = ModelCard.load(cardJson);
    Path parent = cardJson.toAbsolutePath().getParent();
    Path onnx = parent.resolve(card.onnxFile()).normalize();
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(onnx);
    } catch (IOException e) {
      throw new EmbeddingException(
          "cannot read ONNX model " + onnx + " named by model card " + cardJson + ": " + e, e);
    }
    return new Backbone(card, bytes, onnx.toString());
  }

  /**
   * Reads a card and its ONNX file from the classpath; {@code cardResource} is an absolute resource
   * name such as {@value #BUNDLED_CARD_RESOURCE} and the ONNX file is looked up beside it.
   *
   * @throws EmbeddingException when a resource is missing or invalid, or the digest differs
   */
  public static Backbone fromClasspath(String cardResource) {
    if (!cardResource.startsWith("/")) {
      throw new IllegalArgumentException(
          "expected an absolute resource name starting with '/', found '" + cardResource + "'");
    }
    String json = new String(readResource(cardResource, "model card"), StandardCharsets.UTF_8);
    ModelCard card = ModelCard.parse(json, "classpath:" + cardResource);
    String onnxResource =
        cardResource.substring(0, cardResource.lastIndexOf('/') + 1) + card.onnxFile();
    byte[] bytes = readResource(onnxResource, "ONNX model named by " + cardResource + ":");
    return new Backbone(card, bytes, "classpath:" + onnxResource);
  }

  /** The default backbone bundled with the application ({@value #BUNDLED_CARD_RESOURCE}). */
  public static Backbone bundled() {
    return fromClasspath(BUNDLED_CARD_RESOURCE);
  }

  @Override
  public byte[] onnxModel() {
    return onnxModel.clone();
  }

  /** The model bytes without a copy, for the runtime that only reads them. */
  byte[] onnxModelUnsafe() {
    return onnxModel;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Backbone other && card.equals(other.card) && source.equals(other.source);
  }

  @Override
  public int hashCode() {
    return card.hashCode() * 31 + source.hashCode();
  }

  @Override
  public String toString() {
    return "Backbone[" + card.id() + " from " + source + ", " + onnxModel.length + " bytes]";
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform provides SHA-256", e);
    }
  }

  private static byte[] readResource(String name, String what) {
    try (InputStream in = Backbone.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new EmbeddingException(what + " resource " + name + " not found on the classpath");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new EmbeddingException("cannot read " + what + " resource " + name + ": " + e, e);
    }
  }
}
