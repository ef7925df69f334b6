package io.fewshotstreams.streaming.feedback;

import io.fewshotstreams.events.Outcome;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One task's live accuracy, the value of {@link FeedbackStores#ACCURACY}: since start, overall,
 * per method and per snapshot version (the latest {@value #VERSIONS} versions; older ones still
 * count overall and per method), and over a sliding window of the last outcomes, kept as they
 * came so the window can be broken down the same way. Mutable; not thread-safe.
 */
final class LiveAccuracy {
  /** Versions broken down since start; a task that promotes often makes a version per example. */
  static final int VERSIONS = 16;

  /** One outcome of the window, as counted. */
  record Entry(
      long version,
      String method,
      String predicted,
      boolean unknown,
      String trueLabel,
      String result,
      boolean correct,
      double probability) {
    static Entry of(Outcome o) {
      return new Entry(
          o.modelVersion(),
          o.method(),
          o.predictedLabel(),
          o.unknown(),
          o.trueLabel(),
          o.result(),
          o.correct(),
          o.probability());
    }

    void addTo(Tally tally) {
      tally.add(predicted, unknown, trueLabel, result, correct, probability);
    }
  }

  final Tally all = new Tally();
  final Map<String, Tally> byMethod = new TreeMap<>();
  final TreeMap<Long, Tally> byVersion = new TreeMap<>();
  final Map<Long, String> versionMethod = new TreeMap<>();
  final Deque<Entry> window = new ArrayDeque<>();

  /** Counts an outcome; the window keeps the last {@code windowSize}. */
  void add(Outcome outcome, int windowSize) {
    Entry entry = Entry.of(outcome);
    entry.addTo(all);
    entry.addTo(byMethod.computeIfAbsent(entry.method(), m -> new Tally()));
    if (byVersion.size() < VERSIONS || entry.version() >= byVersion.firstKey()) {
      entry.addTo(byVersion.computeIfAbsent(entry.version(), v -> new Tally()));
      versionMethod.put(entry.version(), entry.method());
      while (byVersion.size() > VERSIONS) {
        versionMethod.remove(byVersion.pollFirstEntry().getKey());
      }
    }
    window.addLast(entry);
    while (window.size() > windowSize) {
      window.removeFirst();
    }
  }

  /** The window's outcomes, overall. */
  Tally windowTally() {
    Tally t = new Tally();
    window.forEach(e -> e.addTo(t));
    return t;
  }

  /** The JSON view of {@code task}: since start and over the window of {@code windowSize}. */
  Map<String, Object> view(String task, int windowSize) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("task", task);
    m.put("sinceStart", breakdown(all, byMethod, byVersion, versionMethod));
    Tally windowAll = new Tally();
    Map<String, Tally> windowMethods = new TreeMap<>();
    TreeMap<Long, Tally> windowVersions = new TreeMap<>();
    Map<Long, String> windowVersionMethod = new TreeMap<>();
    for (Entry e : window) {
      e.addTo(windowAll);
      e.addTo(windowMethods.computeIfAbsent(e.method(), k -> new Tally()));
      e.addTo(windowVersions.computeIfAbsent(e.version(), k -> new Tally()));
      windowVersionMethod.put(e.version(), e.method());
    }
    Map<String, Object> w =
        breakdown(windowAll, windowMethods, windowVersions, windowVersionMethod);
    w.put("size", windowSize);
    m.put("window", w);
    return m;
  }

  private static Map<String, Object> breakdown(
      Tally overall,
      Map<String, Tally> methods,
      TreeMap<Long, Tally> versions,
      Map<Long, String> versionMethod) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("overall", overall.view());
    Map<String, Object> perMethod = new LinkedHashMap<>();
    methods.forEach((method, t) -> perMethod.put(method, t.view()));
    m.put("byMethod", perMethod);
    List<Map<String, Object>> perVersion = new ArrayList<>();
    versions.forEach(
        (version, t) -> {
          Map<String, Object> v = new LinkedHashMap<>();
          v.put("version", version);
          v.put("method", versionMethod.get(version));
          v.putAll(t.view());
          perVersion.add(v);
        });
    m.put("byVersion", perVersion);
    return m;
  }
}
