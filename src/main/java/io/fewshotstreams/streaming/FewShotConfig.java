package io.fewshotstreams.streaming;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.EventType;
import io.fewshotstreams.events.OutputFraming;
import io.fewshotstreams.fewshot.Methods;
import io.fewshotstreams.fewshot.RobustConfig;
import io.fewshotstreams.streaming.feedback.TaskSettings;
import io.fewshotstreams.streaming.learner.SnapshotSize;
import io.fewshotstreams.streaming.query.FetchedOffsets;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigDef.ValidString;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.streams.StreamsConfig;

/**
 * Every setting of the service, declared once with its type, default, validator and doc. Keys that
 * start with {@value #PREFIX} belong to the service; every other key is passed through to Kafka
 * Streams and its clients (bootstrap servers, security, {@code processing.guarantee}, ...). An
 * unknown {@value #PREFIX} key fails at start-up, so a typo does not silently fall back to a default.
 * The configuration table of docs/configuration.md is {@link #markdownTable()}.
 */
public final class FewShotConfig extends AbstractConfig {
  public static final String PREFIX = "fewshot.";

  public static final String SUPPORT_TOPIC_CONFIG = "fewshot.topic.support";
  public static final String QUERIES_TOPIC_CONFIG = "fewshot.topic.queries";
  public static final String PREDICTIONS_TOPIC_CONFIG = "fewshot.topic.predictions";
  public static final String MODELS_TOPIC_CONFIG = "fewshot.topic.models";
  public static final String DEAD_LETTERS_TOPIC_CONFIG = "fewshot.topic.dead.letters";
  public static final String FINETUNE_INTERVAL_MS_CONFIG = "fewshot.finetune.interval.ms";
  public static final String FINETUNE_METHOD_CONFIG = "fewshot.finetune.method";
  public static final String FINETUNE_THREADS_CONFIG = "fewshot.finetune.threads";
  public static final String FINETUNE_KEEP_ON_ADD_CONFIG = "fewshot.finetune.keep.on.add";
  public static final String OPENSET_ACCEPT_SHARE_CONFIG = "fewshot.openset.accept.share";
  public static final String TEMPERATURE_PRIOR_CONFIG = "fewshot.calibration.temperature.prior";
  public static final String TEMPERATURE_PRIOR_WEIGHT_CONFIG =
      "fewshot.calibration.temperature.prior.weight";
  public static final String ONE_SHOT_TEMPERATURE_CONFIG =
      "fewshot.calibration.one.shot.temperature";
  public static final String ONE_SHOT_JOINT_TEMPERATURE_CONFIG =
      "fewshot.calibration.one.shot.joint.temperature";
  public static final String MAX_EXAMPLES_PER_CLASS_CONFIG = "fewshot.max.examples.per.class";
  public static final String MAX_CLASSES_PER_TASK_CONFIG = "fewshot.max.classes.per.task";
  public static final String MAX_TASKS_CONFIG = "fewshot.max.tasks";
  public static final String IMAGE_MAX_BYTES_CONFIG = "fewshot.image.max.bytes";
  public static final String IMAGE_MAX_PIXELS_CONFIG = "fewshot.image.max.pixels";
  public static final String QUERY_BATCH_SIZE_CONFIG = "fewshot.query.batch.size";
  public static final String QUERY_BATCH_LINGER_MS_CONFIG = "fewshot.query.batch.linger.ms";
  public static final String QUERY_POOL_SIZE_CONFIG = "fewshot.query.pool.size";
  public static final String QUERY_POOL_SAMPLE_RATE_CONFIG = "fewshot.query.pool.sample.rate";
  public static final String QUERY_POOL_PER_INTERVAL_CONFIG = "fewshot.query.pool.per.interval";
  public static final String MAX_RECORD_BYTES_CONFIG = "fewshot.max.record.bytes";
  public static final String DEAD_LETTER_MAX_VALUE_BYTES_CONFIG =
      "fewshot.dead.letter.max.value.bytes";
  public static final String HTTP_PORT_CONFIG = "fewshot.http.port";
  public static final String HTTP_BIND_ADDRESS_CONFIG = "fewshot.http.bind.address";
  public static final String HTTP_ADVERTISED_HOST_CONFIG = "fewshot.http.advertised.host";
  public static final String HTTP_CLASSIFY_ENABLED_CONFIG = "fewshot.http.classify.enabled";
  public static final String HTTP_MAX_REQUEST_BYTES_CONFIG = "fewshot.http.max.request.bytes";
  public static final String RECENT_PREDICTIONS_CONFIG = "fewshot.recent.predictions";
  public static final String TOPIC_PARTITIONS_CONFIG = "fewshot.topic.partitions";
  public static final String TOPIC_REPLICATION_FACTOR_CONFIG = "fewshot.topic.replication.factor";
  public static final String FINETUNE_MAX_EXAMPLES_PER_CLASS_CONFIG =
      "fewshot.finetune.max.examples.per.class";
  public static final String FINETUNE_MAX_BYTES_CONFIG = "fewshot.finetune.max.bytes";
  public static final String MODELS_MAX_MESSAGE_BYTES_CONFIG =
      "fewshot.topic.models.max.message.bytes";

