package io.fewshotstreams.dataset;

import io.fewshotstreams.embedding.Embedder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A folder with one sub-folder per class holding that class's images: the layout torchvision's
 * {@code ImageFolder} reads. Classes and files are sorted by name, so the order is stable.
 */
public final class ImageFolderDataset implements Dataset {
  private static final Set<String> EXTENSIONS = Set.of("png", "jpg", "jpeg");

  private final Path root;
  private final List<Sample> samples;

  private ImageFolderDataset(Path root, List<Sample> samples) {
    this.root = root;
    this.samples = List.copyOf(samples);
  }

  /** Lists the images (.png, .jpg, .jpeg) under {@code root/<class>/}. */
  public static ImageFolderDataset open(Path root) {
    if (!Files.isDirectory(root)) {
      throw new DatasetException("image folder not found: " + root);
    }
    List<Sample> samples = new ArrayList<>();
    try (Stream<Path> classes = Files.list(root)) {
      for (Path classDir : classes.filter(Files::isDirectory).sorted().toList()) {
        String label = classDir.getFileName().toString();
        try (Stream<Path> files = Files.list(classDir)) {
          files
              .filter(Files::isRegularFile)
              .filter(ImageFolderDataset::isImage)
              .sorted(Comparator.comparing(Path::toString))
              .forEach(f -> samples.add(new Sample(root.relativize(f).toString(), label)));
        }
      }
    } catch (IOException e) {
      throw new DatasetException("cannot list image folder " + root + ": " + e, e);
    }
    if (samples.isEmpty()) {
      throw new DatasetException(
          "no images (.png, .jpg, .jpeg) in class sub-folders of " + root
              + "; expected " + root + "/<class>/<image>");
    }
    return new ImageFolderDataset(root, samples);
  }

  private static boolean isImage(Path file) {
    String name = file.getFileName().toString();
    int dot = name.lastIndexOf('.');
    return dot > 0 && EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
  }

  @Override
  public String description() {
    return root.toString();
  }

  @Override
  public List<Sample> samples() {
    return samples;
  }

  /** The encoded bytes of a sample's image file. */
  public byte[] bytes(Sample sample) {
    try {
      return Files.readAllBytes(root.resolve(sample.path()));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + root.resolve(sample.path()), e);
    }
  }

  @Override
  public float[][] features(Embedder embedder, List<Sample> wanted) {
    List<byte[]> encoded = new ArrayList<>(wanted.size());
    for (Sample s : wanted) {
      encoded.add(bytes(s));
    }
    return embedder.embedBatch(encoded);
  }
}
