package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.EventType;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.fewshot.CalibratedPrototypes;
import io.fewshotstreams.fewshot.RobustConfig;
import io.fewshotstreams.fewshot.SupportSet;
import io.fewshotstreams.fewshot.Vectors;
import io.fewshotstreams.streaming.learner.FineTuneScheduler;
import io.fewshotstreams.streaming.learner.TaskState;
import io.fewshotstreams.streaming.feedback.FeedbackStores;
import io.fewshotstreams.streaming.telemetry.RestoreGuard;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.errors.TaskMigratedException;
import org.apache.kafka.streams.state.KeyValueStore;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The topology stage by stage on Kafka's TopologyTestDriver, with the bundled backbone. Most
 * events carry precomputed embeddings so that the geometry is known: class {@code c} lies along
 * basis vector {@code c}.
 */
class FewShotTopologyTest {
  private static final String TASK = "parts";
  private static final String OTHER_TASK = "bolts";
  private static final long INTERVAL_MS = TopologyHarness.INTERVAL_MS;
  private static Embedder embedder;

  private final EventCodec codec = new EventCodec();
  @TempDir Path stateDir;
  private TopologyHarness harness;
  private FineTuneScheduler scheduler;
  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> support;
  private TestInputTopic<String, byte[]> queries;
  private TestOutputTopic<String, byte[]> predictions;
  private TestOutputTopic<String, byte[]> models;
  private TestOutputTopic<String, byte[]> deadLetters;

  @BeforeAll
  static void openEmbedder() {
    embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
  }

  @AfterAll
  static void closeEmbedder() {
    embedder.close();
  }

  private void start(Map<String, Object> overrides) {
    harness =
        new TopologyHarness(
            TopologyHarness.settings("topology-test", stateDir, overrides),
            embedder,
            new Telemetry(new SimpleMeterRegistry(), 0),
            0);
    scheduler = harness.scheduler;
    driver = harness.driver;
    support = harness.support;
    queries = harness.queries;
    predictions = harness.predictions;
    models = harness.models;
    deadLetters = harness.deadLetters;
  }

  @AfterEach
  void stop() {
    if (harness != null) {
      harness.close();
    }
  }

  /**
   * A learner whose stores lost records (Kafka Streams resumed a restore beyond what it had
   * restored; RELIABILITY.md) must not rebuild a task from nothing over its published snapshot.
   * The task's state is deleted from the learner's store while the models topic holds its v2: under
   * exactly-once the next example is refused with {@link TaskMigratedException}, which has Kafka
   * Streams restore the thread's tasks from their changelogs and read the example again, and
   * nothing is published; a second one goes through, and so does one of another few-shot task of
   * the same stream task whose state was deleted too (once per stream task, so nothing loops).
   * Catches a learner that publishes v1 of one example over v2, and one that hands back each
   * few-shot task.
   */
  @Test
  void shouldHandBackATaskWhoseLearnerStateFellBehindItsPublishedSnapshot() {
    Map<String, Object> exactlyOnce =
        Map.of(
            StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2,
            FewShotConfig.FINETUNE_METHOD_CONFIG, "prototypes");
    start(exactlyOnce);
    add("A", "a1", axis(0, 0.1f, 1));
    add("B", "b1", axis(1, 0.1f, 2));
    assertThat(models.readValuesToList()).hasSize(2);
    addTo(OTHER_TASK, "A", "o1", axis(0, 0.1f, 3));
    addTo(OTHER_TASK, "B", "o2", axis(1, 0.1f, 4));
    assertThat(models.readValuesToList()).hasSize(2);
    KeyValueStore<String, TaskState> tasks = driver.getKeyValueStore(StoreNames.TASKS);
    assertThat(tasks.get(TASK).version()).isEqualTo(2);
    tasks.delete(TASK);
    tasks.delete(OTHER_TASK);

    assertHandsBack(() -> add("C", "c1", axis(2, 0.1f, 5)), "the next example");
    assertThat(models.isEmpty()).as("no snapshot published over v2").isTrue();
    assertThat(handBacks()).isEqualTo(1.0);

    add("C", "c1", axis(2, 0.1f, 5));
    assertThat(tasks.get(TASK)).as("the second example accepted").isNotNull();
    // Once per stream task, not per few-shot task: a learner that starts empty against a models
    // topic full of snapshots costs one rebalance per stream task.
    addTo(OTHER_TASK, "C", "o3", axis(2, 0.1f, 6));
    assertThat(tasks.get(OTHER_TASK)).as("the other task's example accepted").isNotNull();
    assertThat(handBacks()).isEqualTo(1.0);
  }

