package io.fewshotstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.QueryEvent;
import org.junit.jupiter.api.Test;

class QueryValuesTest {
  private final EventCodec codec = new EventCodec();

  @Test
  void shouldWriteEachQueryWithItsOwnIdAndTheImageOfItsTurn() {
    var images = SampleImages.split(5).queries();
    QueryValues values = new QueryValues(codec, "bench", "s", images);
    // Index 1,234,567 checks every digit position; the image is the one of its turn in the cycle.
    int i = 1_234_567;
    QueryEvent q = codec.readQuery(values.value(i));
    assertThat(q.queryId()).isEqualTo("s-001234567").isEqualTo(values.id(i));
    assertThat(q.task()).isEqualTo("bench");
    assertThat(q.image().dataUnsafe()).isEqualTo(images.get(i % images.size()).png());
    assertThat(values.index(q.queryId())).isEqualTo(i);
  }

  @Test
  void shouldNotCountIdsOfAnotherRun() {
    QueryValues values = new QueryValues(codec, "bench", "s", SampleImages.split(5).queries());
    assertThat(values.index("r0-000000001")).isEqualTo(-1);
    assertThat(values.index("s-00000001x")).isEqualTo(-1);
    assertThat(values.index("s-1")).isEqualTo(-1);
  }
}
