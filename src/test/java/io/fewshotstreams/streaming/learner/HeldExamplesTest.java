package io.fewshotstreams.streaming.learner;

import static io.fewshotstreams.streaming.learner.LearnerRig.installFinished;
import static io.fewshotstreams.streaming.learner.LearnerRig.near;
import static io.fewshotstreams.streaming.learner.LearnerRig.snapshots;
import static io.fewshotstreams.streaming.learner.LearnerRig.startDue;
import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.fewshot.Methods;
import io.fewshotstreams.fewshot.RobustConfig;
import io.fewshotstreams.streaming.Routed;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.junit.jupiter.api.Test;

/**
 * A fine-tuned snapshot keeps answering through new examples of its classes
 * ({@code fewshot.finetune.keep.on.add}), and a fine-tune installs over such held examples; every
 * other support change publishes prototypes at once.
 */
class HeldExamplesTest {
  private static final String TASK = "t";
  private final Random random = new Random(7);

  /** A learner of {@code TASK} with 2 classes of 3 examples, fine-tuned once (snapshot v7). */
  private static MockProcessorContext<String, Routed> fineTuned(LearnerRig rig, Learner learner)
      throws InterruptedException {
    MockProcessorContext<String, Routed> context = rig.open();
    learner.init(context);
    rig.register(learner, TASK, 2, 3);
    tune(rig, context);
    assertThat(snapshots(context, ModelSnapshot.FINE_TUNED))
        .extracting(ModelSnapshot::version)
        .containsExactly(7L);
    return context;
  }

  private static void tune(LearnerRig rig, MockProcessorContext<String, Routed> context)
      throws InterruptedException {
    startDue(context);
    rig.awaitIdle();
    installFinished(context);
  }

  /**
   * A learner fine-tuned once, then given a held example of class-0: its second fine-tune is
   * running, held by {@link #secondHeldAt}'s gate.
   */
  private MockProcessorContext<String, Routed> secondTuneRunning(
      LearnerRig rig, Learner learner, CountDownLatch started) throws InterruptedException {
    MockProcessorContext<String, Routed> context = fineTuned(rig, learner);
    rig.add(learner, TASK, "class-0", "new-0", near(0, random));
    startDue(context);
    assertThat(started.await(20, TimeUnit.SECONDS)).as("the second fine-tune started").isTrue();
    return context;
  }