  /**
   * The learner's punctuations must not act on stores whose restore skipped records: the fine-tune
   * round would start a fine-tune of part of a task's examples, the install would publish it. The
   * guard is told of a skip in the tasks store's changelog (the sequence Kafka Streams reported in
   * {@code LearnerFaultIT}): the install (every 200 ms) hands the task back with {@link
   * TaskMigratedException}; told of another, so does the round (every second). Catches either
   * punctuation without the check. ({@code TopologyTestDriver} neither closes and restores the
   * task as Kafka Streams does on the exception nor schedules a punctuation that threw again;
   * {@code LearnerFaultIT} shows the whole path.)
   */
  @Test
  void shouldNotFineTuneOnStoresWhoseRestoreSkippedRecords() {
    start(Map.of(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2));
    add("A", "a1", axis(0, 0.3f, 1));
    add("A", "a2", axis(0, 0.3f, 2));
    add("B", "b1", axis(1, 0.3f, 3));
    add("B", "b2", axis(1, 0.3f, 4));
    assertThat(snapshots()).hasSize(4);
    long submitted = scheduler.submitted();
    for (long advanceMs : new long[] {200, INTERVAL_MS - 200}) {
      reportSkip(StoreNames.TASKS);
      assertHandsBack(
          () -> driver.advanceWallClockTime(Duration.ofMillis(advanceMs)),
          "the punctuation due after " + advanceMs + " ms");
    }
    assertThat(scheduler.submitted()).as("fine-tunes started").isEqualTo(submitted);
    assertThat(handBacks()).isEqualTo(2.0);
  }

  /**
   * The query classifier's flush and the feedback joiner's expiry are punctuations that write their
   * stores too: each hands its task back when one of its stores skipped records in a restore,
   * before it writes. Catches either punctuation without the check.
   */
  @Test
  void shouldHandBackFromTheQueryFlushAndTheFeedbackExpiryOnDamagedStores() {
    start(Map.of(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2));
    for (String store : List.of(StoreNames.PENDING_QUERIES, FeedbackStores.PREDICTIONS)) {
      reportSkip(store);
      assertHandsBack(() -> driver.advanceWallClockTime(Duration.ofMinutes(1)), store);
    }
    assertThat(handBacks()).isEqualTo(2.0);
  }

  /** Under at-least-once the learner's state may trail the models topic after a crash: no check. */
  @Test
  void shouldNotCheckTheLearnerStateAgainstThePublishedSnapshotsUnderAtLeastOnce() {
    start(Map.of(FewShotConfig.FINETUNE_METHOD_CONFIG, "prototypes"));
    add("A", "a1", axis(0, 0.1f, 1));
    KeyValueStore<String, TaskState> tasks = driver.getKeyValueStore(StoreNames.TASKS);
    tasks.delete(TASK);

    add("B", "b1", axis(1, 0.1f, 2));
    assertThat(tasks.get(TASK).version()).isEqualTo(1);
  }

  /**
   * Tells the restore guard what Kafka Streams reported in {@code LearnerFaultIT}'s faulty runs
   * for {@code store}'s changelog partition 0: a restore from 0 suspended with nothing restored,
   * then resumed at 23.
   */
  private void reportSkip(String store) {
    RestoreGuard guard = harness.telemetry.restoreGuard();
    TopicPartition changelog = new TopicPartition("topology-test-" + store + "-changelog", 0);
    guard.onRestoreStart(changelog, store, 0, 24);
    guard.onRestoreSuspended(changelog, store, 0);
    guard.onRestoreStart(changelog, store, 23, 24);
  }

