package io.fewshotstreams.app;

import io.fewshotstreams.dataset.Dataset;
import io.fewshotstreams.dataset.DatasetException;
import io.fewshotstreams.dataset.FashionMnist;
import io.fewshotstreams.dataset.IdxDataset;
import io.fewshotstreams.dataset.ImageFolderDataset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/** Where the images come from: exactly one of an image folder, IDX files or an embeddings file. */
final class DatasetOptions {

  @ArgGroup(exclusive = true, multiplicity = "1")
  Source source;

  static final class Source {
    @Option(
        names = "--images",
        paramLabel = "DIR",
        description = "Image folder: one sub-folder per class holding .png/.jpg images.")
    Path images;

    @Option(
        names = "--fashion-mnist",
        paramLabel = "SPLIT",
        description = "Fashion-MNIST split (train or test) from the Debian package dataset-fashion-mnist.")
    String fashionMnist;

    @Option(
        names = "--idx-images",
        paramLabel = "FILE",
        description = "IDX image file (MNIST layout, optionally .gz); needs --idx-labels.")
    Path idxImages;

    @Option(
        names = "--embeddings",
        paramLabel = "FILE",
        description = "JSON Lines of precomputed features as written by `embed`; no backbone needed.")
    Path embeddings;
  }

  @Option(
      names = "--fashion-mnist-dir",
      paramLabel = "DIR",
      description = "Folder of the Fashion-MNIST IDX files (default: ${DEFAULT-VALUE}).")
  Path fashionMnistDir = FashionMnist.DEFAULT_DIR;

  @Option(
      names = "--idx-labels",
      paramLabel = "FILE",
      description = "IDX label file matching --idx-images.")
  Path idxLabels;

  @Option(
      names = "--class-names",
      split = ",",
      paramLabel = "NAME",
      description = "Names of IDX label values 0,1,2,... (default: label values; Fashion-MNIST names with --fashion-mnist).")
  List<String> classNames;

  @Option(
      names = "--classes",
      paramLabel = "SPEC",
      description =
          "IDX classes to use: novel, base, all, or a comma-separated list of label values or names "
              + "(default: novel with --fashion-mnist, else all).")
  String classes;

  Dataset open() {
    if (source.images != null) {
      rejectIdxOnly("--images");
      return ImageFolderDataset.open(source.images);
    }
    if (source.embeddings != null) {
      rejectIdxOnly("--embeddings");
      return EmbeddingsFile.read(source.embeddings);
    }
    if (source.fashionMnist != null) {
      Set<Integer> keep = FashionMnist.parseClasses(classes == null ? "novel" : classes);
      return FashionMnist.open(fashionMnistDir, source.fashionMnist, keep);
    }
    if (idxLabels == null) {
      throw new DatasetException("--idx-images needs --idx-labels");
    }
    List<String> names = classNames;
    if (names == null) {
      names = new ArrayList<>();
      for (int i = 0; i < 256; i++) {
        names.add(Integer.toString(i));
      }
    }
    Set<Integer> keep = new LinkedHashSet<>();
    if (classes != null && !classes.equals("all")) {
      for (String part : classes.split(",")) {
        int index = names.indexOf(part.trim());
        if (index < 0) {
          throw new DatasetException("--classes names '" + part.trim() + "', not one of " + names);
        }
        keep.add(index);
      }
    }
    return IdxDataset.read(source.idxImages, idxLabels, names, keep);
  }

  private void rejectIdxOnly(String with) {
    if (idxLabels != null || classNames != null || classes != null) {
      throw new DatasetException(
          "--idx-labels, --class-names and --classes apply to IDX data, not to " + with);
    }
  }
}