  /** Fine-tunes for real, the second one only once {@code gate} opens. */
  private static FineTunes.Tuner secondHeldAt(CountDownLatch gate, CountDownLatch started) {
    return (m, s, u) -> {
      started.countDown();
      try {
        if (started.getCount() == 0 && !gate.await(20, TimeUnit.SECONDS)) {
          throw new AssertionError("the test never opened the gate");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
      return Methods.fineTune(m, s, u);
    };
  }

  private static List<Long> versions(MockProcessorContext<String, Routed> context, String method) {
    return snapshots(context, method).stream().map(ModelSnapshot::version).toList();
  }

  // Bug it catches: each promoted feedback example published a prototype snapshot over the
  // fine-tuned one, so on a stream with feedback most queries were answered by prototypes, points
  // below the fine-tuned classifier at a few dozen examples a class.
  @Test
  void shouldKeepTheFineTunedSnapshotThroughNewExamplesOfItsClasses() throws Exception {
    try (LearnerRig rig = new LearnerRig()) {
      Learner learner = rig.learner(LearnerRig.settings(), Methods::fineTune);
      MockProcessorContext<String, Routed> context = fineTuned(rig, learner);

      rig.add(learner, TASK, "class-0", "new-0", near(0, random));
      rig.add(learner, TASK, "class-1", "new-1", near(1, random));
      assertThat(versions(context, ModelSnapshot.PROTOTYPES))
          .as("no prototype snapshot after the held examples")
          .containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
      assertThat(rig.tasks.get(TASK).needsFineTune()).isTrue();

      tune(rig, context);
      List<ModelSnapshot> tuned = snapshots(context, ModelSnapshot.FINE_TUNED);
      assertThat(tuned).extracting(ModelSnapshot::version).containsExactly(7L, 8L);
      assertThat(tuned.get(1).supportExamples()).as("the held examples taken in").isEqualTo(8);
      assertThat(tuned.get(1).classes())
          .extracting(ModelSnapshot.ClassWeights::examples)
          .containsExactly(4, 4);

      rig.add(learner, TASK, "class-2", "first-2", near(2, random));
      assertThat(versions(context, ModelSnapshot.PROTOTYPES))
          .as("a new class publishes prototypes at once")
          .endsWith(9L);
      rig.add(learner, TASK, "class-0", "after-prototypes", near(0, random));
      assertThat(versions(context, ModelSnapshot.PROTOTYPES))
          .as("an example is held only while a fine-tuned snapshot answers")
          .endsWith(9L, 10L);
    }
  }

  // Bug it catches: a fine-tune was dropped as stale when any support change came during it, so
  // under promoted feedback arriving faster than a fine-tune runs none ever installed.
  @Test
  void shouldInstallAFineTuneThatFinishedAfterHeldExamples() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(2);
    try (LearnerRig rig = new LearnerRig()) {
      Learner learner = rig.learner(LearnerRig.settings(), secondHeldAt(gate, started));
      MockProcessorContext<String, Routed> context = secondTuneRunning(rig, learner, started);
      rig.add(learner, TASK, "class-1", "during", near(1, random));
      gate.countDown();
      rig.awaitIdle();
      installFinished(context);

      List<ModelSnapshot> tuned = snapshots(context, ModelSnapshot.FINE_TUNED);
      assertThat(tuned).extracting(ModelSnapshot::version).containsExactly(7L, 8L);
      assertThat(tuned.get(1).supportExamples()).as("tuned before 'during'").isEqualTo(7);
      assertThat(rig.tasks.get(TASK).needsFineTune()).as("'during' is still to take in").isTrue();
      tune(rig, context);
      assertThat(snapshots(context, ModelSnapshot.FINE_TUNED).get(2).supportExamples())
          .isEqualTo(8);
    }
  }

  // Bug it catches: a removal held like an add (or a stale fine-tune installed over the prototype
  // snapshot that removed it) would keep a wrong example answering until the next fine-tune.
  @Test
  void shouldPublishARemovalAtOnceAndDropAFineTuneThatStartedBeforeIt() throws Exception {
    CountDownLatch gate = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(2);
    try (LearnerRig rig = new LearnerRig()) {
      Learner learner = rig.learner(LearnerRig.settings(), secondHeldAt(gate, started));
      MockProcessorContext<String, Routed> context = secondTuneRunning(rig, learner, started);
      rig.remove(learner, TASK, "e-0-0");
      assertThat(versions(context, ModelSnapshot.PROTOTYPES))
          .as("the removal published at once")
          .endsWith(6L, 8L);
      gate.countDown();
      rig.awaitIdle();
      installFinished(context);
      assertThat(versions(context, ModelSnapshot.FINE_TUNED))
          .as("the fine-tune that still had e-0-0 is not installed")
          .containsExactly(7L);
    }
  }

  // Bug it catches: a task whose next fine-tune fails (or is given up) kept its held examples out
  // of every snapshot, serving the old fine-tuned one until some later fine-tune succeeded.
  @Test
  void shouldPublishPrototypesOfHeldExamplesWhenTheFineTuneFails() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    try (LearnerRig rig = new LearnerRig()) {
      Learner learner =
          rig.learner(
              LearnerRig.settings(),
              (m, s, u) -> {
                if (calls.incrementAndGet() == 2) {
                  throw new IllegalStateException("test: the second fine-tune fails");
                }
                return Methods.fineTune(m, s, u);
              });
      MockProcessorContext<String, Routed> context = fineTuned(rig, learner);
      rig.add(learner, TASK, "class-0", "new-0", near(0, random));
      assertThat(versions(context, ModelSnapshot.PROTOTYPES)).endsWith(6L);
      tune(rig, context);

      assertThat(calls.get()).isEqualTo(2);
      List<ModelSnapshot> prototypes = snapshots(context, ModelSnapshot.PROTOTYPES);
      assertThat(prototypes).extracting(ModelSnapshot::version).endsWith(6L, 8L);
      assertThat(prototypes.get(prototypes.size() - 1).supportExamples())
          .as("the held example is in the snapshot that answers now")
          .isEqualTo(7);
      rig.add(learner, TASK, "class-1", "next", near(1, random));
      assertThat(versions(context, ModelSnapshot.PROTOTYPES))
          .as("with prototypes answering, the next example publishes at once")
          .endsWith(8L, 9L);
    }
  }