  /** {@code call} hands its stream task back: it throws {@link TaskMigratedException}, maybe wrapped. */
  private static void assertHandsBack(ThrowingCallable call, String what) {
    assertThatThrownBy(call)
        .as(what)
        .satisfies(
            e -> assertThat(causes(e)).hasAtLeastOneElementOfType(TaskMigratedException.class));
  }

  private double handBacks() {
    return harness.telemetry.registry().get("fewshot.state.restore.repaired").counter().count();
  }

  private static List<Throwable> causes(Throwable e) {
    List<Throwable> out = new java.util.ArrayList<>();
    for (Throwable t = e; t != null && !out.contains(t); t = t.getCause()) {
      out.add(t);
    }
    return out;
  }

  @Test
  void shouldClassifyAQueryAgainstAClassAddedJustBeforeIt() {
    start(Map.of());
    add("A", "a1", axis(0, 0.1f, 1));
    query("q1", axis(1, 0.2f, 2));
    Prediction onlyA = prediction();
    assertThat(onlyA.label()).isEqualTo("A");
    assertThat(onlyA.probabilities()).containsOnlyKeys("A");

    add("B", "b1", axis(1, 0.1f, 3));
    query("q2", axis(1, 0.2f, 4));
    Prediction withB = prediction();
    assertThat(withB.label()).as("class B was added just before the query").isEqualTo("B");
    assertThat(withB.modelVersion()).isEqualTo(2);
    assertThat(withB.method()).isEqualTo(ModelSnapshot.PROTOTYPES);
    assertThat(withB.probabilities()).containsOnlyKeys("A", "B");
    assertThat(withB.probabilities().values().stream().mapToDouble(Double::doubleValue).sum())
        .isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
    assertThat(withB.backboneId()).isEqualTo(embedder.card().id());
  }

  @Test
  void shouldWriteOnlySchemaValidSnapshotsPredictionsAndDeadLetters() {
    start(Map.of());
    add("A", "a1", axis(0, 0.1f, 1));
    add("B", "b1", axis(1, 0.1f, 2));
    query("q1", axis(0, 0.2f, 3));
    queries.pipeInput(TASK, "{not json".getBytes(StandardCharsets.UTF_8));
    List<byte[]> snapshots = models.readValuesToList();
    List<byte[]> answers = predictions.readValuesToList();
    List<byte[]> dead = deadLetters.readValuesToList();
    assertThat(snapshots).hasSize(2);
    assertThat(answers).hasSize(1);
    assertThat(dead).hasSize(1);
    snapshots.forEach(v -> assertThat(codec.violations(EventType.MODEL, v)).isEmpty());
    answers.forEach(v -> assertThat(codec.violations(EventType.PREDICTION, v)).isEmpty());
    dead.forEach(v -> assertThat(codec.violations(EventType.DEAD_LETTER, v)).isEmpty());
  }

