package io.fewshotstreams.dataset;

import java.util.Arrays;
import java.util.Objects;

/**
 * One bundled sample image.
 *
 * @param label the class name, as in {@link FashionMnist#CLASS_NAMES}
 * @param name the image's path inside the samples folder, {@code <label>/<testIndex>.png}; unique
 * @param testIndex index of the image in the Fashion-MNIST test split
 * @param png the encoded PNG file
 */
public record SampleImage(String label, String name, int testIndex, byte[] png) {
  public SampleImage {
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(png, "png");
    if (label.isEmpty() || name.isEmpty()) {
      throw new IllegalArgumentException(
          "expected a non-empty label and name, found label '" + label + "', name '" + name + "'");
    }
    if (testIndex < 0) {
      throw new IllegalArgumentException("expected testIndex >= 0, found " + testIndex);
    }
    png = png.clone();
  }

  @Override
  public byte[] png() {
    return png.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SampleImage other
        && label.equals(other.label)
        && name.equals(other.name)
        && testIndex == other.testIndex
        && Arrays.equals(png, other.png);
  }

  @Override
  public int hashCode() {
    return Objects.hash(label, name, testIndex);
  }

  @Override
  public String toString() {
    return "SampleImage[" + name + ", label=" + label + ", testIndex=" + testIndex + ", "
        + png.length + " bytes]";
  }
}
