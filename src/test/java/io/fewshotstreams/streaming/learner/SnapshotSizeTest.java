package io.fewshotstreams.streaming.learner;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.ModelSnapshot;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The bound the learner keeps snapshots within holds for the longest numbers and names. */
class SnapshotSizeTest {
  private final EventCodec codec = new EventCodec();

  /** A name of 256 characters of 3 UTF-8 bytes, with quotes that JSON escapes. */
  private static String longestName(int seed) {
    StringBuilder s = new StringBuilder();
    s.append('"').append(seed);
    while (s.length() < 256) {
      s.append(s.length() % 7 == 0 ? '\\' : '\u20ac');
    }
    return s.toString();
  }

  /** A snapshot whose numbers all take their longest JSON form. */
  private static ModelSnapshot worstCase(int classes, int featureSize) {
    float longest = -1.23456789E-10f; // 14 or 15 characters, as the float rounds
    List<ModelSnapshot.ClassWeights> weights = new ArrayList<>();
    for (int c = 0; c < classes; c++) {
      float[] w = new float[featureSize];
      java.util.Arrays.fill(w, longest);
      weights.add(new ModelSnapshot.ClassWeights(longestName(c), Integer.MAX_VALUE, w, longest));
    }
    return new ModelSnapshot(
        1,
        longestName(-1),
        Long.MAX_VALUE,
        ModelSnapshot.FINE_TUNED,
        "transductive",
        longestName(-2),
        featureSize,
        longest,
        weights,
        Integer.MAX_VALUE,
        Integer.MAX_VALUE,
        Long.MIN_VALUE,
        -1.2345678901234567E-100,
        1.2345678901234567E100);
  }

  @Test
  void shouldBoundTheLongestSnapshotAtTheLimits() {
    int classes = 20;
    int featureSize = 256;
    ModelSnapshot snapshot = worstCase(classes, featureSize);
    long bytes = codec.write(snapshot).length;
    long bound = SnapshotSize.fixedBytes(snapshot.task(), snapshot.backboneId());
    for (ModelSnapshot.ClassWeights c : snapshot.classes()) {
      bound += SnapshotSize.classBytes(c.label(), featureSize);
    }
    assertThat(bytes).isLessThanOrEqualTo(bound);
    // Tight: most floats need 14 characters here, not 15 (one byte in 15 is 6.7%), plus the room
    // for optional fields; a bound far above the truth would refuse classes that fit.
    assertThat((double) bound / bytes).isLessThan(1.10);
    // The topic is sized from the same bound with names at their longest.
    int sized = SnapshotSize.recordBytesAtLimits(classes, featureSize);
    assertThat(sized - SnapshotSize.RECORD_OVERHEAD).isGreaterThanOrEqualTo((int) bound);
  }

  @Test
  void shouldWriteNoFloatLongerThanFifteenCharacters() {
    Random random = new Random(7);
    float[] w = new float[10_000];
    for (int i = 0; i < w.length; i++) {
      // Every magnitude a float has, including subnormals, in both signs.
      w[i] = Float.intBitsToFloat(random.nextInt() & 0x7f7fffff) * (random.nextBoolean() ? 1 : -1);
    }
    ModelSnapshot snapshot =
        new ModelSnapshot(
            1,
            "t",
            1,
            ModelSnapshot.PROTOTYPES,
            null,
            "b",
            w.length,
            1f,
            List.of(new ModelSnapshot.ClassWeights("c", 1, w, 0f)),
            1,
            0,
            0,
            null,
            null);
    String json = new String(codec.write(snapshot), java.nio.charset.StandardCharsets.UTF_8);
    String array = json.substring(json.indexOf("\"weights\":[") + 11, json.indexOf(']'));
    for (String number : array.split(",")) {
      assertThat(number.length()).as(number).isLessThanOrEqualTo(15);
    }
  }

  @Test
  void shouldSizeTheModelsTopicForTheDefaultLimitsAboveTheProducersOneMegabyte() {
    // 1,000 classes of the bundled backbone's 256 features: the 400-class task of the probe needed
    // 1,042,882 bytes; the sized limit takes every class the default allows.
    int bytes = SnapshotSize.recordBytesAtLimits(1000, 256);
    assertThat(bytes).isBetween(4_000_000, 6_000_000);
    assertThat(SnapshotSize.recordBytesAtLimits(1_000_000, 2048))
        .as("capped below the broker's 100 MB request limit")
        .isEqualTo(SnapshotSize.MAX_RECORD_BYTES);
  }
}
