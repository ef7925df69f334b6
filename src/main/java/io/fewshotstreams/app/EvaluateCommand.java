package io.fewshotstreams.app;

import io.fewshotstreams.dataset.Dataset;
import io.fewshotstreams.dataset.DatasetException;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.ModelCard;
import io.fewshotstreams.evaluation.Episode;
import io.fewshotstreams.evaluation.EpisodeSampler;
import io.fewshotstreams.dataset.FashionMnist;
import io.fewshotstreams.evaluation.Evaluator;
import io.fewshotstreams.evaluation.FeatureTable;
import io.fewshotstreams.evaluation.Interval;
import io.fewshotstreams.evaluation.MethodCatalog;
import io.fewshotstreams.evaluation.OpenSetMetrics;
import io.fewshotstreams.evaluation.PoolReport;
import io.fewshotstreams.evaluation.PoolShape;
import io.fewshotstreams.evaluation.Progress;
import io.fewshotstreams.fewshot.FeatureTransform;
import io.fewshotstreams.fewshot.FewShotMethod;
import io.fewshotstreams.fewshot.Methods;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code evaluate}: few-shot episodes offline, every method on the same episodes. */
@Command(
    name = "evaluate",
    mixinStandardHelpOptions = true,
    description = {
      "Runs N-way K-shot episodes offline (no Kafka) and prints, per method, with 95%% "
          + "intervals: the closed-set accuracy on the known-class queries, the AUROC of the "
          + "open-set score (known = positive), the shares of open-set and known-class images "
          + "rejected at the task's threshold, the expected calibration error (15 bins) and the "
          + "time per episode; then each method's accuracy minus that of prototypes, inductive "
          + "and auto, paired over the episodes.",
      "All methods run on the same episodes. The query pool is balanced, or Dirichlet-imbalanced "
          + "with --imbalance, and can hold images of classes absent from the support set "
          + "(--open-ways). Methods without an open-set rule are scored by their maximum softmax "
          + "probability."
    })