  // Bug it catches: a promotion sent again (the joiner re-sends it on duplicate feedback, and a
  // replay after a crash does too) replaced the fine-tuned snapshot with prototypes, as a relabel
  // must; within its class it is held like a new example.
  @Test
  void shouldHoldAnExampleSentAgainButPublishARelabel() throws Exception {
    try (LearnerRig rig = new LearnerRig()) {
      Learner learner = rig.learner(LearnerRig.settings(), Methods::fineTune);
      MockProcessorContext<String, Routed> context = fineTuned(rig, learner);
      float[] feature = near(0, random);
      rig.add(learner, TASK, "class-0", "promoted", feature);
      rig.add(learner, TASK, "class-0", "promoted", feature);
      assertThat(versions(context, ModelSnapshot.PROTOTYPES)).endsWith(6L);
      rig.add(learner, TASK, "class-1", "promoted", feature);
      assertThat(versions(context, ModelSnapshot.PROTOTYPES))
          .as("a relabel publishes at once")
          .endsWith(6L, 8L);
    }
  }

  // Bug it catches: a task restarted with fewshot.finetune.method=prototypes kept the examples
  // held under its old fine-tuned snapshot out of every snapshot, and held each new one too.
  @Test
  void shouldPublishHeldExamplesAfterARestartWithPrototypes() throws Exception {
    try (LearnerRig rig = new LearnerRig()) {
      Learner tuning = rig.learner(LearnerRig.settings(), Methods::fineTune);
      fineTuned(rig, tuning);
      rig.add(tuning, TASK, "class-0", "held", near(0, random));
      tuning.close();

      Learner prototypes = rig.learner(settings(Methods.PROTOTYPES, true), Methods::fineTune);
      MockProcessorContext<String, Routed> context = rig.open();
      prototypes.init(context);
      tune(rig, context);
      List<ModelSnapshot> published = snapshots(context, ModelSnapshot.PROTOTYPES);
      assertThat(published).extracting(ModelSnapshot::version).containsExactly(8L);
      assertThat(published.get(0).supportExamples()).isEqualTo(7);
      rig.add(prototypes, TASK, "class-1", "next", near(1, random));
      assertThat(versions(context, ModelSnapshot.PROTOTYPES)).containsExactly(8L, 9L);
    }
  }

  private static Learner.Settings settings(String method, boolean keepOnAdd) {
    Learner.Settings s = LearnerRig.settings();
    return new Learner.Settings(
        s.backboneId(),
        s.featureSize(),
        s.maxExamplesPerClass(),
        s.maxClassesPerTask(),
        s.poolSize(),
        method,
        s.fineTuneIntervalMs(),
        s.fineTuneMaxExamplesPerClass(),
        s.fineTuneMaxBytes(),
        s.maxSnapshotBytes(),
        s.robust(),
        keepOnAdd);
  }

  // Bug it catches: the setting ignored, so a user who needs every example answered at once could
  // not have it.
  @Test
  void shouldPublishPrototypesForEveryExampleWhenKeepOnAddIsOff() throws Exception {
    try (LearnerRig rig = new LearnerRig()) {
      Learner learner = rig.learner(settings(Methods.INDUCTIVE, false), Methods::fineTune);
      MockProcessorContext<String, Routed> context = fineTuned(rig, learner);
      rig.add(learner, TASK, "class-0", "new-0", near(0, random));
      assertThat(versions(context, ModelSnapshot.PROTOTYPES)).endsWith(6L, 8L);
    }
  }
}
