package io.fewshotstreams.app;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.bench.EmbeddingBench;
import io.fewshotstreams.bench.FineTuneBench;
import io.fewshotstreams.bench.Machine;
import io.fewshotstreams.bench.MemoryBench;
import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Embedder;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bench}: performance figures, one table per suite, each headed by the command and machine. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Measures performance. Suites: finetune (fit time per synthetic episode, single thread, the"
          + " grid of --ways, --shots, --dims, --methods, --steps), finetune-grid (ways, shots,"
          + " feature size and steps varied one at a time around 5-way 5-shot, d = 256), onnx"
          + " (ONNX Runtime alone on prepared tensors), pipeline (decode, preprocess and ONNX"
          + " Runtime from PNG files, and its ratio to ONNX Runtime alone), memory (heap per task"
          + " and class, snapshot sizes), kafka (the Kafka ceiling: the end-to-end harness and"
          + " broker with a topology that does no model work), end-to-end (the service on an"
          + " in-process broker: steady-state queries per second, its ratios to the pipeline, the"
          + " Kafka ceiling and both combined, and latency at fixed rates), restore (an instance"
          + " with an empty state directory restoring --tasks tasks of --classes classes with"
          + " their query pools: time to RUNNING, to every task servable, restored records and"
          + " the heap per task; not part of all), all."
    })
final class BenchCommand implements Callable<Integer> {

  /** What {@code --suite} selects. */
  enum Suite {
    FINETUNE("finetune"),
    FINETUNE_GRID("finetune-grid"),
    ONNX("onnx"),
    PIPELINE("pipeline"),
    MEMORY("memory"),
    KAFKA("kafka"),
    END_TO_END("end-to-end"),
    RESTORE("restore"),
    ALL("all");

    final String flag;

    Suite(String flag) {
      this.flag = flag;
    }

