package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.fewshot.ClassSum;
import io.fewshotstreams.streaming.learner.TaskState;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.nio.ByteBuffer;
import java.util.List;
import org.apache.kafka.common.serialization.Serde;
import org.junit.jupiter.api.Test;

class InternalSerdesTest {
  private static final Origin ORIGIN = new Origin("fewshot-support", 2, 41, 1_700_000_000_000L, "k", 2048);

  @Test
  void shouldCarryEveryLearnerInputThroughTheRepartitionTopicUnchanged() {
    Serde<LearnerInput> serde = InternalSerdes.learnerInput();
    float[] feature = {0.6f, -0.8f, Float.MIN_VALUE};
    LearnerInput.Add add = new LearnerInput.Add("tâsk", "Coat", "e-1", feature, ORIGIN);
    LearnerInput.Add addBack = (LearnerInput.Add) roundTrip(serde, add);
    assertThat(addBack.task()).isEqualTo("tâsk");
    assertThat(addBack.feature()).containsExactly(feature);
    assertThat(addBack.origin()).isEqualTo(ORIGIN);
    assertThat(roundTrip(serde, new LearnerInput.Remove("t", "e-1", ORIGIN)))
        .isEqualTo(new LearnerInput.Remove("t", "e-1", ORIGIN));
    assertThat(roundTrip(serde, new LearnerInput.DeleteClass("t", "Coat", ORIGIN)))
        .isEqualTo(new LearnerInput.DeleteClass("t", "Coat", ORIGIN));
    LearnerInput.PoolQuery pooled =
        (LearnerInput.PoolQuery) roundTrip(serde, new LearnerInput.PoolQuery("t", feature));
    assertThat(pooled.feature()).containsExactly(feature);
  }

  @Test
  void shouldKeepOriginsWithoutAKey() {
    Origin keyless = new Origin("q", 0, 0, 0, null, 0);
    LearnerInput.Remove back =
        (LearnerInput.Remove)
            roundTrip(InternalSerdes.learnerInput(), new LearnerInput.Remove("t", "e", keyless));
    assertThat(back.origin().key()).isNull();
  }

  @Test
  void shouldStoreSnapshotsClassSumsAndTaskStateExactly() {
    ModelSnapshot snapshot =
        new ModelSnapshot(
            1,
            "t",
            7,
            ModelSnapshot.FINE_TUNED,
            "transductive",
            "b",
            2,
            15f,
            List.of(new ModelSnapshot.ClassWeights("A", 3, new float[] {1, 0}, 0.25f)),
            3,
            40,
            123L,
            0.25,
            12.5);
    assertThat(roundTrip(InternalSerdes.snapshot(), snapshot)).isEqualTo(snapshot);
    ClassSum sums = ClassSum.of(2, new double[] {0.1, 1e-17});
    ClassSum sumsBack = roundTrip(InternalSerdes.classSum(), sums);
    assertThat(sumsBack.count()).isEqualTo(2);
    assertThat(sumsBack.sum()).containsExactly(0.1, 1e-17);
    TaskState state = new TaskState(5, 4, 3, 2, 1, 0, 3, true);
    assertThat(roundTrip(InternalSerdes.taskState(), state)).isEqualTo(state);
  }

