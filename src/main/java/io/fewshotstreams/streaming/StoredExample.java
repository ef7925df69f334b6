package io.fewshotstreams.streaming;

import java.util.Objects;

/** A support example in the learner's example store: its class and unit feature vector. */
record StoredExample(String label, float[] feature) {
  StoredExample {
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(feature, "feature");
  }
}