  @Test
  void shouldFineTuneOnTheWallClockAndAdvanceTheVersion() throws InterruptedException {
    start(Map.of());
    // Two shots per class and no pool: the default, robust, fine-tunes on the support alone.
    add("A", "a1", axis(0, 0.3f, 1));
    add("A", "a2", axis(0, 0.3f, 2));
    add("B", "b1", axis(1, 0.3f, 3));
    add("B", "b2", axis(1, 0.3f, 4));
    List<ModelSnapshot> before = snapshots();
    assertThat(before).extracting(ModelSnapshot::version).containsExactly(1L, 2L, 3L, 4L);
    // Every prototype snapshot carries the threshold of its own support set.
    assertThat(before).allSatisfy(s -> assertThat(s.openSetThreshold()).isNotNull());
    // And answers at a calibrated temperature: the one-shot one while no class has two examples,
    // then the one robust gives the prototypes of these four examples, not the fixed scale 15.
    assertThat(before.get(0).scale()).isEqualTo(RobustConfig.defaults().oneShotPrototypeScale());
    SupportSet four = twoOfEach();
    assertThat(before.get(3).scale())
        .isCloseTo(new CalibratedPrototypes().temperature(four), within(1e-4f))
        .isNotEqualTo(15f);

    driver.advanceWallClockTime(Duration.ofMillis(INTERVAL_MS));
    assertThat(scheduler.awaitIdle(10_000)).isTrue();
    driver.advanceWallClockTime(Duration.ofMillis(200));

    List<ModelSnapshot> tuned = snapshots();
    assertThat(tuned).hasSize(1);
    assertThat(tuned.get(0).version()).isEqualTo(5);
    assertThat(tuned.get(0).method()).isEqualTo(ModelSnapshot.FINE_TUNED);
    assertThat(tuned.get(0).fineTuning()).isEqualTo("robust");
    assertThat(tuned.get(0).openSetThreshold()).isNotNull();
    assertThat(tuned.get(0).supportExamples()).isEqualTo(4);

    query("q1", axis(1, 0.2f, 5));
    Prediction p = prediction();
    assertThat(p.modelVersion()).isEqualTo(5);
    assertThat(p.method()).isEqualTo(ModelSnapshot.FINE_TUNED);
    assertThat(p.label()).isEqualTo("B");

    // The query joined the task's pool, which robust learns from: one more fine-tune uses it.
    driver.advanceWallClockTime(Duration.ofMillis(INTERVAL_MS));
    assertThat(scheduler.awaitIdle(10_000)).isTrue();
    driver.advanceWallClockTime(Duration.ofMillis(200));
    assertThat(snapshots()).extracting(ModelSnapshot::poolQueries).containsExactly(1);

    driver.advanceWallClockTime(Duration.ofMillis(INTERVAL_MS));
    assertThat(scheduler.awaitIdle(10_000)).isTrue();
    driver.advanceWallClockTime(Duration.ofMillis(200));
    assertThat(snapshots()).as("nothing changed, so nothing is tuned again").isEmpty();
  }

  // A new class publishes prototypes at once; a fine-tune that started before it, without the
  // class, must not replace them (new examples of existing classes would be held instead).
  @Test
  void shouldDropAFineTuneOverWhichAPrototypeSnapshotWentOut() throws InterruptedException {
    start(Map.of());
    add("A", "a1", axis(0, 0.3f, 1));
    add("A", "a2", axis(0, 0.3f, 2));
    add("B", "b1", axis(1, 0.3f, 3));
    add("B", "b2", axis(1, 0.3f, 4));
    snapshots();
    driver.advanceWallClockTime(Duration.ofMillis(INTERVAL_MS));
    assertThat(scheduler.awaitIdle(10_000)).isTrue();
    add("C", "c1", axis(2, 0.3f, 5));
    driver.advanceWallClockTime(Duration.ofMillis(200));
    List<ModelSnapshot> after = snapshots();
    assertThat(after).hasSize(1);
    assertThat(after.get(0).method()).isEqualTo(ModelSnapshot.PROTOTYPES);
    assertThat(after.get(0).classes()).extracting(ModelSnapshot.ClassWeights::label)
        .containsExactly("A", "B", "C");
  }

  /**
   * The pool takes at most its size per fine-tune interval (issue 14): the ring is read once an
   * interval, so more queries would be overwritten unread, each at three Kafka records. Catches the
   * cap not applied (10 pooled) or never reopened (3 after the next interval).
   */
  @Test
  void shouldPoolAtMostThePoolSizeOfQueriesPerFineTuneInterval() {
    start(Map.of(FewShotConfig.QUERY_POOL_SIZE_CONFIG, 3));
    add("A", "a1", axis(0, 0.1f, 1));
    add("B", "b1", axis(1, 0.1f, 2));
    for (int i = 0; i < 10; i++) {
      query("q" + i, axis(i % 2, 0.2f, 10 + i));
    }
    assertThat(poolAdds()).as("queries pooled in the first interval").isEqualTo(3);
    driver.advanceWallClockTime(Duration.ofMillis(TopologyHarness.INTERVAL_MS));
    for (int i = 10; i < 12; i++) {
      query("q" + i, axis(i % 2, 0.2f, 10 + i));
    }
    assertThat(poolAdds()).as("after the next interval began").isEqualTo(5);
    assertThat(predictions.readValuesToList()).as("every query answered").hasSize(12);
  }

  private long poolAdds() {
    KeyValueStore<String, TaskState> tasks = driver.getKeyValueStore(StoreNames.TASKS);
    return tasks.get(TASK).poolAdds();
  }

