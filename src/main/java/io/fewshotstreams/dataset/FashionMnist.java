package io.fewshotstreams.dataset;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Fashion-MNIST as installed by the Debian package {@code dataset-fashion-mnist}, with the
 * project's split into base classes (pretraining) and novel classes (few-shot evaluation).
 */
public final class FashionMnist {
  /** Where the Debian package installs the IDX files. */
  public static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");

  /** Class names by label value. */
  public static final List<String> CLASS_NAMES =
      List.of(
          "T-shirt/top",
          "Trouser",
          "Pullover",
          "Dress",
          "Coat",
          "Sandal",
          "Shirt",
          "Sneaker",
          "Bag",
          "Ankle boot");

  /** Classes the bundled backbone was trained on. */
  public static final List<Integer> BASE = List.of(0, 1, 3, 5, 8);

  /** Classes the backbone never saw: the few-shot test bed. */
  public static final List<Integer> NOVEL = List.of(2, 4, 6, 7, 9);

  private FashionMnist() {}

  /**
   * Opens one split.
   *
   * @param split {@code train} or {@code test}
   * @param classes label values to keep; empty keeps all ten
   */
  public static IdxDataset open(Path dir, String split, Set<Integer> classes) {
    String prefix =
        switch (split.toLowerCase(Locale.ROOT)) {
          case "train" -> "train";
          case "test", "t10k" -> "t10k";
          default ->
              throw new DatasetException(
                  "unknown Fashion-MNIST split '" + split + "', expected train or test");
        };
    return IdxDataset.read(
        find(dir, prefix + "-images-idx3-ubyte"),
        find(dir, prefix + "-labels-idx1-ubyte"),
        CLASS_NAMES,
        classes);
  }

  private static Path find(Path dir, String stem) {
    Path gz = dir.resolve(stem + ".gz");
    if (gz.toFile().isFile()) {
      return gz;
    }
    Path plain = dir.resolve(stem);
    if (plain.toFile().isFile()) {
      return plain;
    }
    throw new DatasetException(
        "Fashion-MNIST file " + stem + "(.gz) not found in " + dir
            + " (install the Debian package dataset-fashion-mnist or pass --fashion-mnist-dir)");
  }

  /**
   * Parses a class selection: {@code novel}, {@code base}, {@code all}, or a comma-separated list of
   * label values or class names.
   */
  public static Set<Integer> parseClasses(String spec) {
    String s = spec.trim().toLowerCase(Locale.ROOT);
    switch (s) {
      case "novel":
        return new LinkedHashSet<>(NOVEL);
      case "base":
        return new LinkedHashSet<>(BASE);
      case "all":
        return Set.of();
      default:
        break;
    }
    Set<Integer> out = new LinkedHashSet<>();
    List<String> unknown = new ArrayList<>();
    for (String part : spec.split(",")) {
      String p = part.trim();
      int index = indexOf(p);
      if (index < 0) {
        unknown.add(p);
      } else {
        out.add(index);
      }
    }
    if (!unknown.isEmpty()) {
      throw new DatasetException(
          "unknown Fashion-MNIST classes " + unknown + "; use novel, base, all, label values 0-9 or "
              + CLASS_NAMES);
    }
    return out;
  }

  private static int indexOf(String p) {
    if (p.matches("\\d")) {
      return Integer.parseInt(p);
    }
    for (int i = 0; i < CLASS_NAMES.size(); i++) {
      if (CLASS_NAMES.get(i).equalsIgnoreCase(p)) {
        return i;
      }
    }
    return -1;
  }
}
