package io.fewshotstreams.streaming.feedback;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.EventType;
import io.fewshotstreams.events.FeedbackEvent;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Outcome;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.ReviewItem;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.TopologyHarness;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The feedback room on the whole topology (TopologyTestDriver, bundled backbone, precomputed
 * embeddings along basis axes so that which class answers is known): the join, its dead letters,
 * promotion and review.
 */
class FeedbackTopologyTest {
  private static final String TASK = "parts";
  /** Retention of these tests: short, so that the driver's wall clock can pass it. */
  private static final long RETENTION_MS = 10_000;

  private static Embedder embedder;
  private final EventCodec codec = new EventCodec();
  @TempDir Path stateDir;
  private TopologyHarness harness;
  private SimpleMeterRegistry registry;
  private TestInputTopic<String, byte[]> feedback;
  private TestOutputTopic<String, byte[]> outcomes;
  private TestOutputTopic<String, byte[]> review;

  @BeforeAll
  static void openEmbedder() {
    embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
  }

  @AfterAll
  static void closeEmbedder() {
    embedder.close();
  }

  private void start(Map<String, Object> overrides) {
    Map<String, Object> settings = new HashMap<>();
    settings.put(FewShotConfig.FEEDBACK_RETENTION_MS_CONFIG, RETENTION_MS);
    settings.put(FewShotConfig.QUERY_POOL_SIZE_CONFIG, 0);
    settings.putAll(overrides);
    registry = new SimpleMeterRegistry();
    harness =
        new TopologyHarness(
            TopologyHarness.settings("feedback-test", stateDir, settings),
            embedder,
            new Telemetry(registry, 0),
            0);
    feedback = harness.input(harness.config.feedbackTopic());
    outcomes = harness.output(harness.config.outcomesTopic());
    review = harness.output(harness.config.reviewTopic());
  }

  @AfterEach
  void stop() {
    if (harness != null) {
      harness.close();
    }
  }

  @Test
  void shouldJoinEachFeedbackToItsPredictionAndCountItsOutcome() {
    start(Map.of());
    add("A", "a1", axis(0, 1));
    add("B", "b1", axis(1, 2));
    query("q1", axis(0, 3));
    query("q2", axis(1, 4));
    List<Prediction> answers = predictions();
    assertThat(answers).extracting(Prediction::label).containsExactly("A", "B");

    // Truth for q1 is A (right), for q2 is A (wrong); it arrives 5 s after the predictions.
    long later = answers.get(1).predictedAt() + 5_000;
    feedback("q1", "A", false, later);
    feedback("q2", "A", false, later);

    List<byte[]> raw = outcomes.readValuesToList();
    raw.forEach(v -> assertThat(codec.violations(EventType.OUTCOME, v)).isEmpty());
    List<Outcome> out = raw.stream().map(codec::readOutcome).toList();
    assertThat(out).extracting(Outcome::result).containsExactly(Outcome.CORRECT, Outcome.WRONG);
    assertThat(out).extracting(Outcome::correct).containsExactly(true, false);
    assertThat(out.get(1).predictedLabel()).isEqualTo("B");
    assertThat(out.get(1).trueLabel()).isEqualTo("A");
    assertThat(out.get(1).modelVersion()).isEqualTo(answers.get(1).modelVersion());
    assertThat(out.get(1).method()).isEqualTo(ModelSnapshot.PROTOTYPES);
    assertThat(out.get(1).truthDelayMs()).isEqualTo(5_000);
    assertThat(out).extracting(Outcome::promoted).containsExactly(false, false);

    LiveAccuracy live = accuracy();
    assertThat(live.all.outcomes).isEqualTo(2);
    assertThat(live.all.accuracy()).as("one of two right").isEqualTo(0.5);
    assertThat(live.all.confusion).isEqualTo(Map.of("A", Map.of("A", 1L), "B", Map.of("A", 1L)));
    assertThat(live.byVersion.keySet()).containsExactly(answers.get(1).modelVersion());
    assertThat(counter("correct") + counter("wrong")).isEqualTo(2);
    assertThat(counter("correct")).isEqualTo(1);
    assertThat(gauge("all")).isEqualTo(0.5);
    assertThat(harness.deadLetters.isEmpty()).isTrue();
  }

