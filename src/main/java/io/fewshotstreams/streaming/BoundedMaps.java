package io.fewshotstreams.streaming;

import java.util.LinkedHashMap;
import java.util.Map;

/** In-memory per-task maps of the stream processors, bounded so that many tasks cannot grow them. */
public final class BoundedMaps {
  private BoundedMaps() {}

  /**
   * A map of at most {@code max} entries that forgets its eldest beyond: the least recently used
   * with {@code accessOrder}, else the least recently inserted. Not thread-safe, as a processor's
   * state need not be.
   */
  public static <K, V> Map<K, V> of(int max, boolean accessOrder) {
    return new LinkedHashMap<>(64, 0.75f, accessOrder) {
      private static final long serialVersionUID = 1L;

      @Override
      protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
        return size() > max;
      }
    };
  }
}
