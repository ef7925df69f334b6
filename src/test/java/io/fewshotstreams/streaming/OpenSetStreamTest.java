package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.evaluation.Dirichlet;
import io.fewshotstreams.evaluation.Interval;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The learner on a realistic stream, through the whole topology with the bundled backbone. Each of
 * {@value #TASKS} tasks registers the five bundled novel classes with five images each, drawn at
 * random from the 60 bundled images of each class; then a stream of query images arrives whose
 * classes are mixed in Dirichlet(2) proportions (some classes frequent, some rare), drawn from the
 * task's other images, with the 30 bundled images of Bag, a class nobody registered, mixed in. The
 * queries fill each task's pool and the default method ({@code robust}) fine-tunes on it; then the
 * same queries are classified again by the fine-tuned snapshot, so the two snapshots are compared
 * on identical queries, task by task.
 *
 * <p>Many tasks, not one: a single support draw decides much of what fine-tuning gains on it. On
 * the demo's support set (the first five bundled images of each class), three such streams of 100
 * known queries give {@code robust} and {@code inductive} alike 200 right against the prototypes'
 * 205; over random draws the gain is about two points.
 *
 * <p>Measured (this test's printout, 80 tasks, 7,990 known queries and 2,400 Bag images): known
 * queries right, prototype snapshot 5,556; fine-tuned by {@code robust} 5,727 (+2.14 +- 1.10
 * points per task), by {@code inductive} 5,739 (+2.29 +- 1.07), by {@code auto} 5,541 (-0.20
 * +- 1.41). The assertions are those of the default, {@code robust}. {@code
 * -DopenSetStream.method=NAME} runs another fine-tuning method for its printout; its figures are
 * then asserted against the same bounds, which {@code inductive} and {@code auto} fail (below), and
 * {@code prototypes}, which never fine-tunes, fails at once.
 */
class OpenSetStreamTest {
  private static final int SHOTS = 5;
  /** Known queries per task before the cap of 55 other images per class. */
  private static final int KNOWN_QUERIES = 100;
  /** Dirichlet concentration of the class mix, as in Veilleux et al. (NeurIPS 2021). */
  private static final double ALPHA = 2.0;
  /**
   * Tasks, each with its own support draw and mix. One task's paired difference has a standard
   * deviation of about 5 points, so 80 tasks put the mean's 95% interval at about +-1 point.
   */
  private static final int TASKS = 80;
  private static final long SEED = 11;
  private static final String METHOD = System.getProperty("openSetStream.method", "robust");

  private static Embedder embedder;
  /** The bundled images of each registered class, in manifest order. */
  private static Map<String, List<SampleImage>> byClass;
  private static List<SampleImage> unregistered;
  private static Result result;

  private final EventCodec codec = new EventCodec();
  @TempDir Path stateDir;

  @BeforeAll
  static void open() {
    embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
    byClass = new LinkedHashMap<>();
    for (SampleImage s : SampleImages.load()) {
      byClass.computeIfAbsent(s.label(), k -> new ArrayList<>()).add(s);
    }
    unregistered = SampleImages.loadUnregistered();
  }

  @AfterAll
  static void close() {
    embedder.close();
  }

  /** What the method did on one task's stream, or summed over several. */
  record Outcome(
      int known,
      int prototypeCorrect,
      int tunedCorrect,
      int unknownImages,
      int prototypeRejected,
      int tunedRejected,
      int prototypeKnownRejected,
      int tunedKnownRejected,
      double prototypeConfidence,
      double tunedConfidence) {
    static final Outcome ZERO = new Outcome(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    Outcome plus(Outcome o) {
      return new Outcome(
          known + o.known,
          prototypeCorrect + o.prototypeCorrect,
          tunedCorrect + o.tunedCorrect,
          unknownImages + o.unknownImages,
          prototypeRejected + o.prototypeRejected,
          tunedRejected + o.tunedRejected,
          prototypeKnownRejected + o.prototypeKnownRejected,
          tunedKnownRejected + o.tunedKnownRejected,
          prototypeConfidence + o.prototypeConfidence,
          tunedConfidence + o.tunedConfidence);
    }

    /** Points of accuracy the fine-tuned snapshot gains over the prototype snapshot. */
    double gain() {
      return (tunedCorrect - prototypeCorrect) * 100.0 / known;
    }

    /** |mean top probability - accuracy| of the fine-tuned snapshot on the known queries. */
    double tunedGap() {
      return Math.abs(tunedConfidence - tunedCorrect) / known;
    }
  }

  /** Every task's outcome, and the sum. */
  record Result(List<Outcome> tasks, Outcome total) {
    /** The gain per task, in points; each task counts once, whatever its number of queries. */
    Interval gain() {
      return Interval.of(tasks.stream().mapToDouble(Outcome::gain).toArray());
    }

    /** The fine-tuned snapshot's gap per task; each task counts once. */
    Interval tunedGap() {
      return Interval.of(tasks.stream().mapToDouble(Outcome::tunedGap).toArray());
    }
  }

  /** The method's outcome on the tasks, computed once for the tests of this class. */
  private Result result() throws InterruptedException {
    if (result == null) {
      result = run(METHOD);
      Outcome o = result.total();
      System.out.println(METHOD + " " + o);
      System.out.printf(
          "%s: fine-tuned minus prototype snapshot, points per task: %+.2f +- %.2f (95%%, %d"
              + " tasks); mean top probability / accuracy on the known queries: prototype"
              + " snapshot %.3f / %.3f, fine-tuned %.3f / %.3f; fine-tuned task gap %.3f +-"
              + " %.3f%n",
          METHOD, result.gain().mean(), result.gain().ci95(), TASKS,
          o.prototypeConfidence() / o.known(), o.prototypeCorrect() / (double) o.known(),
          o.tunedConfidence() / o.known(), o.tunedCorrect() / (double) o.known(),
          result.tunedGap().mean(), result.tunedGap().ci95());
    }
    return result;
  }

  /**
   * Most images of the unregistered class come back unknown, from the prototype snapshot and the
   * fine-tuned one alike, while the known queries are still mostly accepted. Asserted: at least
   * 75% of the 2,400 Bag images rejected (measured 86.8%), at most 10% of the 7,990 known queries
   * rejected (the threshold is set to accept 95% of the support's leave-one-out scores; measured
   * 5.5%). Both snapshots measure against the support prototypes with the same threshold rule, so
   * they reject the same images. Fails without a threshold (a snapshot without one accepts every
   * image: 0% rejected), and with a threshold that rejects everything (100% of the known queries
   * rejected).
   */
  @Test
  void shouldAnswerMostImagesOfAnUnregisteredClassUnknown() throws InterruptedException {
    Outcome o = result().total();
    assertThat(o.prototypeRejected()).as("Bag images rejected by the prototype snapshot")
        .isGreaterThanOrEqualTo(ratio(o.unknownImages(), 0.75));
    assertThat(o.tunedRejected()).as("Bag images rejected by the fine-tuned snapshot")
        .isGreaterThanOrEqualTo(ratio(o.unknownImages(), 0.75));
    assertThat(o.prototypeKnownRejected()).as("known queries rejected by the prototype snapshot")
        .isLessThanOrEqualTo(ratio(o.known(), 0.10));
    assertThat(o.tunedKnownRejected()).as("known queries rejected by the fine-tuned snapshot")
        .isLessThanOrEqualTo(ratio(o.known(), 0.10));
  }

  /**
   * Issue 11's claim for the stream: {@code robust}'s fine-tuned snapshots are no less accurate
   * than the prototype snapshots on the same known queries. Asserted on all known queries pooled,
   * as the claim reads, and, so that a loss of a point or two cannot hide behind the sum, that the
   * mean gain per task is above zero beyond its 95% interval (measured +2.14 +- 1.10). {@code
   * auto}, whose uniform marginal pulls a skewed pool's answers into the wrong classes, fails both
   * (5,541 against 5,556; -0.20 +- 1.41). The rule on evaluated pools also compares with
   * {@code inductive}, which these streams put 12 queries above {@code robust} (+2.29 against
   * +2.14 per task, within noise), so a {@code robust} whose gate sent every pool to the inductive
   * fit would pass this test; {@code BundledBackboneFewShotTest} pins {@code robust}'s accuracy per
   * pool shape to within a point, which is where such a regression of the gate shows.
   */
  @Test
  void shouldBeNoLessAccurateAfterFineTuningThanThePrototypes() throws InterruptedException {
    Result r = result();
    assertThat(r.total().tunedCorrect())
        .as("known queries right after fine-tuning, of " + r.total().known())
        .isGreaterThanOrEqualTo(r.total().prototypeCorrect());
    assertThat(r.gain().mean() - r.gain().ci95())
        .as("lower end of the 95%% interval of the gain per task, %+.2f +- %.2f points",
            r.gain().mean(), r.gain().ci95())
        .isGreaterThan(0);
  }

  /**
   * {@code robust}'s fine-tuned snapshots' probabilities mean what they say: over all known
   * queries their mean top probability is within 0.03 of how often they are right (measured 0.718
   * against 0.717), and each task's are on average within 0.07 (the task gap, measured 0.057 +-
   * 0.011). Fits without the support's temperature fail both: {@code inductive} answers 0.838 against 0.718
   * (task gap 0.119), {@code auto} 0.865 against 0.693 (0.172). Without the shrinkage of the
   * leave-one-out temperature ({@code temperaturePriorWeight} 0 in {@code
   * RobustConfig.defaults()}) the task gap is 0.077 +- 0.013, which fails the second. The two
   * intervals overlap; the bound separates the two settings because the run is deterministic
   * (fixed seed, same tasks, same fits), not by a margin that would survive another draw.
   */
  @Test
  void shouldAnswerWithProbabilitiesNearTheFineTunedSnapshotsAccuracy() throws InterruptedException {
    Result r = result();
    Outcome o = r.total();
    double accuracy = o.tunedCorrect() / (double) o.known();
    assertThat(o.tunedConfidence() / o.known())
        .as("mean top probability of the fine-tuned snapshots, right on %.3f of the known queries",
            accuracy)
        .isCloseTo(accuracy, org.assertj.core.api.Assertions.within(0.03));
    assertThat(r.tunedGap().mean()).as("mean task gap of the fine-tuned snapshots")
        .isLessThanOrEqualTo(0.07);
  }

  private static int ratio(int total, double share) {
    return (int) Math.ceil(total * share);
  }

  /**
   * Every task's stream through one topology: register each task's support, stream each task's
   * queries, fine-tune every task once, stream the same queries again.
   */
  private Result run(String method) throws InterruptedException {
    try (TopologyHarness harness =
        new TopologyHarness(
            TopologyHarness.settings(
                "open-set-" + method,
                stateDir.resolve(method),
                Map.of(FewShotConfig.FINETUNE_METHOD_CONFIG, method)),
            embedder,
            new Telemetry(new SimpleMeterRegistry(), 0),
            0)) {
      Random random = new Random(SEED);
      List<Task> tasks = new ArrayList<>();
      for (int t = 0; t < TASKS; t++) {
        tasks.add(task("shop-" + t, random));
      }
      for (Task task : tasks) {
        for (SampleImage s : task.support()) {
          harness.support.pipeInput(
              task.id(),
              codec.write(
                  new SupportEvent.AddExample(
                      1, task.id(), s.label(), s.name(), new Image(Image.PNG, s.png()), null)));
        }
      }
      Map<String, ModelSnapshot> prototypes = latest(snapshots(harness));
      assertThat(prototypes).as("a prototype snapshot of every task").hasSize(TASKS);

      Map<String, Prediction> before = classify(harness, tasks, "a-");
      for (Prediction p : before.values()) {
        assertThat(p.modelVersion()).as("no fine-tune before the wall clock moves").isEqualTo(
            prototypes.get(p.task()).version());
      }
      harness.driver.advanceWallClockTime(Duration.ofMillis(TopologyHarness.INTERVAL_MS));
      assertThat(harness.scheduler.awaitIdle(120_000)).isTrue();
      harness.driver.advanceWallClockTime(Duration.ofMillis(200));
      List<ModelSnapshot> published = snapshots(harness);
      Map<String, ModelSnapshot> tuned = latest(published);
      assertThat(published).as("one fine-tuned snapshot of each task's pool").hasSize(TASKS);
      for (ModelSnapshot m : tuned.values()) {
        assertThat(m.method()).isEqualTo(ModelSnapshot.FINE_TUNED);
      }

      Map<String, Prediction> after = classify(harness, tasks, "b-");
      List<Outcome> outcomes = new ArrayList<>();
      Outcome total = Outcome.ZERO;
      for (Task task : tasks) {
        Outcome o = Outcome.ZERO;
        for (SampleImage s : task.stream()) {
          Prediction a = before.get(task.id() + "/" + s.name());
          Prediction b = after.get(task.id() + "/" + s.name());
          assertThat(b.modelVersion()).isEqualTo(tuned.get(task.id()).version());
          o = o.plus(byClass.containsKey(s.label()) ? ofKnown(s, a, b) : ofUnregistered(a, b));
        }
        outcomes.add(o);
        total = total.plus(o);
      }
      return new Result(outcomes, total);
    }
  }

  /** One task: its support draw and its stream of known and unregistered query images. */
  record Task(String id, List<SampleImage> support, List<SampleImage> stream) {}

  /**
   * A task of the five bundled classes: {@value #SHOTS} support images of each drawn at random
   * from its 60, then {@value #KNOWN_QUERIES} queries of the others in Dirichlet({@value #ALPHA})
   * proportions, with the unregistered images mixed in.
   */
  private static Task task(String id, Random random) {
    int[] counts =
        Dirichlet.counts(Dirichlet.proportions(byClass.size(), ALPHA, random), KNOWN_QUERIES);
    List<SampleImage> support = new ArrayList<>();
    List<SampleImage> stream = new ArrayList<>(unregistered);
    int c = 0;
    for (List<SampleImage> images : byClass.values()) {
      List<SampleImage> shuffled = new ArrayList<>(images);
      Collections.shuffle(shuffled, random);
      support.addAll(shuffled.subList(0, SHOTS));
      stream.addAll(
          shuffled.subList(SHOTS, Math.min(SHOTS + counts[c++], shuffled.size())));
    }
    Collections.shuffle(stream, random);
    return new Task(id, support, stream);
  }

  private static Outcome ofKnown(SampleImage s, Prediction a, Prediction b) {
    return new Outcome(
        1,
        a.label().equals(s.label()) ? 1 : 0,
        b.label().equals(s.label()) ? 1 : 0,
        0,
        0,
        0,
        a.unknown() ? 1 : 0,
        b.unknown() ? 1 : 0,
        a.probability(),
        b.probability());
  }

  private static Outcome ofUnregistered(Prediction a, Prediction b) {
    return new Outcome(0, 0, 0, 1, a.unknown() ? 1 : 0, b.unknown() ? 1 : 0, 0, 0, 0, 0);
  }

  /** Each task's last snapshot. */
  private static Map<String, ModelSnapshot> latest(List<ModelSnapshot> snapshots) {
    Map<String, ModelSnapshot> out = new LinkedHashMap<>();
    for (ModelSnapshot m : snapshots) {
      out.put(m.task(), m);
    }
    return out;
  }

  /**
   * Sends every task's stream as queries (ids prefixed) and reads the predictions by task and
   * image name.
   */
  private Map<String, Prediction> classify(
      TopologyHarness harness, List<Task> tasks, String prefix) {
    int sent = 0;
    for (Task task : tasks) {
      for (SampleImage s : task.stream()) {
        harness.queries.pipeInput(
            task.id(),
            codec.write(
                new QueryEvent(
                    1, task.id(), prefix + s.name(), new Image(Image.PNG, s.png()), null,
                    null)));
        sent++;
      }
    }
    Map<String, Prediction> out = new LinkedHashMap<>();
    for (byte[] value : harness.predictions.readValuesToList()) {
      Prediction p = codec.readPrediction(value);
      out.put(p.task() + "/" + p.queryId().substring(prefix.length()), p);
    }
    assertThat(out).hasSize(sent);
    return out;
  }

  private List<ModelSnapshot> snapshots(TopologyHarness harness) {
    return harness.models.readValuesToList().stream().map(codec::readSnapshot).toList();
  }
}
