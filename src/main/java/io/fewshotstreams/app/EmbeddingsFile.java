package io.fewshotstreams.app;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.fewshotstreams.dataset.Dataset;
import io.fewshotstreams.dataset.DatasetException;
import io.fewshotstreams.dataset.Sample;
import io.fewshotstreams.embedding.Embedder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON Lines of features, one {@code {"path","label","embedding"}} object a line: what {@code
 * embed} writes and {@code evaluate --embeddings} reads.
 */
final class EmbeddingsFile {
  /** One line of the file. */
  record Line(String path, String label, float[] embedding) {}

  private EmbeddingsFile() {}

  static void writeLine(Writer out, Sample sample, float[] embedding) throws IOException {
    out.write(Json.MAPPER.writeValueAsString(new Line(sample.path(), sample.label(), embedding)));
    out.write('\n');
  }

  /** Reads a file written by {@code embed} as a dataset whose features are already known. */
  static Dataset read(Path file) {
    List<Sample> samples = new ArrayList<>();
    Map<String, float[]> features = new HashMap<>();
    int dimension = -1;
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String text;
      int lineNo = 0;
      while ((text = in.readLine()) != null) {
        lineNo++;
        if (text.isBlank()) {
          continue;
        }
        Line line;
        try {
          line = Json.MAPPER.readValue(text, Line.class);
        } catch (JsonProcessingException e) {
          throw new DatasetException(
              file + " line " + lineNo + ": not a {\"path\",\"label\",\"embedding\"} object: "
                  + e.getOriginalMessage());
        }
        if (line.path() == null || line.label() == null || line.embedding() == null) {
          throw new DatasetException(
              file + " line " + lineNo + ": path, label and embedding are all required");
        }
        if (dimension < 0) {
          dimension = line.embedding().length;
        } else if (line.embedding().length != dimension) {
          throw new DatasetException(
              file + " line " + lineNo + ": embedding has " + line.embedding().length
                  + " values, earlier lines have " + dimension);
        }
        if (features.put(line.path(), line.embedding()) != null) {
          throw new DatasetException(file + " line " + lineNo + ": duplicate path " + line.path());
        }
        samples.add(new Sample(line.path(), line.label()));
      }
    } catch (IOException e) {
      throw new DatasetException("cannot read embeddings file " + file + ": " + e, e);
    }
    if (samples.isEmpty()) {
      throw new DatasetException("embeddings file " + file + " has no lines");
    }
    return new Precomputed(file.toString(), samples, features);
  }

  private record Precomputed(String description, List<Sample> samples, Map<String, float[]> byPath)
      implements Dataset {
    @Override
    public float[][] features(Embedder ignored, List<Sample> wanted) {
      float[][] out = new float[wanted.size()][];
      for (int i = 0; i < out.length; i++) {
        out[i] = byPath.get(wanted.get(i).path());
      }
      return out;
    }

    @Override
    public boolean needsEmbedder() {
      return false;
    }
  }
}
