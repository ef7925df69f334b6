package io.fewshotstreams.dataset;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The sample images bundled on the classpath for {@code demo}: 60 Fashion-MNIST test images of
 * each novel class ({@link FashionMnist#NOVEL}), written by {@code tools/samples/make_samples.py}.
 * A jar's folders cannot be listed, so the images are found through the manifest {@code index.tsv}
 * (columns {@code label}, {@code path}, {@code testIndex}, one header line).
 *
 * <p>Beside them, 30 test images of one base class, Bag ({@link #loadUnregistered()}): a
 * class the demo never registers, streamed to show the answer "unknown".
 */
public final class SampleImages {
  /** Classpath folder of the images and their manifest. */
  public static final String RESOURCE_FOLDER = "/samples/fashion-mnist-novel/";

  /** Classpath folder of the images of the unregistered class and their manifest. */
  public static final String UNREGISTERED_FOLDER = "/samples/fashion-mnist-unregistered/";

  private static final String MANIFEST = "index.tsv";
  private static final String HEADER = "label\tpath\ttestIndex";

  private SampleImages() {}

  /**
   * All sample images in manifest order (class by class, by test index within a class).
   *
   * @throws DatasetException if the manifest or an image it names is missing or malformed
   */
  public static List<SampleImage> load() {
    return load(RESOURCE_FOLDER);
  }

  /**
   * The images of the class no sample task registers (Bag, a class the bundled backbone
   * was trained on), in manifest order.
   *
   * @throws DatasetException if the manifest or an image it names is missing or malformed
   */
  public static List<SampleImage> loadUnregistered() {
    return load(UNREGISTERED_FOLDER);
  }

  private static List<SampleImage> load(String folder) {
    List<SampleImage> images = new ArrayList<>();
    Set<String> names = new HashSet<>();
    List<String> lines = readManifest(folder);
    if (lines.isEmpty() || !lines.get(0).equals(HEADER)) {
      throw new DatasetException(
          "sample manifest " + folder + MANIFEST + " should start with the header '"
              + HEADER.replace("\t", "\\t") + "', found '"
              + (lines.isEmpty() ? "" : lines.get(0).replace("\t", "\\t")) + "'");
    }
    for (int i = 1; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.isEmpty()) {
        continue;
      }
      String[] fields = line.split("\t", -1);
      if (fields.length != 3) {
        throw malformed(folder, i + 1, "3 tab-separated fields, found " + fields.length);
      }
      int testIndex;
      try {
        testIndex = Integer.parseInt(fields[2]);
      } catch (NumberFormatException e) {
        throw malformed(folder, i + 1, "a test index, found '" + fields[2] + "'");
      }
      if (!names.add(fields[1])) {
        throw malformed(folder, i + 1, "a path not listed before, found '" + fields[1] + "' again");
      }
      images.add(new SampleImage(fields[0], fields[1], testIndex, readImage(folder, fields[1])));
    }
    if (images.isEmpty()) {
      throw new DatasetException("sample manifest " + folder + MANIFEST + " lists no images");
    }
    return List.copyOf(images);
  }

  /**
   * The samples split into support and queries: the first {@code shots} images of each class (in
   * manifest order) are support, the others are queries.
   *
   * @throws DatasetException unless every class has more than {@code shots} images
   */
  public static Split split(int shots) {
    Map<String, List<SampleImage>> byClass = new LinkedHashMap<>();
    for (SampleImage image : load()) {
      byClass.computeIfAbsent(image.label(), k -> new ArrayList<>()).add(image);
    }
    List<SampleImage> support = new ArrayList<>();
    List<SampleImage> queries = new ArrayList<>();
    for (List<SampleImage> images : byClass.values()) {
      if (shots < 1 || shots >= images.size()) {
        throw new DatasetException(
            "expected between 1 and " + (images.size() - 1) + " shots, found " + shots);
      }
      support.addAll(images.subList(0, shots));
      queries.addAll(images.subList(shots, images.size()));
    }
    return new Split(List.copyOf(byClass.keySet()), support, queries);
  }

  /** The classes in manifest order, the support images and the query images. */
  public record Split(List<String> labels, List<SampleImage> support, List<SampleImage> queries) {
    public Split {
      labels = List.copyOf(labels);
      support = List.copyOf(support);
      queries = List.copyOf(queries);
    }
  }

  private static List<String> readManifest(String folder) {
    try (InputStream in = open(folder, MANIFEST);
        BufferedReader reader =
            new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      return reader.lines().toList();
    } catch (IOException e) {
      throw new DatasetException("cannot read " + folder + MANIFEST + ": " + e, e);
    }
  }

  private static byte[] readImage(String folder, String path) {
    try (InputStream in = open(folder, path)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new DatasetException("cannot read sample image " + folder + path + ": " + e, e);
    }
  }

  private static InputStream open(String folder, String path) {
    InputStream in = SampleImages.class.getResourceAsStream(folder + path);
    if (in == null) {
      throw new DatasetException(
          "sample resource " + folder + path + " not found on the classpath"
              + " (written by tools/samples/make_samples.py)");
    }
    return in;
  }

  private static DatasetException malformed(String folder, int lineNumber, String expected) {
    return new DatasetException(
        "sample manifest " + folder + MANIFEST + " line " + lineNumber + ": expected "
            + expected);
  }
}
