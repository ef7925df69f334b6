package io.fewshotstreams.app;

import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.QueryEvent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Query events with ids {@code <run>-<9 digits>}, cycling through the query images. Each image's
 * JSON is written once, with the id as a placeholder; a query is a copy with its digits written in,
 * so that making the load costs little of the CPU the measured system shares.
 */
final class QueryValues {
  private static final int DIGITS = 9;

  private final String run;
  private final List<byte[]> templates = new ArrayList<>();
  private final List<Integer> idAt = new ArrayList<>();

  QueryValues(EventCodec codec, String task, String run, List<SampleImage> images) {
    if (images.isEmpty()) {
      throw new IllegalArgumentException("expected at least one query image, found none");
    }
    this.run = run;
    String placeholder = id(0);
    byte[] quoted = ('"' + placeholder + '"').getBytes(StandardCharsets.UTF_8);
    for (SampleImage q : images) {
      byte[] json =
          codec.write(new QueryEvent(1, task, placeholder, new Image(Image.PNG, q.png()), null, null));
      int at = indexOf(json, quoted, 0);
      if (at < 0 || indexOf(json, quoted, at + 1) >= 0) {
        throw new IllegalStateException("expected the query id once in the JSON of " + q.name());
      }
      templates.add(json);
      idAt.add(at + 1 + run.length() + 1);
    }
  }

  /** The id of the {@code i}-th query. */
  String id(int i) {
    if (i < 0 || i > 999_999_999) {
      throw new IllegalArgumentException("expected a query index in [0, 999999999], found " + i);
    }
    return run + "-" + String.format("%0" + DIGITS + "d", i);
  }

  /** The JSON of the {@code i}-th query. */
  byte[] value(int i) {
    id(i); // validates i
    int t = i % templates.size();
    byte[] v = templates.get(t).clone();
    int at = idAt.get(t);
    for (int d = DIGITS - 1, rest = i; d >= 0; d--, rest /= 10) {
      v[at + d] = (byte) ('0' + rest % 10);
    }
    return v;
  }

  /** The index of the query with this id, or -1 when the id is not of this run. */
  int index(String id) {
    if (id == null || id.length() != run.length() + 1 + DIGITS || !id.startsWith(run + "-")) {
      return -1;
    }
    int i = 0;
    for (int k = run.length() + 1; k < id.length(); k++) {
      char c = id.charAt(k);
      if (c < '0' || c > '9') {
        return -1;
      }
      i = 10 * i + (c - '0');
    }
    return i;
  }

  static int indexOf(byte[] haystack, byte[] needle, int from) {
    outer:
    for (int i = Math.max(0, from); i + needle.length <= haystack.length; i++) {
      for (int k = 0; k < needle.length; k++) {
        if (haystack[i + k] != needle[k]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