  // Service-level reliability and access (issue "Reliability, round 2" and "Fit the Kafka shop").
  public static final String HTTP_AUTH_MODE_CONFIG = "fewshot.http.auth.mode";
  public static final String HTTP_AUTH_TOKEN_CONFIG = "fewshot.http.auth.token";
  public static final String DASHBOARD_THUMBNAILS_CONFIG = "fewshot.dashboard.thumbnails";
  public static final String THREAD_REPLACEMENTS_MAX_CONFIG =
      "fewshot.stream.thread.replacements.max";
  public static final String THREAD_REPLACEMENTS_WINDOW_MS_CONFIG =
      "fewshot.stream.thread.replacements.window.ms";
  public static final String STARTUP_TIMEOUT_MS_CONFIG = "fewshot.startup.timeout.ms";
  public static final String ROCKSDB_MEMORY_BYTES_CONFIG = "fewshot.rocksdb.memory.bytes";
  public static final String DEAD_LETTER_FORMAT_CONFIG = "fewshot.dead.letter.format";

  // Schema Registry wire format of the outputs: a schema id frames that topic's JSON.
  public static final String SCHEMA_ID_PREDICTIONS_CONFIG = "fewshot.output.schema.id.predictions";
  public static final String SCHEMA_ID_MODELS_CONFIG = "fewshot.output.schema.id.models";
  public static final String SCHEMA_ID_DEAD_LETTERS_CONFIG = "fewshot.output.schema.id.dead.letters";

  // Feedback, outcomes, live accuracy and review (docs/feedback.md).
  public static final String FEEDBACK_ENABLED_CONFIG = "fewshot.feedback.enabled";
  public static final String FEEDBACK_TOPIC_CONFIG = "fewshot.topic.feedback";
  public static final String OUTCOMES_TOPIC_CONFIG = "fewshot.topic.outcomes";
  public static final String REVIEW_TOPIC_CONFIG = "fewshot.topic.review";
  public static final String FEEDBACK_RETENTION_MS_CONFIG = "fewshot.feedback.retention.ms";
  public static final String FEEDBACK_MAX_RETAINED_CONFIG =
      "fewshot.feedback.max.retained.per.task";
  public static final String FEEDBACK_WINDOW_CONFIG = "fewshot.feedback.window.outcomes";
  public static final String FEEDBACK_PROMOTE_POLICY_CONFIG = "fewshot.feedback.promote.policy";
  public static final String REVIEW_THRESHOLD_CONFIG = "fewshot.review.confidence.threshold";
  public static final String FEEDBACK_METRICS_MAX_TASKS_CONFIG =
      "fewshot.feedback.metrics.max.tasks";

  /** Application id used when none is given. */
  public static final String DEFAULT_APPLICATION_ID = "fewshot-streams";