  /**
   * A task's bookkeeping written before the last two fields existed still restores, as published
   * with prototypes at its support changes. Catches a reader that needs the new fields (an
   * EOFException on every old changelog record) or defaults them to "fine-tuned" or 0 (which would
   * let a stale fine-tune replace a newer prototype snapshot).
   */
  @Test
  void shouldReadATaskStateWrittenBeforeItsLastTwoFields() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    out.writeByte(1);
    out.writeLong(5);
    out.writeLong(4);
    out.writeLong(3);
    out.writeInt(2);
    out.writeLong(1);
    out.writeLong(0);
    assertThat(InternalSerdes.taskState().deserializer().deserialize("t", bytes.toByteArray()))
        .isEqualTo(new TaskState(5, 4, 3, 2, 1, 0, 4, false));
  }

  /**
   * The {@code fewshot-classes} changelog written before the class sum moved to the few-shot
   * package must still restore: format byte 1, the count, the dimension, then big-endian doubles.
   * Catches any change of that layout, e.g. floats instead of doubles or the fields reordered.
   */
  @Test
  void shouldKeepTheClassSumLayoutOfExistingChangelogs() {
    ByteBuffer expected = ByteBuffer.allocate(1 + 4 + 4 + 2 * Double.BYTES);
    expected.put((byte) 1).putInt(2).putInt(2).putDouble(0.1).putDouble(1e-17);
    byte[] written =
        InternalSerdes.classSum()
            .serializer()
            .serialize("t", ClassSum.of(2, new double[] {0.1, 1e-17}));
    assertThat(written).containsExactly(expected.array());
    assertThat(InternalSerdes.classSum().deserializer().deserialize("t", expected.array()))
        .isEqualTo(ClassSum.of(2, new double[] {0.1, 1e-17}));
  }

  @Test
  void shouldReadASnapshotStoredBeforeTheTrainingFieldsExisted() {
    ModelSnapshot snapshot =
        new ModelSnapshot(
            1,
            "t",
            3,
            ModelSnapshot.PROTOTYPES,
            null,
            "b",
            2,
            15f,
            List.of(new ModelSnapshot.ClassWeights("A", 1, new float[] {1, 0}, 0f)),
            1,
            0,
            123L,
            null,
            null);
    byte[] bytes = InternalSerdes.snapshot().serializer().serialize("t", snapshot);
    // The older layout ended at createdAt: without the four absent-flags (one byte each).
    byte[] older = java.util.Arrays.copyOf(bytes, bytes.length - 4);
    assertThat(InternalSerdes.snapshot().deserializer().deserialize("t", older))
        .isEqualTo(snapshot);
  }

  /**
   * The open-set threshold and a class's centre survive the global store, and a snapshot stored
   * before they existed reads with neither. Catches a serde that drops them (every query would be
   * accepted, or scored against the fine-tuned weights) or that cannot read older stores.
   */
  @Test
  void shouldStoreTheOpenSetThresholdAndCentres() {
    ModelSnapshot snapshot =
        new ModelSnapshot(
            1,
            "t",
            8,
            ModelSnapshot.FINE_TUNED,
            "robust",
            "b",
            2,
            15f,
            List.of(
                new ModelSnapshot.ClassWeights("A", 3, new float[] {1, 0}, 0.25f,
                    new float[] {0.6f, 0.8f}),
                new ModelSnapshot.ClassWeights("B", 3, new float[] {0, 1}, -0.25f)),
            6,
            40,
            123L,
            0.25,
            12.5,
            0.625f);
    ModelSnapshot back = roundTrip(InternalSerdes.snapshot(), snapshot);
    assertThat(back).isEqualTo(snapshot);
    assertThat(back.openSetThreshold()).isEqualTo(0.625f);
    assertThat(back.classes().get(0).centre()).containsExactly(0.6f, 0.8f);
    assertThat(back.classes().get(1).centre()).isNull();

    ModelSnapshot without =
        new ModelSnapshot(1, "t", 3, ModelSnapshot.PROTOTYPES, null, "b", 2, 15f,
            List.of(new ModelSnapshot.ClassWeights("A", 1, new float[] {1, 0}, 0f)), 1, 0, 123L,
            null, null);
    byte[] bytes = InternalSerdes.snapshot().serializer().serialize("t", without);
    // The layout before the open-set fields ended at the two training flags.
    byte[] older = java.util.Arrays.copyOf(bytes, bytes.length - 2);
    assertThat(InternalSerdes.snapshot().deserializer().deserialize("t", older))
        .isEqualTo(without);
  }

  @Test
  void shouldRefuseAFormatItDoesNotKnow() {
    byte[] bytes = InternalSerdes.taskState().serializer().serialize("t", TaskState.NEW);
    bytes[0] = 9;
    assertThatThrownBy(() -> InternalSerdes.taskState().deserializer().deserialize("t", bytes))
        .hasMessageContaining("expected internal format 1, found 9");
  }

  private static <T> T roundTrip(Serde<T> serde, T value) {
    return serde.deserializer().deserialize("t", serde.serializer().serialize("t", value));
  }
}
