package io.fewshotstreams.app;

import io.fewshotstreams.dataset.Dataset;
import io.fewshotstreams.dataset.DatasetException;
import io.fewshotstreams.dataset.Sample;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.evaluation.FeatureTable;
import io.fewshotstreams.evaluation.Progress;
import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code embed}: features of a dataset as JSON Lines. */
@Command(
    name = "embed",
    mixinStandardHelpOptions = true,
    description =
        "Writes the backbone's raw features of a dataset as JSON Lines, one "
            + "{\"path\",\"label\",\"embedding\"} object a line.")
final class EmbedCommand implements Callable<Integer> {
  private static final int CHUNK = 1024;

  @Mixin DatasetOptions data;
  @Mixin BackboneOptions backbone;

  @Option(
      names = {"-o", "--out"},
      paramLabel = "FILE",
      description = "Output file (default: standard output).")
  Path out;

  @Option(names = "--quiet", description = "No progress lines on standard error.")
  boolean quiet;

  @Override
  public Integer call() throws Exception {
    Dataset dataset = data.open();
    if (!dataset.needsEmbedder()) {
      throw new DatasetException("embed needs images; --embeddings already holds features");
    }
    Progress progress = quiet ? Progress.NONE : new StderrProgress();
    List<Sample> samples = dataset.samples();
    try (Embedder embedder = backbone.open();
        Writer writer =
            out == null
                ? new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8))
                : Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
      for (int from = 0; from < samples.size(); from += CHUNK) {
        List<Sample> chunk = samples.subList(from, Math.min(samples.size(), from + CHUNK));
        FeatureTable features = FeatureTable.compute(dataset, embedder, chunk, Progress.NONE);
        for (Sample s : chunk) {
          EmbeddingsFile.writeLine(writer, s, features.get(s));
        }
        progress.update("embedding", from + chunk.size(), samples.size());
      }
    }
    return 0;
  }
}