  @Test
  void shouldDeadLetterFeedbackThatCannotBeJoined() {
    start(Map.of());
    add("A", "a1", axis(0, 1));
    add("B", "b1", axis(1, 2));
    query("q1", axis(0, 3));
    query("q2", axis(0, 4));
    query("q3", axis(0, 5));
    predictions();

    feedback("never-asked", "A", false, 0);
    feedback("q1", "Z", false, 0);
    feedback("q2", "A", false, 0);
    feedback("q2", "B", false, 0);
    feedback.pipeInput(TASK, "{not json".getBytes(StandardCharsets.UTF_8), Instant.EPOCH);
    // Past the retention: q3's prediction expires, its stub remains for one more retention.
    harness.driver.advanceWallClockTime(Duration.ofMillis(RETENTION_MS + 1_000));
    feedback("q3", "A", false, 0);
    harness.driver.advanceWallClockTime(Duration.ofMillis(2 * RETENTION_MS));
    feedback("q3", "A", false, 0);

    List<DeadLetter> dead =
        harness.deadLetters.readValuesToList().stream().map(codec::readDeadLetter).toList();
    assertThat(dead)
        .extracting(DeadLetter::reason)
        .containsExactly(
            DeadLetterReason.UNKNOWN_QUERY,
            DeadLetterReason.DUPLICATE_FEEDBACK,
            DeadLetterReason.INVALID_JSON,
            DeadLetterReason.PREDICTION_EXPIRED,
            DeadLetterReason.UNKNOWN_QUERY);
    assertThat(dead.get(0).sourceTopic()).isEqualTo(harness.config.feedbackTopic());
    // q1's label Z is no class of the task: with open-set predictions that is an outcome (an
    // open-set miss, since q1 was answered as A), not a dead letter
    assertThat(outcomes.readValuesToList())
        .as("q1's open-set outcome and q2's first feedback count")
        .hasSize(2);
    assertThat(accuracy().all.outcomes).isEqualTo(2);
  }

  @Test
  void shouldPromoteAQueryOnceHoweverOftenItsFeedbackIsReplayed() {
    start(Map.of());
    add("A", "a1", axis(0, 1));
    add("B", "b1", axis(1, 2));
    query("q1", axis(0, 3));
    query("q2", axis(0, 4));
    predictions();
    harness.models.readValuesToList();

    feedback("q1", "B", true, 0);
    feedback("q1", "B", true, 0);
    List<ModelSnapshot> afterB = snapshots();
    assertThat(afterB).isNotEmpty();
    ModelSnapshot last = afterB.get(afterB.size() - 1);
    assertThat(last.supportExamples())
        .as("the replayed promotion replaced example feedback:q1 instead of adding one")
        .isEqualTo(3);

    // A label the task does not have, promoted: an open-set miss that creates the class.
    feedback("q2", "C", true, 0);
    ModelSnapshot withC = snapshots().get(0);
    assertThat(withC.classes()).extracting(ModelSnapshot.ClassWeights::label).contains("C");
    assertThat(withC.supportExamples()).isEqualTo(4);
    List<Outcome> out = outcomes.readValuesToList().stream().map(codec::readOutcome).toList();
    assertThat(out)
        .extracting(Outcome::result)
        .containsExactly(Outcome.WRONG, Outcome.OPEN_SET_MISS);
    assertThat(out).extracting(Outcome::promoted).containsExactly(true, true);
    assertThat(out.get(1).knownLabel()).isFalse();
  }

  @Test
  void shouldPromoteEveryWrongAnswerWhenTheTaskPolicySaysSo() {
    start(Map.of(FewShotConfig.FEEDBACK_PROMOTE_POLICY_CONFIG, "*=flagged," + TASK + "=wrong"));
    add("A", "a1", axis(0, 1));
    add("B", "b1", axis(1, 2));
    query("right", axis(0, 3));
    query("wrong", axis(0, 4));
    predictions();
    harness.models.readValuesToList();

    feedback("right", "A", false, 0);
    assertThat(harness.models.isEmpty()).as("a right answer is not promoted").isTrue();
    feedback("wrong", "B", false, 0);

    assertThat(snapshots()).extracting(ModelSnapshot::supportExamples).containsExactly(3);
    assertThat(outcomes.readValuesToList().stream().map(codec::readOutcome))
        .extracting(Outcome::promoted)
        .containsExactly(false, true);
  }

