package io.fewshotstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.ModelSnapshot;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MemoryBenchTest {

  @Test
  void shouldCountAtLeastTheWeightsOfEveryTaskOnTheHeap() {
    int tasks = 2_000;
    int classes = 10;
    int features = 256;
    MemoryBench.Result r = MemoryBench.run(tasks, classes, features, 1);
    // Each side holds every weight as a float: 4 bytes each, before any object overhead.
    long weightBytes = 4L * tasks * classes * features;
    assertThat(r.snapshotHeapBytes()).isGreaterThanOrEqualTo(weightBytes);
    assertThat(r.classifierHeapBytes()).isGreaterThanOrEqualTo(weightBytes);
    assertThat(r.bytesPerClass()).isEqualTo(r.bytesPerTask() / classes);
  }

  @Test
  void shouldMeasureTheModelsTopicValueAsTheCodecWritesIt() {
    ModelSnapshot s = MemoryBench.snapshot(new Random(3), "task-0", 10, 256);
    MemoryBench.Result r = MemoryBench.run(1, 10, 256, 3);
    assertThat(r.modelsTopicBytes()).isEqualTo(new EventCodec().write(s).length);
    // The binary store layout holds 4 bytes per weight plus short headers.
    assertThat(r.globalStoreBytes()).isBetween(4 * 10 * 256, 4 * 10 * 256 + 1_000);
  }
}
