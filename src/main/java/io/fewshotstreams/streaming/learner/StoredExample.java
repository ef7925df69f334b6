package io.fewshotstreams.streaming.learner;

import java.util.Objects;

/** A support example in the learner's example store: its class and unit feature vector. */
public record StoredExample(String label, float[] feature) {
  public StoredExample {
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(feature, "feature");
  }
}
