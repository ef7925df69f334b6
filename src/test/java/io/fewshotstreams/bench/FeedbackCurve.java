package io.fewshotstreams.bench;

import io.fewshotstreams.dataset.FashionMnist;
import io.fewshotstreams.dataset.IdxDataset;
import io.fewshotstreams.dataset.Sample;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.FeedbackEvent;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.TopologyHarness;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The learning curve of corrections that teach: the five novel Fashion-MNIST classes start from
 * one support image each; the test split's other novel images stream through the whole topology
 * (TopologyTestDriver, the bundled backbone's features) as queries, and a random 10% of them get
 * their true label back with {@code promote}, {@value #DELAY} queries later. Prequential accuracy
 * (each query answered before its own label is known) in windows of {@value #WINDOW} queries,
 * against the same stream without feedback, pooled over seeds, with 95% Wilson intervals.
 *
 * <p>With {@code method} {@code prototypes} the learner answers with class means only; with {@code
 * auto} the driver's wall clock moves on every {@value #TUNE_EVERY} queries, so the learner
 * fine-tunes (in the background, as in the service) whatever task changed.
 *
 * <p>Run: {@code java -cp <test classpath> io.fewshotstreams.bench.FeedbackCurve [seeds] [svg]
 * [method] [setting=value ...]}; the settings go to the service as they are, e.g. {@code
 * fewshot.finetune.keep.on.add=false}.
 */
public final class FeedbackCurve {
  static final int WINDOW = 200;
  static final int DELAY = 50;
  static final double FEEDBACK_SHARE = 0.10;
  static final int TUNE_EVERY = 50;
  private static final String TASK = "fashion-novel";

  private FeedbackCurve() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    int seeds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
    Path svg = Path.of(args.length > 1 ? args[1] : "target/feedback-curve.svg");
    String method = args.length > 2 ? args[2] : "prototypes";
    Map<String, Object> extra = new HashMap<>();
    for (int i = 3; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      if (eq < 1) {
        throw new IllegalArgumentException("expected setting=value, found '" + args[i] + "'");
      }
      extra.put(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    IdxDataset data =
        FashionMnist.open(FashionMnist.DEFAULT_DIR, "test", new HashSet<>(FashionMnist.NOVEL));
    List<Sample> samples = data.samples();
    float[][] features;
    try (Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      long start = System.nanoTime();
      features = data.features(embedder, samples);
      System.err.printf(
          Locale.ROOT,
          "embedded %d images in %.1f s%n",
          samples.size(),
          (System.nanoTime() - start) / 1e9);
      int windows = (samples.size() - FashionMnist.NOVEL.size()) / WINDOW;
      long[][] right = new long[2][windows];
      for (int seed = 0; seed < seeds; seed++) {
        for (int fed = 0; fed < 2; fed++) {
          long[] run = run(embedder, samples, features, seed, fed == 1, method, extra);
          for (int w = 0; w < windows; w++) {
            right[fed][w] += run[w];
          }
        }
        System.err.printf(Locale.ROOT, "seed %d done%n", seed);
      }
      long n = (long) WINDOW * seeds;
      StringBuilder table = new StringBuilder();
      table.append("| window (queries) | no feedback | 10% feedback, promoted |\n");
      table.append("| --- | --- | --- |\n");
      for (int w = 0; w < windows; w++) {
        table.append(
            String.format(
                Locale.ROOT,
                "| %d-%d | %s | %s |%n",
                w * WINDOW + 1,
                (w + 1) * WINDOW,
                cell(right[0][w], n),
                cell(right[1][w], n)));
      }
      System.out.print(table);
      System.out.printf(
          Locale.ROOT,
          "%d seeds x %d queries per window; interval: 95%% Wilson over the %d answers%n",
          seeds,
          WINDOW,
          n);
      Files.createDirectories(svg.toAbsolutePath().getParent());
      Files.writeString(svg, svg(right, n, seeds));
      System.err.println("wrote " + svg);
    }
  }

  private static Map<String, Object> merged(Map<String, Object> base, Map<String, Object> extra) {
    Map<String, Object> all = new HashMap<>(base);
    all.putAll(extra);
    return all;
  }

  /** Right answers per window of one run. */
  private static long[] run(
      Embedder embedder,
      List<Sample> samples,
      float[][] features,
      int seed,
      boolean feedback,
      String method,
      Map<String, Object> extra)
      throws IOException, InterruptedException {
    Random random = new Random(seed);
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < samples.size(); i++) {
      order.add(i);
    }
    Collections.shuffle(order, random);
    // The first image of each class in the shuffled order is its one support example.
    Set<String> supported = new HashSet<>();
    List<Integer> support = new ArrayList<>();
    List<Integer> stream = new ArrayList<>();
    for (int i : order) {
      if (supported.add(samples.get(i).label())) {
        support.add(i);
      } else {
        stream.add(i);
      }
    }
    Random feedbackDraw = new Random(1_000L + seed);
    EventCodec codec = new EventCodec();
    Path state = Files.createTempDirectory("feedback-curve");
    Map<String, Object> settings =
        TopologyHarness.settings(
            "feedback-curve",
            state,
            merged(
                Map.of(
                    FewShotConfig.FINETUNE_METHOD_CONFIG, method,
                    FewShotConfig.QUERY_POOL_SIZE_CONFIG, 0,
                    FewShotConfig.FEEDBACK_ENABLED_CONFIG, true),
                extra));
    int windows = (samples.size() - support.size()) / WINDOW;
    long[] right = new long[windows];
    long tuned = 0;
    try (TopologyHarness h =
        new TopologyHarness(settings, embedder, new Telemetry(new SimpleMeterRegistry(), 0), 0)) {
      var feedbackTopic = h.input(h.config.feedbackTopic());
      for (int i : support) {
        h.support.pipeInput(
            TASK,
            codec.write(
                new SupportEvent.AddExample(
                    1, TASK, samples.get(i).label(), "support-" + i, null, features[i])));
      }
      Deque<FeedbackEvent> due = new ArrayDeque<>();
      Deque<Integer> dueAt = new ArrayDeque<>();
      for (int q = 0; q < stream.size(); q++) {
        int i = stream.get(q);
        String id = "q" + i;
        h.queries.pipeInput(TASK, codec.write(new QueryEvent(1, TASK, id, null, features[i], null)));
        Prediction p = codec.readPrediction(h.predictions.readValue());
        tuned += p.method().equals("fine-tuned") ? 1 : 0;
        if (q / WINDOW < windows && p.label().equals(samples.get(i).label())) {
          right[q / WINDOW]++;
        }
        if (feedbackDraw.nextDouble() < FEEDBACK_SHARE) {
          due.addLast(new FeedbackEvent(1, TASK, id, samples.get(i).label(), true));
          dueAt.addLast(q + DELAY);
        }
        if (!method.equals("prototypes") && q % TUNE_EVERY == TUNE_EVERY - 1) {
          h.driver.advanceWallClockTime(java.time.Duration.ofMillis(TopologyHarness.INTERVAL_MS));
          if (!h.scheduler.awaitIdle(60_000)) {
            throw new IllegalStateException("expected the fine-tunes to finish within 60 s");
          }
          h.driver.advanceWallClockTime(java.time.Duration.ofMillis(200));
        }
        while (!dueAt.isEmpty() && dueAt.peekFirst() <= q) {
          dueAt.removeFirst();
          FeedbackEvent f = due.removeFirst();
          if (feedback) {
            feedbackTopic.pipeInput(TASK, codec.write(f));
          }
        }
      }
    }
    System.err.printf(
        Locale.ROOT,
        "seed %d, %s: %d of %d answers by fine-tuned snapshots%n",
        seed,
        feedback ? "feedback" : "no feedback",
        tuned,
        stream.size());
    return right;
  }

  private static String cell(long right, long n) {
    double[] ci = wilson(right, n);
    return String.format(
        Locale.ROOT, "%.1f%% [%.1f, %.1f]", 100.0 * right / n, 100 * ci[0], 100 * ci[1]);
  }

  /** The 95% Wilson score interval of a proportion. */
  static double[] wilson(long right, long n) {
    double z = 1.959964;
    double p = (double) right / n;
    double denom = 1 + z * z / n;
    double centre = (p + z * z / (2.0 * n)) / denom;
    double half = z * Math.sqrt(p * (1 - p) / n + z * z / (4.0 * n * n)) / denom;
    return new double[] {centre - half, centre + half};
  }

  private static String svg(long[][] right, long n, int seeds) {
    int windows = right[0].length;
    int width = 640;
    int height = 360;
    int left = 60;
    int top = 30;
    int plotW = width - left - 20;
    int plotH = height - top - 50;
    double lo = 0.4;
    double hi = 1.0;
    StringBuilder s = new StringBuilder();
    s.append(
        String.format(
            Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">%n",
            width,
            height));
    s.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    s.append(
        String.format(
            Locale.ROOT,
            "<text x=\"%d\" y=\"18\">Prequential accuracy, windows of %d queries (%d seeds), 95%% intervals</text>%n",
            left,
            WINDOW,
            seeds));
    for (int g = 4; g <= 10; g++) {
      double y = top + plotH * (hi - g / 10.0) / (hi - lo);
      s.append(
          String.format(
              Locale.ROOT,
              "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>%n",
              left,
              left + plotW,
              y,
              y,
              left - 6,
              y + 4,
              g * 10));
    }
    String[] colours = {"#888888", "#1f77b4"};
    String[] names = {"no feedback", "10% feedback, promoted"};
    for (int r = 0; r < 2; r++) {
      StringBuilder band = new StringBuilder();
      StringBuilder upper = new StringBuilder();
      StringBuilder lower = new StringBuilder();
      StringBuilder line = new StringBuilder();
      for (int w = 0; w < windows; w++) {
        double x = left + plotW * (w + 0.5) / windows;
        double[] ci = wilson(right[r][w], n);
        upper.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y(ci[1], top, plotH, lo, hi)));
        lower.insert(0, String.format(Locale.ROOT, "%.1f,%.1f ", x, y(ci[0], top, plotH, lo, hi)));
        line.append(
            String.format(
                Locale.ROOT, "%.1f,%.1f ", x, y((double) right[r][w] / n, top, plotH, lo, hi)));
      }
      band.append(upper).append(lower);
      s.append(
          String.format(
              Locale.ROOT,
              "<polygon points=\"%s\" fill=\"%s\" fill-opacity=\"0.2\"/>%n<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>%n",
              band.toString().trim(),
              colours[r],
              line.toString().trim(),
              colours[r]));
      s.append(
          String.format(
              Locale.ROOT,
              "<text x=\"%d\" y=\"%d\" fill=\"%s\">%s</text>%n",
              left + 10 + 220 * r,
              height - 10,
              colours[r],
              names[r]));
    }
    s.append(
        String.format(
            Locale.ROOT,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">queries streamed (window %d = queries %d-%d)</text>%n",
            left + plotW / 2,
            height - 28,
            windows,
            (windows - 1) * WINDOW + 1,
            windows * WINDOW));
    s.append("</svg>\n");
    return s.toString();
  }

  private static double y(double value, int top, int plotH, double lo, double hi) {
    return top + plotH * (hi - Math.max(lo, Math.min(hi, value))) / (hi - lo);
  }
}
