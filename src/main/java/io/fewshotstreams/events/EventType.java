package io.fewshotstreams.events;

/** The kinds of records on the service's topics, each with its JSON Schema in {@code schemas/}. */
public enum EventType {
  /** The support topic: {@link SupportEvent}. */
  SUPPORT("support"),
  /** The query topic: {@link QueryEvent}. */
  QUERY("query"),
  /** The predictions topic: {@link Prediction}. */
  PREDICTION("prediction"),
  /** The models topic: {@link ModelSnapshot}. */
  MODEL("model"),
  /** The dead-letter topic: {@link DeadLetter}. */
  DEAD_LETTER("dead-letter"),
  /** The feedback topic: {@link FeedbackEvent}. */
  FEEDBACK("feedback"),
  /** The outcomes topic: {@link Outcome}. */
  OUTCOME("outcome"),
  /** The review topic: {@link ReviewItem}. */
  REVIEW("review");

  private final String schemaName;

  EventType(String schemaName) {
    this.schemaName = schemaName;
  }

  /** The classpath resource of this type's schema, e.g. {@code /schemas/support.schema.json}. */
  public String schemaResource() {
    return "/schemas/" + schemaName + ".schema.json";
  }
}
