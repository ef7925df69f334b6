package io.fewshotstreams.events;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.Arrays;
import java.util.Objects;

/**
 * An event on the support topic: adds an example to a class, removes an example, or deletes a
 * class. The JSON property {@code type} says which ({@code add-example}, {@code remove-example},
 * {@code delete-class}).
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "type")
@JsonSubTypes({
  @JsonSubTypes.Type(value = SupportEvent.AddExample.class, name = "add-example"),
  @JsonSubTypes.Type(value = SupportEvent.RemoveExample.class, name = "remove-example"),
  @JsonSubTypes.Type(value = SupportEvent.DeleteClass.class, name = "delete-class")
})
public sealed interface SupportEvent {

  int schemaVersion();

  /** The task (independent classifier) this event belongs to. */
  String task();

  /**
   * Adds one labelled example to a task. Exactly one of {@code image} and {@code embedding} is set.
   * Re-adding an existing {@code exampleId} replaces that example, so a replayed event does no harm.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record AddExample(
      int schemaVersion, String task, String label, String exampleId, Image image, float[] embedding)
      implements SupportEvent {
    public AddExample {
      Objects.requireNonNull(task, "task");
      Objects.requireNonNull(label, "label");
      Objects.requireNonNull(exampleId, "exampleId");
      Image.requireExactlyOne(image, embedding);
      embedding = embedding == null ? null : embedding.clone();
    }

    @Override
    public float[] embedding() {
      return embedding == null ? null : embedding.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof AddExample other
          && schemaVersion == other.schemaVersion
          && task.equals(other.task)
          && label.equals(other.label)
          && exampleId.equals(other.exampleId)
          && Objects.equals(image, other.image)
          && Arrays.equals(embedding, other.embedding);
    }

    @Override
    public int hashCode() {
      return Objects.hash(task, label, exampleId);
    }

    @Override
    public String toString() {
      return "AddExample[task="
          + task
          + ", label="
          + label
          + ", exampleId="
          + exampleId
          + ", "
          + (image != null ? image : "embedding of " + embedding.length)
          + "]";
    }
  }

  /** Removes one example, by id, from whichever class of the task holds it. */
  record RemoveExample(int schemaVersion, String task, String exampleId) implements SupportEvent {
    public RemoveExample {
      Objects.requireNonNull(task, "task");
      Objects.requireNonNull(exampleId, "exampleId");
    }
  }

  /** Deletes a class and all its examples from the task. */
  record DeleteClass(int schemaVersion, String task, String label) implements SupportEvent {
    public DeleteClass {
      Objects.requireNonNull(task, "task");
      Objects.requireNonNull(label, "label");
    }
  }
}