  /**
   * The calibration settings reach the prototype snapshot: the one-shot temperature while no class
   * has two examples, and with the prior's weight at 0 the leave-one-out temperature itself.
   * Catches the settings documented but not applied (the snapshot answering at the defaults).
   */
  @Test
  void shouldAnswerAtTheConfiguredCalibration() {
    start(
        Map.of(
            FewShotConfig.ONE_SHOT_TEMPERATURE_CONFIG, "6",
            FewShotConfig.TEMPERATURE_PRIOR_WEIGHT_CONFIG, "0"));
    add("A", "a1", axis(0, 0.3f, 1));
    add("A", "a2", axis(0, 0.3f, 2));
    add("B", "b1", axis(1, 0.3f, 3));
    add("B", "b2", axis(1, 0.3f, 4));
    List<ModelSnapshot> published = snapshots();
    SupportSet four = twoOfEach();
    RobustConfig defaults = RobustConfig.defaults();

    assertThat(published.get(0).scale()).isEqualTo(6f);
    assertThat(published.get(3).scale())
        .isCloseTo(
            new CalibratedPrototypes(defaults.with("temperaturePriorWeight", 0))
                .temperature(four),
            within(1e-4f))
        .isNotCloseTo(new CalibratedPrototypes(defaults).temperature(four), within(1e-2f));
  }

  @Test
  void shouldForgetADeletedClassInTheNextPrediction() {
    start(Map.of());
    add("A", "a1", axis(0, 0.1f, 1));
    add("B", "b1", axis(1, 0.1f, 2));
    add("C", "c1", axis(2, 0.1f, 3));
    support.pipeInput(TASK, codec.write(new SupportEvent.DeleteClass(1, TASK, "B")));
    query("q1", axis(1, 0.2f, 4));
    Prediction p = prediction();
    assertThat(p.probabilities()).containsOnlyKeys("A", "C");
    assertThat(p.label()).isNotEqualTo("B");
  }

  @Test
  void shouldMoveThePrototypeBackWhenAnExampleIsRemoved() {
    start(Map.of());
    add("A", "a1", axis(0, 0.05f, 1));
    add("B", "b1", axis(1, 0.05f, 2));
    add("B", "b-wrong", axis(0, 0.05f, 3)); // a mislabelled example drags B towards A
    support.pipeInput(TASK, codec.write(new SupportEvent.RemoveExample(1, TASK, "b-wrong")));
    List<ModelSnapshot> s = snapshots();
    ModelSnapshot last = s.get(s.size() - 1);
    assertThat(last.classes()).extracting(ModelSnapshot.ClassWeights::examples)
        .containsExactly(1, 1);
    query("q1", axis(0, 0.05f, 4));
    // One example each: the one-shot temperature 4 gives 1 / (1 + e^-4) = 0.982 for A; with
    // b-wrong still in B, B's prototype would sit at 45 degrees and A would get 0.76.
    assertThat(prediction().probability())
        .as("with B back on its own axis, a query on A's axis is confidently A")
        .isGreaterThan(0.95);
  }

  @Test
  void shouldReplaceAnExampleThatIsAddedAgainWithTheSameId() {
    start(Map.of());
    add("A", "a1", axis(0, 0.1f, 1));
    add("A", "a1", axis(0, 0.1f, 1));
    add("B", "a1", axis(1, 0.1f, 2)); // the same id moved to another class
    ModelSnapshot last = snapshots().get(2);
    assertThat(last.classes()).extracting(ModelSnapshot.ClassWeights::label).containsExactly("B");
    assertThat(last.supportExamples()).isEqualTo(1);
  }

  @Test
  void shouldDeadLetterMalformedJsonWithItsOriginAndKeepClassifying() {
    start(Map.of());
    add("A", "a1", axis(0, 0.1f, 1));
    add("B", "b1", axis(1, 0.1f, 2));
    queries.pipeInput("k", "{\"schemaVersion\": 1, \"task\": ".getBytes(StandardCharsets.UTF_8));
    query("q-good", axis(1, 0.1f, 3));
    DeadLetter dead = deadLetter();
    assertThat(dead.reason()).isEqualTo(DeadLetterReason.INVALID_JSON);
    assertThat(dead.sourceTopic()).isEqualTo("fewshot-queries");
    assertThat(dead.partition()).isZero();
    assertThat(dead.offset()).isZero();
    assertThat(dead.key()).isEqualTo("k");
    assertThat(dead.value()).isEqualTo("{\"schemaVersion\": 1, \"task\": ");
    assertThat(prediction().queryId()).isEqualTo("q-good");
  }

