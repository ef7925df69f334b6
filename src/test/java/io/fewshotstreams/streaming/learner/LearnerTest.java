package io.fewshotstreams.streaming.learner;

import static io.fewshotstreams.streaming.learner.LearnerRig.installFinished;
import static io.fewshotstreams.streaming.learner.LearnerRig.snapshots;
import static io.fewshotstreams.streaming.learner.LearnerRig.startDue;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.fewshot.FineTuneResult;
import io.fewshotstreams.fewshot.Methods;
import io.fewshotstreams.fewshot.RobustConfig;
import io.fewshotstreams.fewshot.SupportSet;
import io.fewshotstreams.streaming.Routed;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.streams.errors.TaskMigratedException;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;

/**
 * The learner's faults: re-initialisation by Kafka Streams, fine-tunes that throw or would not fit
 * in memory, snapshots that would not fit in the models topic, and Kafka's own exceptions.
 */
class LearnerTest {
  private static final String TASK = "t";

  /** Counts the fine-tunes and holds each until the gate opens. */
  private static final class GatedTuner implements FineTunes.Tuner {
    final CountDownLatch gate = new CountDownLatch(1);
    final AtomicInteger calls = new AtomicInteger();
    final List<SupportSet> seen = Collections.synchronizedList(new ArrayList<>());

