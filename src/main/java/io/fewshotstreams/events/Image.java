package io.fewshotstreams.events;

import java.util.Arrays;
import java.util.Objects;

/**
 * An encoded image inside an event: {@code {"contentType": "image/png", "data": "<base64>"}}.
 *
 * @param contentType {@code image/png} or {@code image/jpeg}
 * @param data the encoded image bytes (base64 in JSON)
 */
public record Image(String contentType, byte[] data) {
  public static final String PNG = "image/png";
  public static final String JPEG = "image/jpeg";

  public Image {
    Objects.requireNonNull(contentType, "contentType");
    Objects.requireNonNull(data, "data");
    data = data.clone();
  }

  /**
   * Checks that an event carries exactly one of an image and an embedding.
   *
   * @throws IllegalArgumentException saying which it found instead
   */
  static void requireExactlyOne(Image image, float[] embedding) {
    if ((image == null) == (embedding == null)) {
      throw new IllegalArgumentException(
          "expected exactly one of image and embedding, found "
              + (image == null ? "neither" : "both"));
    }
  }

  @Override
  public byte[] data() {
    return data.clone();
  }

  /** The bytes without a copy, for the embedder; callers must not modify them. */
  public byte[] dataUnsafe() {
    return data;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Image other
        && contentType.equals(other.contentType)
        && Arrays.equals(data, other.data);
  }

  @Override
  public int hashCode() {
    return 31 * contentType.hashCode() + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "Image[" + contentType + ", " + data.length + " bytes]";
  }
}