  @Test
  void shouldDeadLetterAQueryForATaskWithNoClasses() {
    start(Map.of());
    query("q1", axis(0, 0.1f, 1));
    DeadLetter dead = deadLetter();
    assertThat(dead.reason()).isEqualTo(DeadLetterReason.UNKNOWN_TASK);
    assertThat(dead.task()).isEqualTo(TASK);
    assertThat(dead.id()).isEqualTo("q1");
    assertThat(predictions.isEmpty()).isTrue();
  }

  @Test
  void shouldDeadLetterABrokenImageAndBadEmbeddings() {
    start(Map.of());
    byte[] notPng = {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3};
    support.pipeInput(
        TASK,
        codec.write(
            new SupportEvent.AddExample(1, TASK, "A", "a1", new Image(Image.PNG, notPng), null)));
    support.pipeInput(
        TASK,
        codec.write(new SupportEvent.AddExample(1, TASK, "A", "a2", null, new float[] {1, 2, 3})));
    support.pipeInput(
        TASK,
        codec.write(
            new SupportEvent.AddExample(
                1, TASK, "A", "a3", null, new float[embedder.featureSize()])));
    List<DeadLetter> dead =
        deadLetters.readValuesToList().stream().map(codec::readDeadLetter).toList();
    assertThat(dead)
        .extracting(DeadLetter::reason)
        .containsExactly(
            DeadLetterReason.INVALID_IMAGE,
            DeadLetterReason.INVALID_EMBEDDING,
            DeadLetterReason.INVALID_EMBEDDING);
    assertThat(dead.get(2).message()).contains("zero");
    assertThat(dead.get(1).message()).contains("256").contains("3");
    assertThat(models.isEmpty()).isTrue();
  }

  @Test
  void shouldDeadLetterTheRemovalOfAnUnknownExampleNamingTheSupportTopic() {
    start(Map.of());
    add("A", "a1", axis(0, 0.1f, 1));
    support.pipeInput(TASK, codec.write(new SupportEvent.RemoveExample(1, TASK, "nope")));
    DeadLetter dead = deadLetter();
    assertThat(dead.reason()).isEqualTo(DeadLetterReason.UNKNOWN_EXAMPLE);
    assertThat(dead.sourceTopic())
        .as("the user's topic, not the internal repartition topic")
        .isEqualTo("fewshot-support");
    assertThat(dead.offset()).isEqualTo(1);
    assertThat(dead.valueOmitted()).as("the learner no longer has the bytes").isTrue();
    assertThat(dead.valueBytes()).isPositive();
  }

  @Test
  void shouldRefuseAnExampleBeyondTheClassLimit() {
    start(Map.of(FewShotConfig.MAX_EXAMPLES_PER_CLASS_CONFIG, 2));
    add("A", "a1", axis(0, 0.1f, 1));
    add("A", "a2", axis(0, 0.1f, 2));
    add("A", "a3", axis(0, 0.1f, 3));
    assertThat(deadLetter().reason()).isEqualTo(DeadLetterReason.CLASS_FULL);
    assertThat(snapshots()).hasSize(2);
  }