  private static final ConfigDef CONFIG =
      new ConfigDef()
          .define(
              SUPPORT_TOPIC_CONFIG,
              Type.STRING,
              "fewshot-support",
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Topic of support events: add an example, remove an example, delete a class.")
          .define(
              QUERIES_TOPIC_CONFIG,
              Type.STRING,
              "fewshot-queries",
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Topic of query events: images to classify.")
          .define(
              PREDICTIONS_TOPIC_CONFIG,
              Type.STRING,
              "fewshot-predictions",
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Topic the predictions go to, keyed by task.")
          .define(
              MODELS_TOPIC_CONFIG,
              Type.STRING,
              "fewshot-models",
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Compacted topic of model snapshots, one per task (the key). Written only by the"
                  + " service; every instance reads all of it into a global store.")
          .define(
              DEAD_LETTERS_TOPIC_CONFIG,
              Type.STRING,
              "fewshot-dead-letters",
              new ConfigDef.NonEmptyString(),
              Importance.HIGH,
              "Topic of records that could not be processed, with the reason and their origin.")
          .define(
              FINETUNE_INTERVAL_MS_CONFIG,
              Type.LONG,
              10_000L,
              Range.atLeast(100),
              Importance.MEDIUM,
              "Wall-clock interval at which tasks whose data changed are fine-tuned in the"
                  + " background.")
          .define(
              FINETUNE_METHOD_CONFIG,
              Type.STRING,
              Methods.ROBUST,
              ValidString.in(Methods.names().toArray(String[]::new)),
              Importance.MEDIUM,
              "Fine-tuning method: robust (transductive, safe on imbalanced pools and pools"
                  + " holding images of unregistered classes, calibrated), auto (transductive"
                  + " when the task has enough pooled queries, else inductive, else none at one"
                  + " shot), transductive, inductive, or prototypes (no fine-tuning). Whatever"
                  + " the method, the prototype snapshot answers at a calibrated temperature;"
                  + " auto, transductive and inductive fine-tunes answer at 15.")
          .define(
              FINETUNE_KEEP_ON_ADD_CONFIG,
              Type.BOOLEAN,
              true,
              Importance.LOW,
              "Whether a fine-tuned snapshot keeps answering when a new example of one of its"
                  + " classes arrives (promoted feedback, say); the next fine-tune to start, within"
                  + " one or two intervals, takes the example in (a fine-tune that fails publishes"
                  + " prototypes instead). A new class, a removed or relabelled example and a deleted class"
                  + " publish prototypes at once either way. False publishes prototypes at every"
                  + " support change.")
          .define(
              OPENSET_ACCEPT_SHARE_CONFIG,
              Type.DOUBLE,
              0.95,
              Range.between(0.5, 1.0),
              Importance.MEDIUM,
              "Share of images of a task's registered classes that its open-set threshold"
                  + " accepts; the threshold comes from the task's support examples alone, and"
                  + " a query scoring below it is answered as unknown (accepted=false).")
          .define(
              TEMPERATURE_PRIOR_CONFIG,
              Type.DOUBLE,
              (double) RobustConfig.defaults().temperaturePrior(),
              Range.between(0.5, 200.0),
              Importance.LOW,
              "Temperature that the prototype snapshot's and robust's leave-one-out temperature"
                  + " is shrunk towards (a task's own, from its support examples, is noisy)."
                  + " Chosen on the bundled backbone; another backbone's cosines may want"
                  + " another: measure with evaluate --model on labelled images of your own"
                  + " (docs/backbones.md).")
          .define(
              TEMPERATURE_PRIOR_WEIGHT_CONFIG,
              Type.DOUBLE,
              (double) RobustConfig.defaults().temperaturePriorWeight(),
              Range.between(0.0, 1e6),
              Importance.LOW,
              "Weight of fewshot.calibration.temperature.prior, in support examples; 0 keeps"
                  + " each task's leave-one-out temperature as it is.")
          .define(
              ONE_SHOT_TEMPERATURE_CONFIG,
              Type.DOUBLE,
              (double) RobustConfig.defaults().oneShotPrototypeScale(),
              Range.between(0.5, 200.0),
              Importance.LOW,
              "Temperature of the prototype snapshot and of robust's answers while no class of"
                  + " the task has two examples (there is nothing to fit one on), except those of"
                  + " its joint fit. Chosen on the bundled backbone, like"
                  + " fewshot.calibration.temperature.prior.")
          .define(
              ONE_SHOT_JOINT_TEMPERATURE_CONFIG,
              Type.DOUBLE,
              (double) RobustConfig.defaults().oneShotJointScale(),
              Range.between(0.5, 200.0),
              Importance.LOW,
              "Temperature of robust's answers while no class of the task has two examples and"
                  + " its pool failed a test of the gate (the joint fit, which is sharper than"
                  + " the prototypes). Chosen on the bundled backbone, like"
                  + " fewshot.calibration.temperature.prior.")
          .define(
              FINETUNE_THREADS_CONFIG,
              Type.INT,
              1,
              Range.between(1, 256),
              Importance.LOW,
              "Threads that fine-tune, shared by all stream threads of the instance.")
          .define(
              MAX_EXAMPLES_PER_CLASS_CONFIG,
              Type.INT,
              500,
              Range.between(1, 100_000),
              Importance.MEDIUM,
              "Most support examples a class keeps; an add beyond it goes to the dead-letter"
                  + " topic (CLASS_FULL).")
          .define(
              MAX_CLASSES_PER_TASK_CONFIG,
              Type.INT,
              1000,
              Range.between(1, 1_000_000),
              Importance.MEDIUM,
              "Most classes a task may have; an example of one more class goes to the dead-letter"
                  + " topic (TASK_FULL).")
          .define(
              MAX_TASKS_CONFIG,
              Type.INT,
              100_000,
              Range.between(1, 100_000_000),
              Importance.MEDIUM,
              "Most tasks one instance holds (over the partitions it owns); the first example of"
                  + " one more task goes to the dead-letter topic (TOO_MANY_TASKS).")
          .define(
              IMAGE_MAX_BYTES_CONFIG,
              Type.LONG,
              10L * 1024 * 1024,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Largest encoded image accepted (INVALID_IMAGE beyond it).")
          .define(
              IMAGE_MAX_PIXELS_CONFIG,
              Type.LONG,
              4096L * 4096,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Most pixels an image may declare, checked before it is decoded (INVALID_IMAGE beyond"
                  + " it), so a small file cannot make the service allocate a huge bitmap.")
          .define(
              QUERY_BATCH_SIZE_CONFIG,
              Type.INT,
              32,
              Range.between(1, 1024),
              Importance.LOW,
              "Most query images embedded in one call of the backbone.")
          .define(
              QUERY_BATCH_LINGER_MS_CONFIG,
              Type.LONG,
              5L,
              Range.between(0, 10_000),
              Importance.LOW,
              "Longest a query waits for others to fill its batch.")
          .define(
              QUERY_POOL_SIZE_CONFIG,
              Type.INT,
              100,
              Range.between(0, 10_000),
              Importance.MEDIUM,
              "Recent query embeddings kept per task for transductive fine-tuning; 0 turns the"
                  + " pool off.")
          .define(
              QUERY_POOL_SAMPLE_RATE_CONFIG,
              Type.DOUBLE,
              1.0,
              Range.between(0.0, 1.0),
              Importance.LOW,
              "Fraction of classified queries whose embedding is sent to the task's pool.")
          .define(
              QUERY_POOL_PER_INTERVAL_CONFIG,
              Type.INT,
              0,
              Range.atLeast(0),
              Importance.LOW,
              "Most queries per task sent to its pool per fine-tune interval; 0 means the pool"
                  + " size, since the pool is read once an interval and keeps that many: more would"
                  + " be overwritten unread, each at the cost of a repartition record and two"
                  + " changelog writes.")
          .define(
              MAX_RECORD_BYTES_CONFIG,
              Type.INT,
              EventCodec.DEFAULT_MAX_RECORD_BYTES,
              Range.atLeast(1024),
              Importance.LOW,
              "Largest support or query record accepted; larger ones go to the dead-letter topic"
                  + " (RECORD_TOO_LARGE).")
          .define(
              DEAD_LETTER_MAX_VALUE_BYTES_CONFIG,
              Type.INT,
              256 * 1024,
              Range.atLeast(0),
              Importance.LOW,
              "Largest original value copied into a dead-letter record; a larger one is left"
                  + " out and found through the record's topic, partition and offset.")
          .define(
              HTTP_PORT_CONFIG,
              Type.INT,
              8080,
              Range.between(-1, 65535),
              Importance.MEDIUM,
              "Port of the HTTP API, metrics and dashboard; 0 picks a free port, -1 turns HTTP off.")
          .define(
              HTTP_BIND_ADDRESS_CONFIG,
              Type.STRING,
              "127.0.0.1",
              new ConfigDef.NonEmptyString(),
              Importance.MEDIUM,
              "Address the HTTP server binds to; 0.0.0.0 for every interface (as in a container).")
          .define(
              HTTP_ADVERTISED_HOST_CONFIG,
              Type.STRING,
              "",
              Importance.MEDIUM,
              "Host name other instances use to reach this one's HTTP API (set as Kafka Streams'"
                  + " application.server); empty means the bind address, or localhost when that is"
                  + " 0.0.0.0.")
          .define(
              HTTP_CLASSIFY_ENABLED_CONFIG,
              Type.BOOLEAN,
              false,
              Importance.LOW,
              "Whether the HTTP API accepts images to classify synchronously; off, the API is"
                  + " read-only.")
          .define(
              HTTP_MAX_REQUEST_BYTES_CONFIG,
              Type.INT,
              11 * 1024 * 1024,
              Range.atLeast(1024),
              Importance.LOW,
              "Largest HTTP request body accepted; larger ones get 413.")
          .define(
              RECENT_PREDICTIONS_CONFIG,
              Type.INT,
              50,
              Range.between(0, 10_000),
              Importance.LOW,
              "Recent predictions (with their images) each instance keeps for the dashboard.")
          .define(
              TOPIC_PARTITIONS_CONFIG,
              Type.INT,
              3,
              Range.between(1, 10_000),
              Importance.MEDIUM,
              "Partitions of the topics the service creates when they are missing; more"
                  + " partitions let more instances share the work.")
          .define(
              TOPIC_REPLICATION_FACTOR_CONFIG,
              Type.SHORT,
              (short) -1,
              Range.between(-1, 32),
              Importance.MEDIUM,
              "Replication factor of the topics the service creates; -1 takes the broker's"
                  + " default.")
          .define(
              HTTP_AUTH_MODE_CONFIG,
              Type.STRING,
              "auto",
              ValidString.in("auto", "token", "none"),
              Importance.HIGH,
              "Who may read /api/: auto wants the bearer token when one is set and refuses to start"
                  + " without one on a non-loopback bind address; token always wants it; none"
                  + " serves every reader of the port. /health, /ready, /metrics and the"
                  + " dashboard's static files are always open.")
          .define(
              HTTP_AUTH_TOKEN_CONFIG,
              Type.PASSWORD,
              "",
              Importance.HIGH,
              "Bearer token of the HTTP API (Authorization: Bearer <token>); also sent by one"
                  + " instance to another when it forwards. Best set from a secret through the"
                  + " FEWSHOT_HTTP_AUTH_TOKEN variable.")
          .define(
              DASHBOARD_THUMBNAILS_CONFIG,
              Type.BOOLEAN,
              true,
              Importance.MEDIUM,
              "Whether the dashboard's recent predictions show the users' query images; false"
                  + " leaves the thumbnails out of /api/dashboard.")
          .define(
              THREAD_REPLACEMENTS_MAX_CONFIG,
              Type.INT,
              3,
              Range.between(0, 1000),
              Importance.MEDIUM,
              "Most stream threads replaced after a failure within the window; the next failure"
                  + " shuts the Kafka Streams client down instead, so /health answers 503 and the"
                  + " orchestrator restarts the instance rather than letting it loop on a poison.")
          .define(
              THREAD_REPLACEMENTS_WINDOW_MS_CONFIG,
              Type.LONG,
              600_000L,
              Range.atLeast(1),
              Importance.LOW,
              "Window over which stream thread replacements are counted.")
          .define(
              STARTUP_TIMEOUT_MS_CONFIG,
              Type.LONG,
              300_000L,
              Range.atLeast(1),
              Importance.MEDIUM,
              "Longest run waits for Kafka Streams to reach RUNNING (restoring state included)"
                  + " before it exits with status 2; keep it within the startup probe's"
                  + " periodSeconds x failureThreshold (300 s in deploy/k8s).")
          .define(
              ROCKSDB_MEMORY_BYTES_CONFIG,
              Type.LONG,
              128L * 1024 * 1024,
              Range.atLeast(0),
              Importance.MEDIUM,
              "Off-heap memory all RocksDB stores of the process share: one block cache of this"
                  + " size that also holds their memtables (a quarter of it) and index and filter"
                  + " blocks. 0 leaves RocksDB unbounded (Kafka Streams' defaults).")
          .define(
              DEAD_LETTER_FORMAT_CONFIG,
              Type.STRING,
              "json",
              ValidString.in("json", "raw"),
              Importance.LOW,
              "How dead letters are written: json (the DeadLetter envelope of"
                  + " schemas/dead-letter.schema.json) or raw (the original key, value and headers,"
                  + " with the reason and origin in fewshot.dlt.* headers, for replay with standard"
                  + " tools).")
          .define(
              SCHEMA_ID_PREDICTIONS_CONFIG,
              Type.INT,
              -1,
              Range.atLeast(-1),
              Importance.LOW,
              "Schema Registry id of the predictions' schema: when >= 0, predictions are written"
                  + " in the registry's wire format (0x00, the 4-byte id, the JSON); -1 writes"
                  + " plain JSON.")
          .define(
              SCHEMA_ID_MODELS_CONFIG,
              Type.INT,
              -1,
              Range.atLeast(-1),
              Importance.LOW,
              "Schema Registry id of the model snapshots' schema, as for predictions; the service"
                  + " reads its own framed snapshots back.")
          .define(
              SCHEMA_ID_DEAD_LETTERS_CONFIG,
              Type.INT,
              -1,
              Range.atLeast(-1),
              Importance.LOW,
              "Schema Registry id of the dead letters' schema, as for predictions; applies to the"
                  + " json dead-letter format only (raw dead letters are the original bytes).")
          // Bounds of fine-tuning and of model snapshots (RELIABILITY.md, "Limits of the learner").
          .define(
              FINETUNE_MAX_EXAMPLES_PER_CLASS_CONFIG,
              Type.INT,
              100,
              Range.between(1, 100_000),
              Importance.LOW,
              "Most support examples of a class one fine-tune uses; a larger class is subsampled"
                  + " (the same way each time), and the task's pooled queries are capped at this"
                  + " many per class.")
          .define(
              FINETUNE_MAX_BYTES_CONFIG,
              Type.LONG,
              256L * 1024 * 1024,
              Range.atLeast(1024 * 1024),
              Importance.LOW,
              "Estimated working memory one fine-tune may take; a bigger task is fine-tuned on"
                  + " fewer examples per class, and one too big even at one example per class is"
                  + " not fine-tuned (logged, counted as failed; its prototypes stay).")
          .define(
              MODELS_MAX_MESSAGE_BYTES_CONFIG,
              Type.INT,
              0,
              Range.between(0, Integer.MAX_VALUE),
              Importance.LOW,
              "Record limit (max.message.bytes) of the models topic the service creates, and"
                  + " the least max.request.size of its producer; 0 sizes it from"
                  + " fewshot.max.classes.per.task and the backbone's feature size (about 5 MB at"
                  + " 1,000 classes of 256), at most 64 MiB. When the topic exists with a smaller"
                  + " limit, that one holds. A new class whose snapshot might not fit goes to the"
                  + " dead-letter topic (TASK_FULL).");

  static {
    CONFIG
        .define(
            FEEDBACK_ENABLED_CONFIG,
            Type.BOOLEAN,
            true,
            Importance.MEDIUM,
            "Whether predictions are kept for feedback, joined to the feedback topic, counted as"
                + " live accuracy and sent for review; off, the three topics are not used.")
        .define(
            FEEDBACK_TOPIC_CONFIG,
            Type.STRING,
            "fewshot-feedback",
            new ConfigDef.NonEmptyString(),
            Importance.MEDIUM,
            "Topic of feedback events, keyed by task: the true label of a query answered earlier.")
        .define(
            OUTCOMES_TOPIC_CONFIG,
            Type.STRING,
            "fewshot-outcomes",
            new ConfigDef.NonEmptyString(),
            Importance.MEDIUM,
            "Topic the outcomes go to, keyed by task: each prediction joined with its true label.")
        .define(
            REVIEW_TOPIC_CONFIG,
            Type.STRING,
            "fewshot-review",
            new ConfigDef.NonEmptyString(),
            Importance.MEDIUM,
            "Topic of predictions for a person to review, keyed by task: unknown answers and"
                + " those below the task's confidence threshold.")
        .define(
            FEEDBACK_RETENTION_MS_CONFIG,
            Type.LONG,
            86_400_000L,
            Range.atLeast(1_000),
            Importance.MEDIUM,
            "How long (wall clock) a prediction is kept for its feedback; later feedback goes to"
                + " the dead-letter topic (PREDICTION_EXPIRED, then UNKNOWN_QUERY after twice as"
                + " long).")
        .define(
            FEEDBACK_MAX_RETAINED_CONFIG,
            Type.INT,
            10_000,
            Range.between(1, 10_000_000),
            Importance.MEDIUM,
            "Most predictions kept per task for feedback; the oldest expires first.")
        .define(
            FEEDBACK_WINDOW_CONFIG,
            Type.INT,
            200,
            Range.between(1, 100_000),
            Importance.LOW,
            "Outcomes in the sliding window of each task's live accuracy.")
        .define(
            FEEDBACK_PROMOTE_POLICY_CONFIG,
            Type.LIST,
            "*=flagged",
            TaskSettings.validator(TaskSettings::promotePolicy),
            Importance.MEDIUM,
            "Which feedback becomes a support example, per task as task=policy (* for every"
                + " other task): flagged (only feedback with promote true) or wrong (also every"
                + " wrong or unknown answer).")
        .define(
            REVIEW_THRESHOLD_CONFIG,
            Type.LIST,
            "*=0.5",
            TaskSettings.validator(TaskSettings::probability),
            Importance.MEDIUM,
            "Confidence below which a prediction also goes to the review topic, per task as"
                + " task=threshold (* for every other task); unknown answers always go.")
        .define(
            FEEDBACK_METRICS_MAX_TASKS_CONFIG,
            Type.INT,
            20,
            Range.between(0, 10_000),
            Importance.LOW,
            "Tasks that get their own task tag on the feedback metrics (the first seen by an"
                + " instance); every later task is tagged other.");
  }

  private final Map<String, Object> passThrough;

  /**
   * Reads the settings.
   *
   * @throws FewShotException naming the key and the problem when a value is invalid or a {@value
   *     #PREFIX} key is unknown
   */
  public FewShotConfig(Map<String, ?> settings) {
    super(CONFIG, check(settings), false);
    Map<String, Object> rest = new HashMap<>();
    settings.forEach(
        (k, v) -> {
          if (!k.startsWith(PREFIX)) {
            rest.put(k, v);
          }
        });
    rest.putIfAbsent(StreamsConfig.APPLICATION_ID_CONFIG, DEFAULT_APPLICATION_ID);
    // The behaviour Kafka Streams 5 will default to; also silences its start-up warning.
    rest.putIfAbsent("processing.exception.handler.global.enabled", "true");
    // The batch linger punctuator runs between polls; an idle poll must not outwait it.
    rest.putIfAbsent(
        StreamsConfig.POLL_MS_CONFIG,
        String.valueOf(Math.max(1, Math.min(100, parsedLinger(settings)))));
    installRocksDbBound(rest, settings);
    // Query batching waits only when later records are already fetched: the main consumer tells
    // which. A user's own interceptors win; batching then falls back to full batches and linger.
    if (!rest.containsKey(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG)
        && !rest.containsKey(StreamsConfig.consumerPrefix(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG))
        && !rest.containsKey(
            StreamsConfig.mainConsumerPrefix(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG))) {
      rest.put(
          StreamsConfig.mainConsumerPrefix(ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG),
          FetchedOffsets.class.getName());
    }
    passThrough = Map.copyOf(rest);
  }

  /**
   * Installs {@link BoundedRocksDbMemory} unless the user set a config setter or turned the bound
   * off; the setter reads its size from the Kafka Streams settings it is handed.
   */
  private static void installRocksDbBound(Map<String, Object> rest, Map<String, ?> settings) {
    long bytes = (Long) CONFIG.parse(settings).get(ROCKSDB_MEMORY_BYTES_CONFIG);
    if (bytes > 0 && !rest.containsKey(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG)) {
      rest.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDbMemory.class);
      rest.put(BoundedRocksDbMemory.BYTES_CONFIG, bytes);
    }
  }

  private static long parsedLinger(Map<String, ?> settings) {
    return (Long) CONFIG.parse(settings).get(QUERY_BATCH_LINGER_MS_CONFIG);
  }

  private static Map<String, ?> check(Map<String, ?> settings) {
    TreeSet<String> unknown = new TreeSet<>();
    for (String key : settings.keySet()) {
      if (key.startsWith(PREFIX) && !CONFIG.names().contains(key)) {
        unknown.add(key);
      }
    }
    if (!unknown.isEmpty()) {
      throw new FewShotException(
          "unknown setting(s) " + unknown + "; expected one of " + new TreeSet<>(CONFIG.names()));
    }
    try {
      CONFIG.parse(settings);
    } catch (ConfigException e) {
      throw new FewShotException("invalid setting: " + e.getMessage(), e);
    }
    return settings;
  }

  /** Prefix of environment variables that set {@value #PREFIX} keys: FEWSHOT_HTTP_PORT. */
  public static final String ENV_PREFIX = "FEWSHOT_";

  /** Prefix of environment variables that set Kafka keys: KAFKA_BOOTSTRAP_SERVERS. */
  public static final String KAFKA_ENV_PREFIX = "KAFKA_";

  /**
   * The settings that environment variables give: {@code FEWSHOT_HTTP_PORT} sets {@code
   * fewshot.http.port} and {@code KAFKA_BOOTSTRAP_SERVERS} sets {@code bootstrap.servers} (lower
   * case, underscores become dots). A {@code KAFKA_} variable counts only when it names a Kafka
   * Streams or client setting (or a {@code producer.}, {@code consumer.}, {@code admin.} ... one),
   * so that variables such as {@code KAFKA_HOME} or {@code KAFKA_OPTS} are not taken for settings.
   */
  public static Map<String, String> fromEnvironment(Map<String, String> environment) {
    Map<String, String> out = new java.util.TreeMap<>();
    environment.forEach(
        (name, value) -> {
          if (name.startsWith(ENV_PREFIX) && name.length() > ENV_PREFIX.length()) {
            out.put(PREFIX + keyOf(name.substring(ENV_PREFIX.length())), value);
          } else if (name.startsWith(KAFKA_ENV_PREFIX) && name.length() > KAFKA_ENV_PREFIX.length()) {
            String key = keyOf(name.substring(KAFKA_ENV_PREFIX.length()));
            if (isKafkaSetting(key)) {
              out.put(key, value);
            }
          }
        });
    return out;
  }

  private static boolean isKafkaSetting(String key) {
    if (KAFKA_NAMES.contains(key)) {
      return true;
    }
    for (String prefix : KAFKA_PREFIXES) {
      if (key.startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }

  private static final java.util.Set<String> KAFKA_NAMES = kafkaNames();

  private static final List<String> KAFKA_PREFIXES =
      List.of(
          StreamsConfig.PRODUCER_PREFIX,
          StreamsConfig.CONSUMER_PREFIX,
          StreamsConfig.MAIN_CONSUMER_PREFIX,
          StreamsConfig.RESTORE_CONSUMER_PREFIX,
          StreamsConfig.GLOBAL_CONSUMER_PREFIX,
          StreamsConfig.ADMIN_CLIENT_PREFIX,
          StreamsConfig.TOPIC_PREFIX);

  private static java.util.Set<String> kafkaNames() {
    java.util.Set<String> names = new java.util.HashSet<>(StreamsConfig.configDef().names());
    names.addAll(org.apache.kafka.clients.producer.ProducerConfig.configNames());
    names.addAll(org.apache.kafka.clients.consumer.ConsumerConfig.configNames());
    names.addAll(org.apache.kafka.clients.admin.AdminClientConfig.configNames());
    return java.util.Set.copyOf(names);
  }

  private static String keyOf(String variable) {
    return variable.toLowerCase(java.util.Locale.ROOT).replace('_', '.');
  }

  /** These settings with one more (or one replaced). */
  public FewShotConfig with(String key, Object value) {
    Map<String, Object> settings = new HashMap<>(originals());
    settings.put(key, value);
    return new FewShotConfig(settings);
  }

  /** Settings from properties (as read from a file or the command line). */
  public static FewShotConfig of(Properties properties) {
    Map<String, Object> map = new HashMap<>();
    properties.stringPropertyNames().forEach(k -> map.put(k, properties.getProperty(k)));
    return new FewShotConfig(map);
  }

  /** The settings for Kafka Streams: every non-{@value #PREFIX} key, with the application id. */
  public Properties streamsProperties() {
    Properties props = new Properties();
    props.putAll(passThrough);
    return props;
  }

  public String applicationId() {
    return String.valueOf(passThrough.get(StreamsConfig.APPLICATION_ID_CONFIG));
  }

  public String supportTopic() {
    return getString(SUPPORT_TOPIC_CONFIG);
  }

  public String queriesTopic() {
    return getString(QUERIES_TOPIC_CONFIG);
  }

  public String predictionsTopic() {
    return getString(PREDICTIONS_TOPIC_CONFIG);
  }

  public String modelsTopic() {
    return getString(MODELS_TOPIC_CONFIG);
  }

  public String deadLettersTopic() {
    return getString(DEAD_LETTERS_TOPIC_CONFIG);
  }

  /** The five topics the service reads and writes, in a fixed order. */
  public List<String> topics() {
    return List.of(
        supportTopic(), queriesTopic(), predictionsTopic(), modelsTopic(), deadLettersTopic());
  }

  public long fineTuneIntervalMs() {
    return getLong(FINETUNE_INTERVAL_MS_CONFIG);
  }

  public String fineTuneMethod() {
    return getString(FINETUNE_METHOD_CONFIG);
  }

  public boolean fineTuneKeepOnAdd() {
    return getBoolean(FINETUNE_KEEP_ON_ADD_CONFIG);
  }

  public double openSetAcceptShare() {
    return getDouble(OPENSET_ACCEPT_SHARE_CONFIG);
  }

  /**
   * The settings of {@code robust} and of the prototype snapshot's threshold and temperature: its
   * defaults with this configuration's accept share and calibration settings.
   */
  public RobustConfig robustConfig() {
    float oneShot = getDouble(ONE_SHOT_TEMPERATURE_CONFIG).floatValue();
    return RobustConfig.defaults()
        .with(
            Map.of(
                "acceptShare", (float) openSetAcceptShare(),
                "temperaturePrior", getDouble(TEMPERATURE_PRIOR_CONFIG).floatValue(),
                "temperaturePriorWeight", getDouble(TEMPERATURE_PRIOR_WEIGHT_CONFIG).floatValue(),
                "oneShotScale", oneShot,
                "oneShotPrototypeScale", oneShot,
                "oneShotJointScale", getDouble(ONE_SHOT_JOINT_TEMPERATURE_CONFIG).floatValue()));
  }

  public int fineTuneThreads() {
    return getInt(FINETUNE_THREADS_CONFIG);
  }

  public int maxExamplesPerClass() {
    return getInt(MAX_EXAMPLES_PER_CLASS_CONFIG);
  }

  public int maxClassesPerTask() {
    return getInt(MAX_CLASSES_PER_TASK_CONFIG);
  }

  public int maxTasks() {
    return getInt(MAX_TASKS_CONFIG);
  }

  public long imageMaxBytes() {
    return getLong(IMAGE_MAX_BYTES_CONFIG);
  }

  public long imageMaxPixels() {
    return getLong(IMAGE_MAX_PIXELS_CONFIG);
  }

  public int queryBatchSize() {
    return getInt(QUERY_BATCH_SIZE_CONFIG);
  }

  public long queryBatchLingerMs() {
    return getLong(QUERY_BATCH_LINGER_MS_CONFIG);
  }

  public int queryPoolSize() {
    return getInt(QUERY_POOL_SIZE_CONFIG);
  }

  public double queryPoolSampleRate() {
    return getDouble(QUERY_POOL_SAMPLE_RATE_CONFIG);
  }

  /** Most queries per task pooled per fine-tune interval: the setting, or the pool size at 0. */
  public int queryPoolPerInterval() {
    int set = getInt(QUERY_POOL_PER_INTERVAL_CONFIG);
    return set == 0 ? queryPoolSize() : set;
  }

  public int maxRecordBytes() {
    return getInt(MAX_RECORD_BYTES_CONFIG);
  }

  public int deadLetterMaxValueBytes() {
    return getInt(DEAD_LETTER_MAX_VALUE_BYTES_CONFIG);
  }

  public int httpPort() {
    return getInt(HTTP_PORT_CONFIG);
  }

  public String httpBindAddress() {
    return getString(HTTP_BIND_ADDRESS_CONFIG);
  }

  /** The host other instances reach this one's HTTP API at. */
  public String httpAdvertisedHost() {
    String host = getString(HTTP_ADVERTISED_HOST_CONFIG);
    if (!host.isEmpty()) {
      return host;
    }
    String bind = httpBindAddress();
    return bind.equals("0.0.0.0") || bind.equals("::") ? "localhost" : bind;
  }

  public boolean httpClassifyEnabled() {
    return getBoolean(HTTP_CLASSIFY_ENABLED_CONFIG);
  }

  public int httpMaxRequestBytes() {
    return getInt(HTTP_MAX_REQUEST_BYTES_CONFIG);
  }

  public int recentPredictions() {
    return getInt(RECENT_PREDICTIONS_CONFIG);
  }

  public int topicPartitions() {
    return getInt(TOPIC_PARTITIONS_CONFIG);
  }

  public short topicReplicationFactor() {
    return getShort(TOPIC_REPLICATION_FACTOR_CONFIG);
  }

  public boolean feedbackEnabled() {
    return getBoolean(FEEDBACK_ENABLED_CONFIG);
  }

  public String feedbackTopic() {
    return getString(FEEDBACK_TOPIC_CONFIG);
  }

  public String outcomesTopic() {
    return getString(OUTCOMES_TOPIC_CONFIG);
  }

  public String reviewTopic() {
    return getString(REVIEW_TOPIC_CONFIG);
  }

  /** The feedback room's topics (read and written), when feedback is on; else none. */
  public List<String> feedbackTopics() {
    return feedbackEnabled()
        ? List.of(feedbackTopic(), outcomesTopic(), reviewTopic())
        : List.of();
  }

  /** The feedback room's settings. */
  public TaskSettings feedbackSettings() {
    return new TaskSettings(
        getLong(FEEDBACK_RETENTION_MS_CONFIG),
        getInt(FEEDBACK_MAX_RETAINED_CONFIG),
        getInt(FEEDBACK_WINDOW_CONFIG),
        TaskSettings.perTask(getList(FEEDBACK_PROMOTE_POLICY_CONFIG), TaskSettings::promotePolicy),
        TaskSettings.perTask(getList(REVIEW_THRESHOLD_CONFIG), TaskSettings::probability),
        getInt(FEEDBACK_METRICS_MAX_TASKS_CONFIG));
  }

  public String httpAuthMode() {
    return getString(HTTP_AUTH_MODE_CONFIG);
  }

  /** The bearer token of the HTTP API; empty when none is set. */
  public String httpAuthToken() {
    return getPassword(HTTP_AUTH_TOKEN_CONFIG).value();
  }

  public boolean dashboardThumbnails() {
    return getBoolean(DASHBOARD_THUMBNAILS_CONFIG);
  }

  public int threadReplacementsMax() {
    return getInt(THREAD_REPLACEMENTS_MAX_CONFIG);
  }

  public long threadReplacementsWindowMs() {
    return getLong(THREAD_REPLACEMENTS_WINDOW_MS_CONFIG);
  }

  public java.time.Duration startupTimeout() {
    return java.time.Duration.ofMillis(getLong(STARTUP_TIMEOUT_MS_CONFIG));
  }

  public long rocksDbMemoryBytes() {
    return getLong(ROCKSDB_MEMORY_BYTES_CONFIG);
  }

  /** Whether dead letters are written raw (original record, reason in headers), not as JSON. */
  public boolean rawDeadLetters() {
    return getString(DEAD_LETTER_FORMAT_CONFIG).equals("raw");
  }

  /** Which outputs are framed in the Schema Registry wire format, and with which schema id. */
  public OutputFraming outputFraming() {
    Map<EventType, Integer> ids = new EnumMap<>(EventType.class);
    putIfSet(ids, EventType.PREDICTION, getInt(SCHEMA_ID_PREDICTIONS_CONFIG));
    putIfSet(ids, EventType.MODEL, getInt(SCHEMA_ID_MODELS_CONFIG));
    putIfSet(ids, EventType.DEAD_LETTER, getInt(SCHEMA_ID_DEAD_LETTERS_CONFIG));
    return new OutputFraming(ids);
  }

  private static void putIfSet(Map<EventType, Integer> ids, EventType type, int id) {
    if (id >= 0) {
      ids.put(type, id);
    }
  }

  /** The settings as a Markdown table (key, default, description), for docs/configuration.md. */
  public int fineTuneMaxExamplesPerClass() {
    return getInt(FINETUNE_MAX_EXAMPLES_PER_CLASS_CONFIG);
  }

  public long fineTuneMaxBytes() {
    return getLong(FINETUNE_MAX_BYTES_CONFIG);
  }

  /**
   * The record limit of the models topic for a backbone of {@code featureSize}: the setting, or
   * when 0 the size of the largest snapshot the class limit allows.
   */
  public int modelsMaxMessageBytes(int featureSize) {
    int set = getInt(MODELS_MAX_MESSAGE_BYTES_CONFIG);
    return set > 0 ? set : SnapshotSize.recordBytesAtLimits(maxClassesPerTask(), featureSize);
  }

  /**
   * The largest snapshot value the learner may publish: within the models topic's limit, the
   * producer's {@code max.request.size} when one is set, and the record limit of the readers.
   */
  public long maxSnapshotBytes(int featureSize) {
    long limit = Math.min(modelsMaxMessageBytes(featureSize), maxRecordBytes());
    for (String key :
        List.of(
            StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG),
            ProducerConfig.MAX_REQUEST_SIZE_CONFIG)) {
      Object set = passThrough.get(key);
      if (set != null) {
        limit = Math.min(limit, Long.parseLong(set.toString().trim()));
        break;
      }
    }
    return Math.max(0, limit - SnapshotSize.RECORD_OVERHEAD);
  }

  /** The settings as a Markdown table (key, default, description), for the README. */
  public static String markdownTable() {
    StringBuilder out = new StringBuilder();
    out.append("| key | default | description |\n");
    out.append("| --- | --- | --- |\n");
    for (ConfigDef.ConfigKey key : CONFIG.configKeys().values()) {
      out.append("| `")
          .append(key.name)
          .append("` | `")
          .append(ConfigDef.convertToString(key.defaultValue, key.type))
          .append("` | ")
          .append(key.documentation)
          .append(" |\n");
    }
    return out.toString();
  }
}
