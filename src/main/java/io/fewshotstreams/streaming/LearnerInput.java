package io.fewshotstreams.streaming;

import java.util.Objects;

/**
 * What the learner receives, keyed by task, through the {@code learner-input} repartition topic:
 * support changes (already embedded and normalised) and sampled query embeddings for the pool.
 */
public sealed interface LearnerInput {

  String task();

  /** Where a support change came from; null for a pooled query, which is no user's record. */
  Origin origin();

  /** Adds or replaces an example; {@code feature} is a unit vector. */
  record Add(String task, String label, String exampleId, float[] feature, Origin origin)
      implements LearnerInput {
    public Add {
      Objects.requireNonNull(task, "task");
      Objects.requireNonNull(label, "label");
      Objects.requireNonNull(exampleId, "exampleId");
      Objects.requireNonNull(feature, "feature");
      Objects.requireNonNull(origin, "origin");
    }
  }

  record Remove(String task, String exampleId, Origin origin) implements LearnerInput {
    public Remove {
      Objects.requireNonNull(task, "task");
      Objects.requireNonNull(exampleId, "exampleId");
      Objects.requireNonNull(origin, "origin");
    }
  }

  record DeleteClass(String task, String label, Origin origin) implements LearnerInput {
    public DeleteClass {
      Objects.requireNonNull(task, "task");
      Objects.requireNonNull(label, "label");
      Objects.requireNonNull(origin, "origin");
    }
  }

  /** An unlabelled query embedding (a unit vector) for transductive fine-tuning. */
  record PoolQuery(String task, float[] feature) implements LearnerInput {
    public PoolQuery {
      Objects.requireNonNull(task, "task");
      Objects.requireNonNull(feature, "feature");
    }

    @Override
    public Origin origin() {
      return null;
    }
  }
}
