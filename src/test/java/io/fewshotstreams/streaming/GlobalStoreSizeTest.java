package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.bench.MemoryBench;
import io.fewshotstreams.events.ModelSnapshot;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The snapshot size {@code bench --suite memory} reports is the global store's real one. */
class GlobalStoreSizeTest {

  @Test
  void shouldComputeTheLengthTheGlobalStoreSerdeWrites() {
    float[] weights = new float[256];
    weights[0] = 1;
    List<ModelSnapshot.ClassWeights> classes =
        List.of(
            new ModelSnapshot.ClassWeights("sneaker", 5, weights, 0.5f),
            new ModelSnapshot.ClassWeights("ankle-boot-\u00e9", 3, weights, 0f));
    ModelSnapshot fineTuned =
        new ModelSnapshot(
            1, "shoe-shop", 7, ModelSnapshot.FINE_TUNED, "transductive", "fmnist-base5-res-v3",
            256, 15f, classes, 8, 40, 1L, 0.25, 1.5);
    ModelSnapshot prototypes =
        new ModelSnapshot(
            1, "shoe-shop", 6, ModelSnapshot.PROTOTYPES, null, "fmnist-base5-res-v3", 256, 15f,
            classes, 8, 0, 1L, null, null);
    for (ModelSnapshot s : List.of(fineTuned, prototypes)) {
      byte[] stored = InternalSerdes.snapshot().serializer().serialize("store", s);
      assertThat(MemoryBench.globalStoreBytes(s)).as(s.method()).isEqualTo(stored.length);
    }
  }
}
