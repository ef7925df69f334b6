package io.fewshotstreams.app;

import io.fewshotstreams.dataset.Dataset;
import io.fewshotstreams.dataset.DatasetException;
import io.fewshotstreams.dataset.Sample;
import io.fewshotstreams.evaluation.Episode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Drawn episodes as {@code {"episodes":[{"support":[path,..],"query":[path,..],"open":[path,..]}]}},
 * so that other tools can be compared on exactly the same episodes and runs can be replayed. {@code
 * open}, the images of classes absent from the support set, is optional and written only when an
 * episode has some.
 */
final class EpisodesFile {
  record EpisodeJson(List<String> support, List<String> query, List<String> open) {}

  record FileJson(List<EpisodeJson> episodes) {}

  private EpisodesFile() {}

  static void write(Path file, List<Episode> episodes) throws IOException {
    // Maps rather than EpisodeJson, so that closed-set episodes are written without "open".
    List<Map<String, List<String>>> out = new ArrayList<>(episodes.size());
    for (Episode e : episodes) {
      Map<String, List<String>> episode = new LinkedHashMap<>();
      episode.put("support", paths(e.support()));
      episode.put("query", paths(e.query()));
      if (!e.open().isEmpty()) {
        episode.put("open", paths(e.open()));
      }
      out.add(episode);
    }
    Json.MAPPER.writeValue(file.toFile(), Map.of("episodes", out));
  }

  /** Reads episodes and resolves their paths against the dataset. */
  static List<Episode> read(Path file, Dataset dataset) {
    FileJson json;
    try {
      json = Json.MAPPER.readValue(file.toFile(), FileJson.class);
    } catch (IOException e) {
      throw new DatasetException("cannot read episodes file " + file + ": " + e.getMessage(), e);
    }
    if (json.episodes() == null || json.episodes().isEmpty()) {
      throw new DatasetException("episodes file " + file + " has no episodes");
    }
    Map<String, Sample> byPath = new HashMap<>();
    dataset.samples().forEach(s -> byPath.put(s.path(), s));
    List<Episode> episodes = new ArrayList<>(json.episodes().size());
    for (int i = 0; i < json.episodes().size(); i++) {
      EpisodeJson e = json.episodes().get(i);
      if (e.support() == null || e.query() == null) {
        throw new DatasetException(file + " episode " + i + ": support and query are required");
      }
      try {
        episodes.add(
            new Episode(
                resolve(e.support(), byPath, dataset),
                resolve(e.query(), byPath, dataset),
                e.open() == null ? List.of() : resolve(e.open(), byPath, dataset)));
      } catch (IllegalArgumentException bad) {
        throw new DatasetException(file + " episode " + i + ": " + bad.getMessage(), bad);
      }
    }
    return episodes;
  }

  private static List<Sample> resolve(
      List<String> paths, Map<String, Sample> byPath, Dataset dataset) {
    List<Sample> out = new ArrayList<>(paths.size());
    for (String p : paths) {
      Sample s = byPath.get(p);
      if (s == null) {
        throw new DatasetException(
            "episode names " + p + ", which is not in " + dataset.description());
      }
      out.add(s);
    }
    return out;
  }

  private static List<String> paths(List<Sample> samples) {
    return samples.stream().map(Sample::path).toList();
  }
}