  @Test
  void shouldRefuseAClassBeyondTheTaskLimitAndATaskBeyondTheInstanceLimit() {
    start(
        Map.of(
            FewShotConfig.MAX_CLASSES_PER_TASK_CONFIG, 2,
            FewShotConfig.MAX_TASKS_CONFIG, 2));
    add("A", "a1", axis(0, 0.1f, 1));
    add("B", "b1", axis(1, 0.1f, 2));
    add("C", "c1", axis(2, 0.1f, 3));
    DeadLetter taskFull = deadLetter();
    assertThat(taskFull.reason()).isEqualTo(DeadLetterReason.TASK_FULL);
    assertThat(taskFull.message()).contains("at most 2 classes").contains("'C'");
    add("A", "a2", axis(0, 0.1f, 4)); // more examples of an existing class are fine
    assertThat(deadLetters.isEmpty()).isTrue();

    support.pipeInput(
        "second",
        codec.write(new SupportEvent.AddExample(1, "second", "X", "x1", null, axis(3, 0.1f, 5))));
    support.pipeInput(
        "third",
        codec.write(new SupportEvent.AddExample(1, "third", "X", "x1", null, axis(3, 0.1f, 6))));
    DeadLetter tooMany = deadLetter();
    assertThat(tooMany.reason()).isEqualTo(DeadLetterReason.TOO_MANY_TASKS);
    assertThat(tooMany.task()).isEqualTo("third");
    assertThat(snapshots())
        .extracting(ModelSnapshot::task)
        .as("no snapshot for the refused class or task")
        .containsExactly(TASK, TASK, TASK, "second");
  }

  @Test
  void shouldClassifyRealImagesOfNovelClasses() {
    start(Map.of());
    List<SampleImage> samples = SampleImages.load();
    List<SampleImage> coats = samples.stream().filter(s -> s.label().equals("Coat")).toList();
    List<SampleImage> sneakers = samples.stream().filter(s -> s.label().equals("Sneaker")).toList();
    for (int i = 0; i < 5; i++) {
      addImage(coats.get(i));
      addImage(sneakers.get(i));
    }
    int correct = 0;
    for (int i = 5; i < 25; i++) {
      for (SampleImage s : List.of(coats.get(i), sneakers.get(i))) {
        queries.pipeInput(
            TASK,
            codec.write(
                new QueryEvent(1, TASK, s.name(), new Image(Image.PNG, s.png()), null, 1)));
        Prediction p = prediction();
        assertThat(p.topK()).hasSize(1);
        correct += p.label().equals(s.label()) ? 1 : 0;
      }
    }
    // Coats and sneakers are far apart for the bundled backbone: nearly all 40 are right.
    assertThat(correct).isGreaterThanOrEqualTo(38);
  }

  private void addImage(SampleImage s) {
    support.pipeInput(
        TASK,
        codec.write(
            new SupportEvent.AddExample(
                1, TASK, s.label(), s.name(), new Image(Image.PNG, s.png()), null)));
  }

  private void add(String label, String id, float[] embedding) {
    addTo(TASK, label, id, embedding);
  }

  private void addTo(String task, String label, String id, float[] embedding) {
    support.pipeInput(
        task, codec.write(new SupportEvent.AddExample(1, task, label, id, null, embedding)));
  }

  private void query(String id, float[] embedding) {
    queries.pipeInput(TASK, codec.write(new QueryEvent(1, TASK, id, null, embedding, null)));
  }

  private Prediction prediction() {
    KeyValue<String, byte[]> record = predictions.readKeyValue();
    assertThat(record.key).isEqualTo(TASK);
    return codec.readPrediction(record.value);
  }

  private DeadLetter deadLetter() {
    return codec.readDeadLetter(deadLetters.readValue());
  }

  private List<ModelSnapshot> snapshots() {
    return models.readValuesToList().stream().map(codec::readSnapshot).toList();
  }

  /**
   * The support set the service holds after two examples of A and two of B, {@code axis(0, 0.3f,
   * 1..2)} and {@code axis(1, 0.3f, 3..4)}, as it stores them (normalised).
   */
  private static SupportSet twoOfEach() {
    return new SupportSet(
        List.of("A", "B"),
        new float[][] {
          Vectors.normalize(axis(0, 0.3f, 1)), Vectors.normalize(axis(0, 0.3f, 2)),
          Vectors.normalize(axis(1, 0.3f, 3)), Vectors.normalize(axis(1, 0.3f, 4))
        },
        new int[] {0, 0, 1, 1});
  }

  /** A vector along basis axis {@code axis} of the backbone's feature space, plus noise. */
  private static float[] axis(int axis, float noise, long seed) {
    Random random = new Random(seed);
    float[] v = new float[embedder.featureSize()];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (noise * random.nextGaussian() / Math.sqrt(v.length));
    }
    v[axis] += 1f;
    return v;
  }
}