final class EvaluateCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin DatasetOptions data;
  @Mixin BackboneOptions backbone;

  @Option(names = "--ways", description = "Classes per episode (default: ${DEFAULT-VALUE}).")
  int ways = 5;

  @Option(
      names = "--shots",
      split = ",",
      description = "Support examples per class; a list runs each (default: ${DEFAULT-VALUE}).")
  List<Integer> shots = new ArrayList<>(List.of(5));

  @Option(
      names = "--queries",
      description =
          "Query images per support class; with --imbalance the pool holds ways x queries in all "
              + "(default: ${DEFAULT-VALUE}).")
  int queries = 15;

  @Option(
      names = "--imbalance",
      paramLabel = "dirichlet:ALPHA",
      description =
          "Draw each episode's class proportions of the query pool from a Dirichlet(ALPHA), at "
              + "least one query per class (Veilleux et al. 2021 use 2). Default: balanced.")
  String imbalance;

  @Option(
      names = "--open-ways",
      description = "Classes absent from the support set whose images join the pool (default: 0).")
  int openWays;

  @Option(
      names = "--open-queries",
      description = "Images of each open class (default: as --queries).")
  Integer openQueries;

  @Option(
      names = "--known-classes",
      split = ",",
      paramLabel = "NAME",
      description =
          "Classes the support classes are drawn from (default: all); with --fashion-mnist, "
              + "novel or base name those groups.")
  List<String> knownClasses = new ArrayList<>();

  @Option(
      names = "--open-classes",
      split = ",",
      paramLabel = "NAME",
      description =
          "Classes the open classes are drawn from (default: all not in the support); with "
              + "--fashion-mnist, novel or base name those groups.")
  List<String> openClasses = new ArrayList<>();

  @Option(
      names = "--accept-share",
      description =
          "Share of known-class images the support-derived thresholds of the MSP and baseline "
              + "scores accept (default: ${DEFAULT-VALUE}).")
  float acceptShare = 0.95f;

  @Option(names = "--episodes", description = "Episodes per shot count (default: ${DEFAULT-VALUE}).")
  int episodes = 600;

  @Option(names = "--seed", description = "Seed of the episode draw (default: ${DEFAULT-VALUE}).")
  long seed = 42;

  @Option(
      names = "--methods",
      split = ",",
      description = "Methods to compare (default: all of ${COMPLETION-CANDIDATES}).",
      completionCandidates = MethodNames.class)
  List<String> methods = new ArrayList<>(MethodCatalog.names());

  @Option(
      names = "--centring",
      description =
          "Subtract the backbone's base-class mean feature (from its model card) before "
              + "normalising. Off by default: it did not change accuracy and made fine-tuned "
              + "probabilities less well calibrated.")
  boolean centring;

  @Option(names = "--episodes-out", paramLabel = "FILE", description = "Write the drawn episodes.")
  Path episodesOut;

  @Option(
      names = "--episodes-in",
      paramLabel = "FILE",
      description = "Replay the episodes of a file written by --episodes-out instead of drawing.")
  Path episodesIn;

  @Option(
      names = "--json",
      paramLabel = "FILE",
      description =
          "Also write the results as JSON, with each method's reliability diagram (per confidence"
              + " bin: outcomes, accuracy, meanConfidence; empty for the open-set baselines).")
  Path jsonOut;

  @Option(names = "--quiet", description = "No progress lines on standard error.")
  boolean quiet;

  /** Valid method names for help and completion. */
  static final class MethodNames extends ArrayList<String> {
    private static final long serialVersionUID = 1L;

    MethodNames() {
      super(MethodCatalog.names());
    }
  }

  @Override
  public Integer call() throws Exception {
    if ((episodesIn != null || episodesOut != null) && shots.size() != 1) {
      throw new DatasetException("--episodes-in and --episodes-out take a single --shots value");
    }
    List<FewShotMethod> chosen = methods.stream().map(MethodCatalog::byName).toList();
    Dataset dataset = data.open();
    Progress progress = quiet ? Progress.NONE : new StderrProgress();
    PoolShape shape =
        new PoolShape(
            ways, shots.get(0), queries, dirichletAlpha(), openWays,
            openQueries == null ? queries : openQueries, classNames(knownClasses),
            classNames(openClasses));

    List<List<Episode>> runs = new ArrayList<>();
    if (episodesIn != null) {
      runs.add(EpisodesFile.read(episodesIn, dataset));
    } else {
      EpisodeSampler sampler = new EpisodeSampler(dataset);
      for (int k : shots) {
        runs.add(sampler.sample(shape.withShots(k), episodes, seed));
      }
    }
    if (episodesOut != null) {
      EpisodesFile.write(episodesOut, runs.get(0));
    }
    List<Episode> allEpisodes = runs.stream().flatMap(List::stream).toList();

    FeatureTable features;
    String backboneId;
    FeatureTransform transform;
    try (Embedder embedder = dataset.needsEmbedder() ? backbone.open() : null) {
      features = FeatureTable.forEpisodes(dataset, embedder, allEpisodes, progress);
      // Centring needs the card's base mean; precomputed features need no card otherwise.
      ModelCard card = embedder != null ? embedder.card() : centring ? backbone.card() : null;
      backboneId = embedder != null ? card.id() : "precomputed features";
      transform =
          centring && card.baseMean() != null
              ? FeatureTransform.centring(card.baseMean())
              : FeatureTransform.none();
    }

    PrintWriter out = spec.commandLine().getOut();
    out.printf(
        Locale.ROOT,
        "dataset %s: %d samples, %d classes; backbone %s; centring %s%n",
        dataset.description(), dataset.samples().size(), dataset.classes().size(), backboneId,
        transform.centre() != null ? "on" : "off");
    Evaluator evaluator = new Evaluator(transform, acceptShare);
    List<Map<String, Object>> json = new ArrayList<>();
    for (List<Episode> run : runs) {
      Episode first = run.get(0);
      int runWays = first.classes().size();
      int runShots = first.support().size() / runWays;
      int runQueries = first.query().size() / runWays;
      int runOpen = first.open().size();
      List<PoolReport> results = evaluator.evaluatePools(run, features, chosen, progress);
      out.printf(
          Locale.ROOT,
          "%n%d-way %d-shot %d-query, %d episodes%s%s%n",
          runWays, runShots, runQueries, run.size(),
          episodesIn != null ? " from " + episodesIn : ", seed " + seed,
          episodesIn != null
              ? (runOpen > 0 ? ", " + runOpen + " open-set images in the first" : "")
              : ", " + shape.describe());
      out.printf(
          Locale.ROOT,
          "%-22s %17s %15s %15s %15s %21s %15s %10s %9s%n",
          "method", "accuracy (95% CI)", "AUROC", "unknown reject", "known reject",
          "ECE (95% CI)", "task gap", "ms/episode", "median ms");
      for (PoolReport r : results) {
        out.printf(
            Locale.ROOT,
            "%-22s %17s %15s %15s %15s %21s %15s %10.3f %9.3f%n",
            r.method(), percent(r.accuracy()), percent(r.auroc()), percent(r.unknownRejected()),
            percent(r.knownRejected()), ece(r), gap(r.taskGap()), r.meanMillis(),
            r.medianMillis());
      }
      for (PoolReport r : results) {
        if (!r.fits().isEmpty()) {
          StringBuilder line = new StringBuilder("fits of " + r.method() + ", episodes each:");
          r.fits().forEach((fit, count) -> line.append(' ').append(fit).append(' ').append(count));
          out.println(line);
        }
      }
      Map<String, PoolReport> references = new LinkedHashMap<>();
      for (PoolReport r : results) {
        if (List.of(Methods.PROTOTYPES, Methods.INDUCTIVE, Methods.AUTO).contains(r.method())) {
          references.put(r.method(), r);
        }
      }
      if (!references.isEmpty()) {
        out.printf(
            Locale.ROOT, "accuracy minus that of %s, paired over the episodes:%n",
            String.join(", ", references.keySet()));
        for (PoolReport r : results) {
          if (r.method().startsWith("baseline:")) {
            continue;
          }
          StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-22s", r.method()));
          for (PoolReport ref : references.values()) {
            Interval d = r.pairedAccuracyDifference(ref);
            line.append(
                String.format(
                    Locale.ROOT, " %+7.2f ± %4.2f", 100 * d.mean(), 100 * d.ci95()));
          }
          out.println(line);
        }
      }
      for (PoolReport r : results) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("ways", runWays);
        row.put("shots", runShots);
        row.put("queries", runQueries);
        row.put("openImages", runOpen);
        row.put("dirichletAlpha", episodesIn != null ? null : shape.dirichletAlpha());
        row.put("episodes", run.size());
        row.put("method", r.method());
        row.put("meanAccuracy", r.accuracy().mean());
        row.put("ci95", r.accuracy().ci95());
        row.put("auroc", finite(r.auroc().mean()));
        row.put("aurocCi95", finite(r.auroc().ci95()));
        row.put("unknownRejected", finite(r.unknownRejected().mean()));
        row.put("unknownRejectedCi95", finite(r.unknownRejected().ci95()));
        row.put("knownRejected", finite(r.knownRejected().mean()));
        row.put("knownRejectedCi95", finite(r.knownRejected().ci95()));
        row.put("ece", finite(r.ece()));
        row.put("eceLow", finite(r.eceLow()));
        row.put("eceHigh", finite(r.eceHigh()));
        row.put("taskGap", finite(r.taskGap().mean()));
        row.put("taskGapCi95", finite(r.taskGap().ci95()));
        List<Map<String, Object>> bins = new ArrayList<>();
        for (OpenSetMetrics.ReliabilityBin b : r.reliability()) {
          Map<String, Object> bin = new LinkedHashMap<>();
          // The keys of the service's own diagram (GET /api/tasks/{task}/accuracy).
          bin.put("lower", b.lower());
          bin.put("upper", b.upper());
          bin.put("outcomes", b.count());
          bin.put("accuracy", b.accuracy());
          bin.put("meanConfidence", b.confidence());
          bins.add(bin);
        }
        row.put("reliability", bins);
        row.put("fits", r.fits());
        row.put("meanMillis", r.meanMillis());
        row.put("medianMillis", r.medianMillis());
        if (!r.method().startsWith("baseline:")) {
          Map<String, Object> paired = new LinkedHashMap<>();
          for (PoolReport ref : references.values()) {
            Interval d = r.pairedAccuracyDifference(ref);
            paired.put(ref.method(), Map.of("mean", d.mean(), "ci95", d.ci95()));
          }
          row.put("pairedAccuracyDifference", paired);
        }
        json.add(row);
      }
    }
    out.flush();
    if (jsonOut != null) {
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("dataset", dataset.description());
      doc.put("backbone", backboneId);
      doc.put("centring", transform.centre() != null);
      doc.put("seed", episodesIn != null ? null : seed);
      doc.put("acceptShare", acceptShare);
      doc.put("results", json);
      Json.MAPPER.writerWithDefaultPrettyPrinter().writeValue(jsonOut.toFile(), doc);
    }
    return 0;
  }

  private double dirichletAlpha() {
    if (imbalance == null) {
      return 0;
    }
    String prefix = "dirichlet:";
    if (imbalance.startsWith(prefix)) {
      try {
        double alpha = Double.parseDouble(imbalance.substring(prefix.length()));
        if (alpha > 0 && Double.isFinite(alpha)) {
          return alpha;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
    }
    throw new DatasetException(
        "expected --imbalance dirichlet:ALPHA with a finite ALPHA > 0, found '" + imbalance + "'");
  }

  /** Expands the Fashion-MNIST groups novel and base to their class names. */
  private static List<String> classNames(List<String> spec) {
    List<String> out = new ArrayList<>();
    for (String name : spec) {
      String n = name.trim();
      if (n.equals("novel") || n.equals("base")) {
        for (int label : FashionMnist.parseClasses(n)) {
          out.add(FashionMnist.CLASS_NAMES.get(label));
        }
      } else {
        out.add(n);
      }
    }
    return out;
  }

  private static String percent(Interval i) {
    return i.applies()
        ? String.format(Locale.ROOT, "%6.2f%% ± %5.2f", 100 * i.mean(), 100 * i.ci95())
        : "-";
  }

  private static String gap(Interval i) {
    return i.applies() ? String.format(Locale.ROOT, "%.3f ± %.3f", i.mean(), i.ci95()) : "-";
  }

  private static String ece(PoolReport r) {
    return Double.isFinite(r.ece())
        ? String.format(
            Locale.ROOT, "%.3f [%.3f, %.3f]", r.ece(), r.eceLow(), r.eceHigh())
        : "-";
  }

  private static Double finite(double v) {
    return Double.isFinite(v) ? v : null;
  }
}
