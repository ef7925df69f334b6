package io.fewshotstreams.fewshot;

import java.util.Arrays;
import java.util.List;

/**
 * The few-shot methods of {@link Methods}, by the name settings and reports use ({@link #id()}):
 * one list, so a misspelt name is refused where it is read rather than falling through a string
 * comparison.
 */
public enum MethodName {
  PROTOTYPES(Methods.PROTOTYPES),
  INDUCTIVE(Methods.INDUCTIVE),
  TRANSDUCTIVE(Methods.TRANSDUCTIVE),
  AUTO(Methods.AUTO),
  ROBUST(Methods.ROBUST);

  private final String id;

  MethodName(String id) {
    this.id = id;
  }

  /** The name as written in settings, snapshots and reports, e.g. {@code robust}. */
  public String id() {
    return id;
  }

  /** Whether the method learns from the unlabelled pool (for {@code auto}: it may). */
  public boolean usesPool() {
    return this == TRANSDUCTIVE || this == AUTO || this == ROBUST;
  }

  /**
   * The method named {@code id}.
   *
   * @throws InvalidInputException naming the valid names if {@code id} is not one of them
   */
  public static MethodName of(String id) {
    for (MethodName m : values()) {
      if (m.id.equals(id)) {
        return m;
      }
    }
    throw new InvalidInputException(
        "expected a few-shot method among " + ids() + ", found '" + id + "'");
  }

  /** Every name, in declaration order. */
  public static List<String> ids() {
    return Arrays.stream(values()).map(MethodName::id).toList();
  }

  @Override
  public String toString() {
    return id;
  }
}