    static Suite of(String flag) {
      for (Suite s : values()) {
        if (s.flag.equals(flag)) {
          return s;
        }
      }
      List<String> flags = new ArrayList<>();
      for (Suite s : values()) {
        flags.add(s.flag);
      }
      throw new FewShotException("expected --suite among " + flags + ", found '" + flag + "'");
    }
  }

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--suite",
      split = ",",
      description =
          "finetune, finetune-grid, onnx, pipeline, memory, kafka, end-to-end, restore or all"
              + " (default: ${DEFAULT-VALUE}).")
  List<String> suites = new ArrayList<>(List.of("finetune"));

  @Option(names = "--ways", split = ",", description = "Ways (default: ${DEFAULT-VALUE}).")
  List<Integer> ways = new ArrayList<>(List.of(5));

  @Option(names = "--shots", split = ",", description = "Shots (default: ${DEFAULT-VALUE}).")
  List<Integer> shots = new ArrayList<>(List.of(1, 5));

  @Option(names = "--queries", description = "Queries per class (default: ${DEFAULT-VALUE}).")
  int queries = 15;

  @Option(names = "--dims", split = ",", description = "Feature sizes (default: ${DEFAULT-VALUE}).")
  List<Integer> dims = new ArrayList<>(List.of(256));

  @Option(
      names = "--methods",
      split = ",",
      description = "Methods (default: ${DEFAULT-VALUE}).")
  List<String> methods = new ArrayList<>(List.of("inductive", "transductive", "auto"));

  @Option(
      names = "--steps",
      split = ",",
      description =
          "Adam steps for inductive and transductive; -1 is the method's own (default:"
              + " ${DEFAULT-VALUE}).")
  List<Integer> steps = new ArrayList<>(List.of(FineTuneBench.DEFAULT_STEPS));

  @Option(names = "--repeats", description = "Timed episodes per row, after as many warm-up ones (default: ${DEFAULT-VALUE}).")
  int repeats = 200;

  @Option(
      names = "--grid-repeats",
      description =
          "finetune-grid: the most timed episodes per row, fewer where one takes long (default:"
              + " ${DEFAULT-VALUE}).")
  int gridRepeats = 100;

  @Option(names = "--seed", description = "Seed of the synthetic episodes (default: ${DEFAULT-VALUE}).")
  long seed = 42;

  @Option(
      names = "--batch-sizes",
      split = ",",
      description = "onnx, pipeline: images per call (default: ${DEFAULT-VALUE}).")
  List<Integer> batchSizes = new ArrayList<>(List.of(1, 8, 32, 64));

  @Option(
      names = "--embed-repeats",
      description = "onnx, pipeline: timed repeats per batch size, after 2 warm-up ones (default: ${DEFAULT-VALUE}).")
  int embedRepeats = 7;

  @Option(
      names = "--images-per-repeat",
      description = "onnx, pipeline: images embedded per repeat, at least (default: ${DEFAULT-VALUE}).")
  int imagesPerRepeat = 512;

  @Option(
      names = "--photos",
      paramLabel = "DIR",
      description =
          "onnx, pipeline: the PNG and JPEG files of this folder instead of the bundled sample"
              + " PNGs (for a backbone with colour photographs as input).")
  Path photos;

  @Option(
      names = "--megapixels",
      split = ",",
      description =
          "pipeline: sizes of synthetic JPEG photos whose decode and preprocess time is set"
              + " against ONNX Runtime's time per image at batch 32; none to skip (default:"
              + " ${DEFAULT-VALUE}).")
  List<Double> megapixels = new ArrayList<>(List.of(1.0, 3.0, 12.0));

  @Option(names = "--tasks", description = "memory, restore: tasks (default: ${DEFAULT-VALUE}).")
  int tasks = 10_000;

  @Option(
      names = "--classes",
      description = "memory, restore: classes per task (default: ${DEFAULT-VALUE}).")
  int classes = 10;

  @Option(
      names = "--restore-shots",
      description = "restore: support embeddings per class (default: ${DEFAULT-VALUE}).")
  int restoreShots = 5;

  @Option(
      names = "--pool-queries",
      description =
          "restore: query embeddings sent per task before the restart (default: the service's"
              + " fewshot.query.pool.size, a full pool).")
  Integer poolQueries;

  @Option(
      names = "--restore-wait-seconds",
      description =
          "restore: longest wait for each phase (filling, restoring, answering) (default:"
              + " ${DEFAULT-VALUE}).")
  long restoreWaitSeconds = 3_600;

  @Option(
      names = "--features",
      description = "memory: feature size (default: ${DEFAULT-VALUE}, the bundled backbone's).")
  int features = 256;

  @Option(
      names = "--e2e-queries",
      description =
          "end-to-end, kafka: queries timed in steady state, after the warm-up (default:"
              + " ${DEFAULT-VALUE}).")
  int e2eQueries = 5_000;

  @Option(
      names = "--kafka-queries",
      description =
          "kafka: queries timed in steady state (default: 10 times --e2e-queries; the ceiling is"
              + " about 10 times faster).")
  Integer kafkaQueries;

  @Option(
      names = "--kafka-variants",
      split = ",",
      description = "kafka: pass-through, store, store+hop (default: ${DEFAULT-VALUE}).")
  List<String> kafkaVariants = new ArrayList<>(List.of("pass-through", "store", "store+hop"));

  @Option(
      names = "--window-seconds",
      description = "end-to-end, kafka: length of a warm-up window (default: ${DEFAULT-VALUE}).")
  double windowSeconds = 2;

  @Option(
      names = "--steady-tolerance",
      description =
          "end-to-end, kafka: warm-up ends when the last --steady-windows window rates lie within"
              + " this fraction of each other (default: ${DEFAULT-VALUE}).")
  double steadyTolerance = 0.05;

  @Option(
      names = "--steady-windows",
      description = "end-to-end, kafka: windows that must agree (default: ${DEFAULT-VALUE}).")
  int steadyWindows = 3;

  @Option(
      names = "--max-warm-up-seconds",
      description =
          "end-to-end, kafka: longest warm-up; the run then measures and says it did not settle"
              + " (default: ${DEFAULT-VALUE}).")
  double maxWarmUpSeconds = 90;

  @Option(
      names = "--guarantees",
      split = ",",
      description = "end-to-end: processing guarantees (default: ${DEFAULT-VALUE}).")
  List<String> guarantees = new ArrayList<>(List.of("exactly_once_v2", "at_least_once"));

  @Option(
      names = "--loads",
      split = ",",
      description = "end-to-end: offered rates as fractions of the sustained rate (default: ${DEFAULT-VALUE}).")
  List<Double> loads = new ArrayList<>(List.of(0.25, 0.5, 0.9));

  @Option(
      names = "--latency-seconds",
      description = "end-to-end: seconds of queries per offered rate, at least 200 queries (default: ${DEFAULT-VALUE}).")
  double latencySeconds = 8;

  @Option(
      names = "--latency-warm-up-seconds",
      description =
          "end-to-end: seconds of queries at each offered rate, sent first and not measured, for"
              + " the JIT to compile what the rate runs (default: ${DEFAULT-VALUE}; 10 made no"
              + " difference beyond the noise of a 2-core machine, see BENCHMARKS.md).")
  double latencyWarmUpSeconds = 0;

  @Option(
      names = "--service-setting",
      paramLabel = "KEY=VALUE",
      description = "end-to-end: a setting of the service (fewshot.* or Kafka Streams), repeatable.")
  Map<String, String> serviceSettings = new LinkedHashMap<>();

  @Mixin BackboneOptions backbone;

  @Override
  public Integer call() throws IOException {
    Set<Suite> selected = EnumSet.noneOf(Suite.class);
    for (String s : suites) {
      Suite suite = Suite.of(s);
      if (suite == Suite.ALL) {
        selected.addAll(
            EnumSet.of(
                Suite.PIPELINE, Suite.FINETUNE_GRID, Suite.MEMORY, Suite.KAFKA, Suite.END_TO_END));
      } else {
        selected.add(suite);
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println(
        "command: java -jar fewshot-streams.jar "
            + String.join(" ", spec.commandLine().getParseResult().originalArgs()));
    out.println("machine: " + Machine.describe());
    out.flush();
    if (selected.contains(Suite.FINETUNE)) {
      fineTune(out);
    }
    if (selected.contains(Suite.FINETUNE_GRID)) {
      fineTuneGrid(out);
    }
    if (selected.contains(Suite.MEMORY)) {
      memory(out);
    }
    boolean onnx = selected.contains(Suite.ONNX);
    boolean pipeline = selected.contains(Suite.PIPELINE);
    boolean endToEnd = selected.contains(Suite.END_TO_END);
    boolean kafka = selected.contains(Suite.KAFKA);
    if (selected.contains(Suite.RESTORE)) {
      restore(out);
    }
    if (kafka && !endToEnd && !onnx && !pipeline) {
      streaming(out, null, Double.NaN, true, false);
    }
    if (onnx || pipeline || endToEnd) {
      try (Embedder embedder = backbone.open()) {
        out.println();
        out.println("embedder: " + embedder);
        double pipelineAt32 = Double.NaN;
        if (onnx || pipeline) {
          pipelineAt32 = embedding(out, embedder, pipeline);
        }
        if (endToEnd || kafka) {
          streaming(out, embedder, pipelineAt32, kafka, endToEnd);
        }
      }
    }
    return 0;
  }

  private void fineTune(PrintWriter out) {
    out.println();
    out.println("== finetune: fit time per episode, one thread, " + repeats + " warm-up then " + repeats + " timed episodes");
    out.printf(
        "%-13s %5s %5s %7s %5s %5s %10s %10s%n", "method", "ways", "shots", "queries", "dim",
        "steps", "median ms", "p90 ms");
    for (String method : methods) {
      for (int w : ways) {
        for (int k : shots) {
          for (int d : dims) {
            for (int s : steps) {
              FineTuneBench.Result r =
                  FineTuneBench.run(w, k, w * queries, d, method, s, repeats, repeats, seed);
              out.printf(
                  "%-13s %5d %5d %7d %5d %5s %10.3f %10.3f%n", method, w, k, w * queries, d,
                  stepsLabel(s), r.medianMillis(), r.p90Millis());
              out.flush();
            }
          }
        }
      }
    }
  }

  /** Each factor varied alone around 5-way 5-shot, d = 256, 30 steps. */
  private void fineTuneGrid(PrintWriter out) {
    out.println();
    out.println(
        "== finetune-grid: fit time per episode, one thread, " + queries + " queries per class;"
            + " up to " + gridRepeats + " timed episodes per row (fewer where one takes long)");
    out.printf(
        "%-8s %-13s %5s %5s %7s %5s %5s %7s %10s %10s%n", "varied", "method", "ways", "shots",
        "queries", "dim", "steps", "timed", "median ms", "p90 ms");
    List<int[]> rows = new ArrayList<>();
    List<String> varied = new ArrayList<>();
    for (int w : new int[] {5, 20, 100}) {
      rows.add(new int[] {w, 5, 256, 30});
      varied.add("ways");
    }
    for (int k : new int[] {1, 20}) {
      rows.add(new int[] {5, k, 256, 30});
      varied.add("shots");
    }
    for (int d : new int[] {64, 512, 2048}) {
      rows.add(new int[] {5, 5, d, 30});
      varied.add("dim");
    }
    for (int s : new int[] {10, 100}) {
      rows.add(new int[] {5, 5, 256, s});
      varied.add("steps");
    }
    for (String method : List.of("inductive", "transductive")) {
      for (int i = 0; i < rows.size(); i++) {
        int[] row = rows.get(i);
        int w = row[0];
        int k = row[1];
        int d = row[2];
        int s = row[3];
        FineTuneBench.Result probe = FineTuneBench.run(w, k, w * queries, d, method, s, 1, 1, seed);
        double probeMillis = Math.max(probe.medianMillis(), 1e-3);
        // About 10 s of timed episodes per row at most, but never fewer than 3; about 2 s of
        // warm-up (at most 300 episodes), so that short fits run compiled code.
        int n = (int) Math.max(3, Math.min(gridRepeats, 10_000 / probeMillis));
        int warmup = (int) Math.max(2, Math.min(300, 2_000 / probeMillis));
        FineTuneBench.Result r =
            FineTuneBench.run(w, k, w * queries, d, method, s, n, warmup, seed);
        out.printf(
            "%-8s %-13s %5d %5d %7d %5d %5d %7d %10.3f %10.3f%n", varied.get(i), method, w, k,
            w * queries, d, s, n, r.medianMillis(), r.p90Millis());
        out.flush();
      }
    }
  }

  private void memory(PrintWriter out) {
    out.println();
    out.println(
        "== memory: " + tasks + " tasks of " + classes + " classes, " + features
            + " features; heap growth (totalMemory - freeMemory after System.gc())");
    MemoryBench.Result r = MemoryBench.run(tasks, classes, features, seed);
    double mib = 1024.0 * 1024;
    out.printf("%-52s %14s %12s %12s%n", "structure", "total MiB", "B per task", "B per class");
    out.printf(
        "%-52s %14.1f %12.0f %12.0f%n", "decoded snapshots (global store values, on heap)",
        r.snapshotHeapBytes() / mib, (double) r.snapshotHeapBytes() / tasks,
        (double) r.snapshotHeapBytes() / tasks / classes);
    out.printf(
        "%-52s %14.1f %12.0f %12.0f%n", "cached classifiers (query path)",
        r.classifierHeapBytes() / mib, (double) r.classifierHeapBytes() / tasks,
        (double) r.classifierHeapBytes() / tasks / classes);
    out.printf(
        "%-52s %14.1f %12.0f %12.0f%n", "both", (r.snapshotHeapBytes() + r.classifierHeapBytes()) / mib,
        r.bytesPerTask(), r.bytesPerClass());
    out.printf("snapshot of %d classes, %d features: %d bytes on the models topic (JSON),"
            + " %d bytes in the global store (binary, from its layout)%n",
        classes, features, r.modelsTopicBytes(), r.globalStoreBytes());
    out.println("not counted: the RocksDB stores (global snapshots, learner state) live off the Java heap");
    out.println(
        "the learner's heap per task in a running service (after a restore, and after one query"
            + " per task): bench --suite restore");
    out.flush();
  }

  /**
   * Fills a service with {@code --tasks} tasks and their query pools on an in-process broker,
   * closes it and times a fresh instance restoring everything into an empty state directory.
   */
  private void restore(PrintWriter out) throws IOException {
    if (tasks < 1 || classes < 1 || restoreShots < 1 || (poolQueries != null && poolQueries < 0)) {
      throw new FewShotException(
          String.format(
              "expected --tasks >= 1, --classes >= 1, --restore-shots >= 1, --pool-queries >= 0,"
                  + " found %d, %d, %d, %s",
              tasks, classes, restoreShots, poolQueries == null ? "the pool size" : poolQueries));
    }
    quietKafkaLogs();
    Path stateDir = Files.createTempDirectory("fewshot-bench-restore");
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        Embedder embedder = backbone.open()) {
      out.println();
      out.println(
          "== restore: " + tasks + " tasks x " + classes + " classes x " + restoreShots
              + " support embeddings (" + embedder.featureSize() + "-d) and "
              + (poolQueries == null ? "a full pool of" : poolQueries)
              + " query embeddings per task; in-process KRaft broker, 1 partition, 1 stream"
              + " thread, exactly_once_v2, fine-tuning off (prototypes); the first instance takes"
              + " it all in and closes, a second one with the same application id starts with an"
              + " empty state directory"
              + (serviceSettings.isEmpty() ? "" : "; service settings " + serviceSettings));
      out.println("embedder: " + embedder);
      out.flush();
      RestoreBench.Report r =
          new RestoreBench(
                  broker.bootstrapServers(), embedder, stateDir, serviceSettings,
                  Duration.ofSeconds(restoreWaitSeconds))
              .run(tasks, classes, restoreShots, poolQueries, seed, out);
      double mib = 1024.0 * 1024;
      out.println(
          "topics a restore from nothing reads; records counted with a read_committed consumer,"
              + " offsets include the commit markers");
      out.printf(Locale.ROOT, "%-66s %12s %12s%n", "topic", "records", "offsets");
      for (RestoreBench.TopicRecords t : r.changelogs()) {
        out.printf(Locale.ROOT, "%-66s %,12d %,12d%n", t.topic(), t.records(), t.offsets());
      }
      out.printf(
          Locale.ROOT, "%-66s %,12d %,12d%n", "all changelogs", r.restoredRecords(),
          r.changelogOffsets());
      out.printf(
          Locale.ROOT, "%-66s %,12d %,12d%n", "models topic (the global store's source)",
          r.models().records(), r.models().offsets());
      out.printf(Locale.ROOT, "%-56s %12s%n", "figure", "value");
      out.printf(Locale.ROOT, "%-56s %12d%n", "query embeddings sent per task", r.poolQueries());
      out.printf(Locale.ROOT, "%-56s %12.1f%n", "fill by the first instance, s", r.fillSeconds());
      out.printf(Locale.ROOT, "%-56s %12.1f%n", "start to RUNNING, s", r.runningSeconds());
      out.printf(
          Locale.ROOT, "%-56s %12.1f%n", "start to every task's state and snapshot readable, s",
          r.readableSeconds());
      out.printf(
          Locale.ROOT, "%-56s %12.1f%n", "start to one query per task answered, s",
          r.answeredSeconds());
      out.printf(
          Locale.ROOT, "%-56s %12.1f%n", "state directory after the restore, MiB",
          r.stateDirBytes() / mib);
      out.printf(
          Locale.ROOT, "%-56s %12.1f%n", "heap before the start, MiB", r.heapBeforeBytes() / mib);
      out.printf(
          Locale.ROOT, "%-56s %12.0f%n", "learner's heap per task after the restore, B",
          r.restoredBytesPerTask());
      out.printf(
          Locale.ROOT, "%-56s %12.0f%n", "heap per task after one query each, B",
          r.answeredBytesPerTask());
      out.println(
          "heap: used heap after System.gc() (MemoryMXBean), minus the same before the second"
              + " instance started, over tasks; the stores are RocksDB, off the Java heap");
      out.flush();
    } finally {
      deleteQuietly(stateDir);
    }
  }

  /** Prints the embedding table; returns the pipeline's images per second at batch 32, if run. */
  private double embedding(PrintWriter out, Embedder embedder, boolean withPipeline)
      throws IOException {
    List<byte[]> images = new ArrayList<>();
    String imagesLabel;
    if (photos == null) {
      for (SampleImage s : SampleImages.load()) {
        images.add(s.png());
      }
      imagesLabel = images.size() + " bundled sample PNGs";
    } else {
      images = readPhotos(photos);
      imagesLabel = images.size() + " files of " + photos;
    }
    out.println();
    out.println(
        "== " + (withPipeline ? "pipeline" : "onnx") + ": images per second, median of "
            + embedRepeats + " repeats (after 2 warm-up) of at least " + imagesPerRepeat
            + " images; " + imagesLabel);
    if (withPipeline) {
      out.printf("%6s %14s %18s %8s%n", "batch", "onnx images/s", "pipeline images/s", "ratio");
    } else {
      out.printf("%6s %14s%n", "batch", "onnx images/s");
    }
    double at32 = Double.NaN;
    for (int b : batchSizes) {
      EmbeddingBench.Row r = EmbeddingBench.run(embedder, images, b, embedRepeats, 2, imagesPerRepeat);
      if (withPipeline) {
        out.printf(
            "%6d %14.1f %18.1f %8.2f%n", b, r.onnxImagesPerSecond(), r.pipelineImagesPerSecond(),
            r.ratio());
      } else {
        out.printf("%6d %14.1f%n", b, r.onnxImagesPerSecond());
      }
      if (b == 32) {
        at32 = r.pipelineImagesPerSecond();
      }
      out.flush();
    }
    if (withPipeline && !megapixels.isEmpty()) {
      photoShare(out, embedder);
    }
    return at32;
  }

  /** Decode and preprocess time of camera-size photos against ONNX Runtime's time per image. */
  private void photoShare(PrintWriter out, Embedder embedder) {
    out.println();
    out.println(
        "== pipeline, photo sizes: one synthetic 4:3 JPEG (quality 0.9) per size, median of "
            + embedRepeats + " repeats after 2 warm-up; onnx = time per image at batch 32;"
            + " share = (decode + preprocess) / (decode + preprocess + onnx)");
    out.printf(
        "%6s %11s %9s %10s %14s %9s %7s%n", "MP", "size", "KiB", "decode ms", "preprocess ms",
        "onnx ms", "share");
    for (double mp : megapixels) {
      EmbeddingBench.PhotoRow r = EmbeddingBench.photo(embedder, mp, 32, embedRepeats, 2);
      out.printf(
          Locale.ROOT, "%6.1f %11s %9d %10.1f %14.1f %9.2f %6.0f%%%n", mp,
          r.width() + "x" + r.height(), r.encodedBytes() / 1024, r.decodeMillis(),
          r.preprocessMillis(), r.onnxMillisPerImage(), 100 * r.share());
      out.flush();
    }
  }

  private static List<byte[]> readPhotos(Path dir) throws IOException {
    List<byte[]> images = new ArrayList<>();
    try (var files = Files.list(dir)) {
      for (Path f : files.sorted().toList()) {
        String name = f.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".png") || name.endsWith(".jpg") || name.endsWith(".jpeg")) {
          images.add(Files.readAllBytes(f));
        }
      }
    }
    if (images.isEmpty()) {
      throw new FewShotException("expected PNG or JPEG files in --photos " + dir + ", found none");
    }
    return images;
  }

  /**
   * The Kafka ceiling and the service end to end, on one in-process broker; the end-to-end table
   * gives its ratios to the pipeline and to the ceilings measured in this run.
   */
  private void streaming(
      PrintWriter out, Embedder embedder, double pipelineAt32, boolean kafka, boolean endToEnd)
      throws IOException {
    for (double load : loads) {
      if (!(load > 0 && load <= 1)) {
        throw new FewShotException("expected --loads in (0, 1], found " + load);
      }
    }
    if (!(latencyWarmUpSeconds >= 0 && latencyWarmUpSeconds <= 3600)) {
      throw new FewShotException(
          "expected --latency-warm-up-seconds in [0, 3600], found " + latencyWarmUpSeconds);
    }
    List<KafkaCeilingBench.Variant> variants = new ArrayList<>();
    for (String v : kafkaVariants) {
      variants.add(KafkaCeilingBench.Variant.of(v));
    }
    SteadyLoad.Settings e2eSteady = steady(e2eQueries);
    SteadyLoad.Settings kafkaSteady =
        steady(kafkaQueries != null ? kafkaQueries : 10 * e2eQueries);
    quietKafkaLogs();
    Path stateDir = Files.createTempDirectory("fewshot-bench-state");
    List<KafkaCeilingBench.Report> ceilings = new ArrayList<>();
    List<EndToEndBench.Report> reports = new ArrayList<>();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults())) {
      if (kafka) {
        out.println();
        out.println(
            "== kafka: the Kafka ceiling, no model work; in-process KRaft broker, 1 partition, 1"
                + " stream thread, commit.interval.ms 100, the end-to-end harness and query events"
                + " (answers read with read_committed); " + kafkaSteady.describe()
                + (serviceSettings.isEmpty() ? "" : "; service settings " + serviceSettings));
        out.flush();
        KafkaCeilingBench ceiling =
            new KafkaCeilingBench(
                broker.bootstrapServers(), stateDir, serviceSettings,
                embedder == null ? features : embedder.featureSize());
        for (String guarantee : guarantees) {
          for (KafkaCeilingBench.Variant v : variants) {
            ceilings.add(ceiling.run(guarantee, v, kafkaSteady, out));
          }
        }
        out.printf(
            "%-16s %-13s %12s %8s %9s %12s %14s%n", "guarantee", "variant", "records/query",
            "queries", "seconds", "queries/s", "warm-up s");
        for (KafkaCeilingBench.Report c : ceilings) {
          SteadyLoad.Result r = c.result();
          out.printf(
              Locale.ROOT, "%-16s %-13s %12d %8d %9.2f %12.1f %9.1f%s%n", c.guarantee(),
              c.variant().flag, c.variant().recordsPerQuery, r.queries(), r.seconds(),
              r.queriesPerSecond(), r.warmUpSeconds(), r.settled() ? "" : " (not settled)");
        }
        out.flush();
      }
      if (endToEnd) {
        out.println();
        out.println(
            "== end-to-end: in-process KRaft broker, 1 partition, 1 stream thread, commit.interval.ms"
                + " 100, the 25 bundled support images of 5 classes registered first; predictions"
                + " read with read_committed; " + e2eSteady.describe()
                + (serviceSettings.isEmpty() ? "" : "; service settings " + serviceSettings));
        out.flush();
        EndToEndBench bench =
            new EndToEndBench(broker.bootstrapServers(), embedder, stateDir, serviceSettings);
        double[] fractions = loads.stream().mapToDouble(Double::doubleValue).toArray();
        for (String guarantee : guarantees) {
          out.println("running " + guarantee + " ...");
          out.flush();
          reports.add(
              bench.run(
                  guarantee, e2eSteady, fractions, latencySeconds, latencyWarmUpSeconds, 200, out));
        }
      }
    } finally {
      deleteQuietly(stateDir);
    }
    if (endToEnd) {
      endToEndTables(out, reports, ceilings, pipelineAt32);
    }
  }

  private SteadyLoad.Settings steady(int measured) {
    return new SteadyLoad.Settings(
        windowSeconds, steadyTolerance, steadyWindows, maxWarmUpSeconds, measured, 2_000);
  }

  private void endToEndTables(
      PrintWriter out,
      List<EndToEndBench.Report> reports,
      List<KafkaCeilingBench.Report> ceilings,
      double pipelineAt32) {
    out.printf(
        "%-16s %8s %9s %12s %9s %s%n", "guarantee", "queries", "seconds", "queries/s",
        "warm-up s", "ratio to pipeline at batch 32");
    for (EndToEndBench.Report r : reports) {
      out.printf(
          Locale.ROOT, "%-16s %8d %9.2f %12.1f %9.1f %s%s%n", r.guarantee(),
          r.throughput().queries(), r.throughput().seconds(), r.throughput().queriesPerSecond(),
          r.throughput().warmUpSeconds(),
          Double.isNaN(pipelineAt32)
              ? "(pipeline not run)"
              : String.format(Locale.ROOT, "%.2f (pipeline %.0f images/s)",
                  r.throughput().queriesPerSecond() / pipelineAt32, pipelineAt32),
          r.throughput().settled() ? "" : "  (warm-up did not settle)");
    }
    out.println();
    out.println(
        "ratios: end to end / limit; combined = 1 / (1/pipeline + 1/kafka), both limits from this"
            + " run");
    out.printf(
        "%-16s %-13s %11s %10s %11s %10s %11s %10s%n", "guarantee", "kafka variant", "pipeline/s",
        "ratio", "kafka/s", "ratio", "combined/s", "ratio");
    for (EndToEndBench.Report r : reports) {
      double e2e = r.throughput().queriesPerSecond();
      for (KafkaCeilingBench.Report c : ceilings) {
        if (!c.guarantee().equals(r.guarantee())) {
          continue;
        }
        double k = c.result().queriesPerSecond();
        double combined = 1 / (1 / pipelineAt32 + 1 / k);
        out.printf(
            Locale.ROOT, "%-16s %-13s %11.0f %10.2f %11.0f %10.2f %11.0f %10.2f%n", r.guarantee(),
            c.variant().flag, pipelineAt32, e2e / pipelineAt32, k, e2e / k, combined,
            e2e / combined);
      }
    }
    if (ceilings.isEmpty()) {
      out.println("(kafka not run: add --suite kafka for the ceiling and the combined ratios)");
    }
    out.println();
    out.println(
        "Kafka offsets written per measured query, by topic, over the measured span; under"
            + " exactly-once each commit also writes a marker to every partition its transaction"
            + " wrote to, so records = offsets - commits for a topic written in every transaction"
            + " (the input topic is written by the bench, without transactions); the learner"
            + " reads the repartition topic behind the query path, so its topics can lag or catch"
            + " up within the span");
    for (EndToEndBench.Report r : reports) {
      int n = r.throughput().queries();
      double commits = r.writes().commits() / n;
      out.printf(
          Locale.ROOT, "%s: %.0f commits, %.4f per query%n", r.guarantee(), r.writes().commits(),
          commits);
      out.printf("  %-70s %10s %10s%n", "topic", "offsets/q", "- commits");
      for (EndToEndBench.TopicWrites w : r.writes().topics()) {
        double offsets = (double) w.offsets() / n;
        out.printf(
            Locale.ROOT, "  %-70s %10.3f %10.3f%n", w.topic(), offsets,
            Math.max(0, offsets - commits));
      }
    }
    out.println();
    out.println(
        "latency, ms: visible = send to prediction read (read_committed);"
            + " service = predictedAt - query timestamp"
            + (latencyWarmUpSeconds > 0
                ? String.format(
                    Locale.ROOT,
                    "; each rate's measured queries follow %.0f s of queries at the same rate, not"
                        + " measured",
                    latencyWarmUpSeconds)
                : ""));
    out.printf(
        "%-16s %6s %10s %10s %8s %12s %12s %12s %12s%n", "guarantee", "load", "offered/s",
        "sent/s", "queries", "visible p50", "visible p99", "service p50", "service p99");
    for (EndToEndBench.Report r : reports) {
      for (int i = 0; i < r.latencies().size(); i++) {
        EndToEndBench.Latency l = r.latencies().get(i);
        out.printf(
            Locale.ROOT, "%-16s %5.0f%% %10.1f %10.1f %8d %12.1f %12.1f %12.1f %12.1f%n",
            r.guarantee(), 100 * loads.get(i), l.offeredRate(), l.achievedRate(), l.queries(),
            l.visibleP50(), l.visibleP99(), l.serviceP50(), l.serviceP99());
      }
    }
    out.flush();
  }

  /** The broker and clients warn about what is expected here; a user's own -D setting wins. */
  private static void quietKafkaLogs() {
    for (String logger : new String[] {"org.apache.kafka", "kafka"}) {
      String key = "org.slf4j.simpleLogger.log." + logger;
      if (System.getProperty(key) == null) {
        System.setProperty(key, "error");
      }
    }
  }

  private static String stepsLabel(int s) {
    return s == FineTuneBench.DEFAULT_STEPS ? "def" : Integer.toString(s);
  }

  private static void deleteQuietly(Path dir) {
    try (var paths = Files.walk(dir)) {
      paths.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a leftover temporary directory is harmless
    }
  }
}
