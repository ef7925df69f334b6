package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bound of the processors' per-task maps; catches a map that grows without end. */
class BoundedMapsTest {

  @Test
  void shouldForgetTheLeastRecentlyUsedBeyondTheBoundInAccessOrder() {
    Map<String, Integer> map = BoundedMaps.of(2, true);
    map.put("a", 1);
    map.put("b", 2);
    map.get("a");
    map.put("c", 3);
    assertThat(map).containsOnlyKeys("a", "c");
  }

  @Test
  void shouldForgetTheEldestInsertedBeyondTheBoundInInsertionOrder() {
    Map<String, Integer> map = BoundedMaps.of(2, false);
    map.put("a", 1);
    map.put("b", 2);
    map.get("a");
    map.put("c", 3);
    assertThat(map).containsOnlyKeys("b", "c");
  }
}
