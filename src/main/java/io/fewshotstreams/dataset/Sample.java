package io.fewshotstreams.dataset;

import java.util.Objects;

/**
 * One labelled item of a dataset.
 *
 * @param path stable identifier of the item (a file path relative to the dataset root, or {@code
 *     file#index} for IDX images); written to embedding files and episode files
 * @param label class name
 */
public record Sample(String path, String label) {
  public Sample {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(label, "label");
    if (path.isBlank()) {
      throw new IllegalArgumentException("sample path must not be blank");
    }
    if (label.isBlank()) {
      throw new IllegalArgumentException("sample label must not be blank (path " + path + ")");
    }
  }
}
