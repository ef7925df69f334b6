package io.fewshotstreams.evaluation;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.dataset.Dataset;
import io.fewshotstreams.dataset.DatasetException;
import io.fewshotstreams.dataset.Sample;
import io.fewshotstreams.embedding.Embedder;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/** Raw features of dataset samples by path, each computed once. */
public final class FeatureTable {
  private static final int CHUNK = 256;

  private final Map<String, float[]> byPath;

  private FeatureTable(Map<String, float[]> byPath) {
    this.byPath = byPath;
  }

  /** Features of every distinct sample of the given episodes. */
  public static FeatureTable forEpisodes(
      Dataset dataset, Embedder embedder, List<Episode> episodes, Progress progress) {
    LinkedHashSet<Sample> needed = new LinkedHashSet<>();
    for (Episode e : episodes) {
      needed.addAll(e.support());
      needed.addAll(e.query());
      needed.addAll(e.open());
    }
    return compute(dataset, embedder, needed, progress);
  }

  /**
   * Features of the given samples, computed in chunks. A sample whose image is rejected fails the
   * run with its path in the message.
   */
  public static FeatureTable compute(
      Dataset dataset, Embedder embedder, Collection<Sample> samples, Progress progress) {
    List<Sample> all = new ArrayList<>(samples);
    Map<String, float[]> out = new HashMap<>(all.size() * 2);
    for (int from = 0; from < all.size(); from += CHUNK) {
      List<Sample> chunk = all.subList(from, Math.min(all.size(), from + CHUNK));
      float[][] features = embedChunk(dataset, embedder, chunk);
      for (int i = 0; i < chunk.size(); i++) {
        out.put(chunk.get(i).path(), features[i]);
      }
      progress.update("embedding", from + chunk.size(), all.size());
    }
    return new FeatureTable(out);
  }

  private static float[][] embedChunk(Dataset dataset, Embedder embedder, List<Sample> chunk) {
    try {
      return dataset.features(embedder, chunk);
    } catch (FewShotException e) {
      // Find the offending sample so the message can name it.
      for (Sample s : chunk) {
        try {
          dataset.features(embedder, List.of(s));
        } catch (FewShotException single) {
          throw new DatasetException(
              "cannot embed " + s.path() + " of " + dataset.description() + ": "
                  + single.getMessage(),
              single);
        }
      }
      throw e;
    }
  }

  /** The raw feature of a sample. */
  public float[] get(Sample sample) {
    float[] f = byPath.get(sample.path());
    if (f == null) {
      throw new DatasetException("no feature computed for " + sample.path());
    }
    return f;
  }

  /** The raw features of samples, in order. */
  public float[][] getAll(List<Sample> samples) {
    float[][] out = new float[samples.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = get(samples.get(i));
    }
    return out;
  }
}