  @Test
  void shouldSendPredictionsBelowTheTaskThresholdToReview() {
    start(Map.of(FewShotConfig.REVIEW_THRESHOLD_CONFIG, "*=0," + TASK + "=0.6"));
    add("A", "a1", axis(0, 1));
    add("B", "b1", axis(1, 2));
    add("C", "c1", axis(2, 3));
    query("sure", axis(0, 4));
    query("torn", mix(5));
    query("other-task", "elsewhere", axis(0, 6));
    List<Prediction> answers = predictions();
    assertThat(answers.get(0).probability()).as("a query on A's axis").isGreaterThan(0.6);
    assertThat(answers.get(1).probability())
        .as("a query equally near the three classes")
        .isLessThan(0.6);

    List<byte[]> raw = review.readValuesToList();
    raw.forEach(v -> assertThat(codec.violations(EventType.REVIEW, v)).isEmpty());
    List<ReviewItem> items = raw.stream().map(codec::readReview).toList();
    assertThat(items).extracting(ReviewItem::queryId).containsExactly("torn");
    assertThat(items.get(0).reason()).isEqualTo(ReviewItem.LOW_CONFIDENCE);
    assertThat(items.get(0).threshold()).isEqualTo(0.6);
    assertThat(items.get(0).probability()).isEqualTo(answers.get(1).probability());
  }

  @Test
  void shouldForgetTheOldestPredictionsBeyondTheBound() {
    start(Map.of(FewShotConfig.FEEDBACK_MAX_RETAINED_CONFIG, 2));
    add("A", "a1", axis(0, 1));
    for (int i = 1; i <= 3; i++) {
      query("q" + i, axis(0, 10 + i));
    }
    predictions();

    feedback("q1", "A", false, 0);
    feedback("q2", "A", false, 0);

    assertThat(harness.deadLetters.readValuesToList().stream().map(codec::readDeadLetter))
        .as("q1 was the oldest of three kept with room for two")
        .extracting(DeadLetter::reason)
        .containsExactly(DeadLetterReason.PREDICTION_EXPIRED);
    assertThat(outcomes.readValuesToList()).hasSize(1);
  }

  private LiveAccuracy accuracy() {
    return harness.driver.<String, LiveAccuracy>getKeyValueStore(FeedbackStores.ACCURACY).get(TASK);
  }

  private double counter(String result) {
    return registry.find("fewshot.feedback.outcomes").tag("task", TASK).tag("result", result)
        .counters().stream()
        .mapToDouble(c -> c.count())
        .sum();
  }

  private double gauge(String scope) {
    return registry
        .get("fewshot.feedback.accuracy")
        .tag("task", TASK)
        .tag("scope", scope)
        .gauge()
        .value();
  }

  private void add(String label, String id, float[] embedding) {
    harness.support.pipeInput(
        TASK, codec.write(new SupportEvent.AddExample(1, TASK, label, id, null, embedding)));
  }

  private void query(String id, float[] embedding) {
    query(id, TASK, embedding);
  }

  private void query(String id, String task, float[] embedding) {
    if (!task.equals(TASK)) {
      harness.support.pipeInput(
          task, codec.write(new SupportEvent.AddExample(1, task, "A", "x", null, axis(0, 99))));
    }
    harness.queries.pipeInput(
        task, codec.write(new QueryEvent(1, task, id, null, embedding, null)));
  }

  private void feedback(String queryId, String label, boolean promote, long timestamp) {
    feedback.pipeInput(
        TASK,
        codec.write(new FeedbackEvent(1, TASK, queryId, label, promote ? true : null)),
        Instant.ofEpochMilli(timestamp));
  }

  private List<Prediction> predictions() {
    return harness.predictions.readValuesToList().stream().map(codec::readPrediction).toList();
  }

  private List<ModelSnapshot> snapshots() {
    return harness.models.readValuesToList().stream().map(codec::readSnapshot).toList();
  }

  /** A vector along basis axis {@code axis}, plus a little noise. */
  private static float[] axis(int axis, long seed) {
    Random random = new Random(seed);
    float[] v = new float[embedder.featureSize()];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (0.1 * random.nextGaussian() / Math.sqrt(v.length));
    }
    v[axis] += 1f;
    return v;
  }

  /** A vector equally along the first three axes: no class is preferred. */
  private static float[] mix(long seed) {
    float[] v = axis(0, seed);
    v[0] = 1f;
    v[1] = 1f;
    v[2] = 1f;
    return v;
  }
}