    @Override
    public FineTuneResult tune(String method, SupportSet support, float[][] unlabelled) {
      calls.incrementAndGet();
      seen.add(support);
      try {
        if (!gate.await(20, TimeUnit.SECONDS)) {
          throw new AssertionError("the test never opened the gate");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
      return Methods.fineTune(method, support, unlabelled);
    }

    void awaitCalls(int n) throws InterruptedException {
      long deadline = System.currentTimeMillis() + 20_000;
      while (calls.get() < n) {
        if (System.currentTimeMillis() > deadline) {
          throw new AssertionError("expected " + n + " fine-tunes to start, found " + calls.get());
        }
        Thread.sleep(5);
      }
    }
  }

  // Bug: Kafka Streams re-initialises the same processor after closing a corrupted task; a learner
  // that kept its "closed" flag or its in-flight set never fine-tuned those tasks again.
  @Test
  void shouldFineTuneAgainWhenKafkaStreamsClosesAndReinitialisesTheSameLearner() throws Exception {
    GatedTuner tuner = new GatedTuner();
    try (LearnerRig rig = new LearnerRig()) {
      Learner learner = rig.learner(LearnerRig.settings(), tuner);
      MockProcessorContext<String, Routed> first = rig.open();
      learner.init(first);
      rig.register(learner, TASK, 2, 3);
      rig.register(learner, "u", 2, 3);
      startDue(first);
      tuner.awaitCalls(1); // one fine-tune runs, held at the gate; the other waits in the queue
      assertThat(learner.fineTunes().inFlight()).containsExactlyInAnyOrder(TASK, "u");

      learner.close();
      MockProcessorContext<String, Routed> second = rig.open();
      learner.init(second);
      assertThat(learner.fineTunes().inFlight()).as("nothing in flight after re-init").isEmpty();
      startDue(second);
      assertThat(learner.fineTunes().inFlight())
          .as("both tasks fine-tuned again by the new incarnation")
          .containsExactlyInAnyOrder(TASK, "u");

      tuner.gate.countDown();
      rig.awaitIdle();
      installFinished(first); // a punctuation of the closed incarnation, had it survived
      installFinished(second);

      assertThat(snapshots(first, ModelSnapshot.FINE_TUNED))
          .as("the closed incarnation installs nothing")
          .isEmpty();
      List<ModelSnapshot> tuned = snapshots(second, ModelSnapshot.FINE_TUNED);
      assertThat(tuned).extracting(ModelSnapshot::task).containsExactlyInAnyOrder(TASK, "u");
      // Six prototype snapshots per task came before (one per example): the fine-tuned one is v7,
      // once; the late result of the closed incarnation did not add a second.
      assertThat(tuned).extracting(ModelSnapshot::version).containsOnly(7L);
      assertThat(learner.fineTunes().inFlight()).isEmpty();
      // The held fine-tune of the first incarnation ran, the queued one saw it was closed and did
      // not; the second incarnation's two ran.
      assertThat(tuner.calls.get()).isEqualTo(3);
    }
  }

  // Bug: the punctuator had no guard: a support set of mixed feature sizes (examples stored under
  // another backbone) threw on the stream thread, which was replaced and punctuated again.
  @Test
  void shouldGiveUpATaskWhoseExamplesHaveMixedFeatureSizesAndStillTuneTheOthers()
      throws Exception {
    try (LearnerRig rig = new LearnerRig()) {
      AtomicInteger calls = new AtomicInteger();
      Learner learner =
          rig.learner(
              LearnerRig.settings(),
              (m, s, u) -> {
                calls.incrementAndGet();
                return Methods.fineTune(m, s, u);
              });
      MockProcessorContext<String, Routed> context = rig.open();
      learner.init(context);
      rig.register(learner, TASK, 2, 3);
      rig.register(learner, "healthy", 2, 3);
      // An example left by a backbone of another feature size.
      rig.examples.put(TASK + '\u0000' + "old", new StoredExample("class-0", new float[] {1, 0}));

      startDue(context);
      rig.awaitIdle();
      installFinished(context);

      assertThat(snapshots(context, ModelSnapshot.FINE_TUNED))
          .extracting(ModelSnapshot::task)
          .containsExactly("healthy");
      assertThat(rig.failedFineTunes()).isEqualTo(1.0);
      assertThat(rig.tasks.get(TASK).needsFineTune())
          .as("given up until its data changes")
          .isFalse();

      startDue(context); // the next punctuation does not try it again
      rig.awaitIdle();
      assertThat(rig.failedFineTunes()).isEqualTo(1.0);
      assertThat(calls.get()).isEqualTo(1);
    }
  }

  // Bug: an example whose class had no sum gave a null class index and an exception in the
  // punctuator.
  @Test
  void shouldGiveUpATaskWithAnExampleOfNoClass() throws Exception {
    try (LearnerRig rig = new LearnerRig()) {
      Learner learner = rig.learner(LearnerRig.settings(), Methods::fineTune);
      MockProcessorContext<String, Routed> context = rig.open();
      learner.init(context);
      rig.register(learner, TASK, 2, 3);
      rig.examples.put(
          TASK + '\u0000' + "orphan",
          new StoredExample("no-such-class", LearnerRig.near(0, new Random(1))));

      startDue(context);

      assertThat(rig.failedFineTunes()).isEqualTo(1.0);
      assertThat(learner.fineTunes().inFlight()).isEmpty();
      assertThat(rig.tasks.get(TASK).needsFineTune()).isFalse();
    }
  }

  // Bug: a job caught only RuntimeException; an Error (out of memory) left the task in flight for
  // ever, so it was never fine-tuned again.
  @Test
  void shouldFreeTheTaskWhenItsFineTuneThrowsAnError() throws Exception {
    try (LearnerRig rig = new LearnerRig()) {
      AtomicInteger calls = new AtomicInteger();
      Learner learner =
          rig.learner(
              LearnerRig.settings(),
              (m, s, u) -> {
                if (calls.incrementAndGet() == 1) {
                  throw new OutOfMemoryError("test: the heap is full");
                }
                return Methods.fineTune(m, s, u);
              });
      MockProcessorContext<String, Routed> context = rig.open();
      learner.init(context);
      rig.register(learner, TASK, 2, 3);

      startDue(context);
      rig.awaitIdle();
      installFinished(context);
      assertThat(learner.fineTunes().inFlight()).isEmpty();
      assertThat(rig.failedFineTunes()).isEqualTo(1.0);
      assertThat(rig.tasks.get(TASK).needsFineTune()).isFalse();

      rig.add(learner, TASK, "class-1", "more", LearnerRig.near(1, new Random(2)));
      startDue(context);
      rig.awaitIdle();
      installFinished(context);
      assertThat(calls.get()).as("the fine-tuning thread lived on").isEqualTo(2);
      assertThat(snapshots(context, ModelSnapshot.FINE_TUNED)).hasSize(1);
    }
  }

  // Bug: fine-tuning took every example of every class (1,000 x 500 at the default limits: ~10
  // GB); classes are now subsampled to fewshot.finetune.max.examples.per.class.
  @Test
  void shouldFineTuneOnASubsampleOfLargeClasses() throws Exception {
    GatedTuner tuner = new GatedTuner();
    tuner.gate.countDown();
    try (LearnerRig rig = new LearnerRig()) {
      Learner.Settings s = LearnerRig.settings();
      Learner learner =
          rig.learner(
              new Learner.Settings(
                  s.backboneId(), s.featureSize(), 500, 1000, 100, Methods.INDUCTIVE, 1_000, 2,
                  256L << 20, 1L << 20, RobustConfig.defaults(), true),
              tuner);
      MockProcessorContext<String, Routed> context = rig.open();
      learner.init(context);
      rig.register(learner, TASK, 3, 5);

      startDue(context);
      rig.awaitIdle();
      installFinished(context);

      assertThat(tuner.seen).hasSize(1);
      assertThat(tuner.seen.get(0).counts()).as("2 of each class's 5").containsExactly(2, 2, 2);
      ModelSnapshot tuned = snapshots(context, ModelSnapshot.FINE_TUNED).get(0);
      assertThat(tuned.supportExamples()).isEqualTo(6);
    }
  }

  // Refusal: a task too big even at one example per class is not fine-tuned, once, with a count.
  @Test
  void shouldRefuseATaskTooBigToFineTuneWithoutTryingAgain() throws Exception {
    try (LearnerRig rig = new LearnerRig()) {
      AtomicInteger calls = new AtomicInteger();
      Learner.Settings s = LearnerRig.settings();
      // 3 classes of 8 features at one example each: 3 * (64 + 8 + 60) + 28 * 24 = 1,068 bytes.
      long tooSmall = 1_000;
      Learner learner =
          rig.learner(
              new Learner.Settings(
                  s.backboneId(), s.featureSize(), 500, 1000, 100, Methods.INDUCTIVE, 1_000, 100,
                  tooSmall, 1L << 20, RobustConfig.defaults(), true),
              (m, st, u) -> {
                calls.incrementAndGet();
                return Methods.fineTune(m, st, u);
              });
      MockProcessorContext<String, Routed> context = rig.open();
      learner.init(context);
      rig.register(learner, TASK, 3, 2);

      startDue(context);
      startDue(context);
      rig.awaitIdle();

      assertThat(calls.get()).isZero();
      assertThat(rig.failedFineTunes()).isEqualTo(1.0);
      assertThat(learner.fineTunes().inFlight()).isEmpty();
    }
  }

  /** A context whose first forward fails with {@code failure}, as Kafka Streams' would. */
  private static final class FailingForward extends MockProcessorContext<String, Routed> {
    private RuntimeException failure;

    FailingForward(RuntimeException failure) {
      this.failure = failure;
    }

    @Override
    public <K extends String, V extends Routed> void forward(Record<K, V> record) {
      RuntimeException e = failure;
      failure = null;
      if (e != null) {
        throw e;
      }
      super.forward(record);
    }
  }

  // Bug: process() turned every RuntimeException into a dead letter, Kafka Streams' own too, so a
  // migrated task went on as if it still owned its partition.
  @Test
  void shouldLetKafkaStreamsOwnExceptionsThrough() {
    for (RuntimeException failure :
        List.of(
            new TaskMigratedException("test: the task moved", new RuntimeException("cause")),
            new ProducerFencedException("test: fenced"))) {
      try (LearnerRig rig = new LearnerRig()) {
        Learner learner = rig.learner(LearnerRig.settings(), Methods::fineTune);
        FailingForward context = rig.open(new FailingForward(failure));
        learner.init(context);
        assertThatThrownBy(
                () -> rig.add(learner, TASK, "class-0", "e", LearnerRig.near(0, new Random(3))))
            .isSameAs(failure);
        assertThat(LearnerRig.deadLetters(context)).isEmpty();
      }
    }
  }

  // Bug: a 400-class task grew a snapshot over the producer's 1 MB; the send failed in the
  // transaction and the record was replayed for ever. Now a class that might not fit is refused
  // before anything is sent, with a dead letter that says why, and the next record is served.
  @Test
  void shouldRefuseANewClassWhoseSnapshotMightNotFitAndServeTheNextRecord() {
    try (LearnerRig rig = new LearnerRig()) {
      Learner.Settings s = LearnerRig.settings();
      // Room for the fixed part and 3 classes of 8 features with short labels, not 4.
      long limit =
          SnapshotSize.fixedBytes(TASK, LearnerRig.BACKBONE)
              + 3 * SnapshotSize.classBytes("class-0", LearnerRig.D);
      Learner learner =
          rig.learner(
              new Learner.Settings(
                  s.backboneId(), s.featureSize(), 500, 1000, 100, Methods.INDUCTIVE, 1_000, 100,
                  256L << 20, limit, RobustConfig.defaults(), true),
              Methods::fineTune);
      MockProcessorContext<String, Routed> context = rig.open();
      learner.init(context);
      rig.register(learner, TASK, 3, 1);
      Random random = new Random(4);
      rig.add(learner, TASK, "class-3", "e-3-0", LearnerRig.near(3, random));
      rig.add(learner, TASK, "class-0", "e-0-1", LearnerRig.near(0, random));

      List<DeadLetter> dead = LearnerRig.deadLetters(context);
      assertThat(dead).hasSize(1);
      assertThat(dead.get(0).reason()).isEqualTo(DeadLetterReason.TASK_FULL);
      assertThat(dead.get(0).id()).isEqualTo("e-3-0");
      assertThat(dead.get(0).message())
          .contains("to fit in " + limit + " bytes")
          .contains("class 'class-3'")
          .contains("4 classes of 8 weights could take up to");
      assertThat(rig.classes.get(TASK + '\u0000' + "class-3")).as("class not created").isNull();
      List<ModelSnapshot> published = snapshots(context, ModelSnapshot.PROTOTYPES);
      ModelSnapshot last = published.get(published.size() - 1);
      assertThat(last.version()).as("the next example was served").isEqualTo(4);
      assertThat(last.supportExamples()).isEqualTo(4);
      for (ModelSnapshot snapshot : published) {
        assertThat((long) rig.codec.write(snapshot).length).isLessThanOrEqualTo(limit);
      }
    }
  }

  // A task made under a larger limit: a delete still applies, and while its snapshot does not fit
  // it is withheld with a dead letter rather than sent; once it fits it is published again.
  @Test
  void shouldApplyADeleteOfAnOversizedTaskAndWithholdItsSnapshotUntilItFits() {
    try (LearnerRig rig = new LearnerRig()) {
      Learner.Settings s = LearnerRig.settings();
      Learner large = rig.learner(s, Methods::fineTune);
      MockProcessorContext<String, Routed> before = rig.open();
      large.init(before);
      rig.register(large, TASK, 6, 1);
      large.close();

      // Room for the task's two-class snapshot (v2, the same numbers as once the others are
      // deleted; a two-digit version takes one byte more), not for more classes.
      ModelSnapshot twoClasses = snapshots(before, ModelSnapshot.PROTOTYPES).get(1);
      assertThat(twoClasses.classes()).hasSize(2);
      long limit = rig.codec.write(twoClasses).length + 1;
      Learner small =
          rig.learner(
              new Learner.Settings(
                  s.backboneId(), s.featureSize(), 500, 1000, 100, Methods.INDUCTIVE, 1_000, 100,
                  256L << 20, limit, RobustConfig.defaults(), true),
              Methods::fineTune);
      MockProcessorContext<String, Routed> context = rig.open();
      small.init(context);
      for (int c = 5; c >= 2; c--) {
        rig.deleteClass(small, TASK, "class-" + c);
      }

      assertThat(rig.classes.get(TASK + '\u0000' + "class-5")).as("the delete applied").isNull();
      List<DeadLetter> dead = LearnerRig.deadLetters(context);
      assertThat(dead).as("one for each of 5, 4 and 3 classes left").hasSize(3);
      assertThat(dead.get(0).reason()).isEqualTo(DeadLetterReason.TASK_FULL);
      assertThat(dead.get(0).message())
          .startsWith("the change was applied, but expected the prototypes snapshot v7")
          .contains("to fit in " + limit + " bytes")
          .contains("for its 5 classes");
      List<ModelSnapshot> published = snapshots(context, ModelSnapshot.PROTOTYPES);
      assertThat(published).as("published once it fits").hasSize(1);
      assertThat(published.get(0).classes()).hasSize(2);
      assertThat(published.get(0).version()).isEqualTo(10);
      assertThat((long) rig.codec.write(published.get(0)).length).isLessThanOrEqualTo(limit);
    }
  }
}
