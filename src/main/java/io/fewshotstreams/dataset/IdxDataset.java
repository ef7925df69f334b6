package io.fewshotstreams.dataset;

import io.fewshotstreams.embedding.Embedder;
import java.awt.image.BufferedImage;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/**
 * Grayscale images and labels in the IDX format of MNIST and Fashion-MNIST (plain or gzipped).
 * Sample paths are {@code <images file name>#<index in the file>}, so episodes can be replayed.
 */
public final class IdxDataset implements Dataset {
  private static final int IMAGES_MAGIC = 0x00000803;
  private static final int LABELS_MAGIC = 0x00000801;

  private final String description;
  private final int height;
  private final int width;
  private final byte[] pixels;
  private final List<Sample> samples;
  private final Map<String, Integer> offsetByPath;

  private IdxDataset(
      String description,
      int height,
      int width,
      byte[] pixels,
      List<Sample> samples,
      Map<String, Integer> offsetByPath) {
    this.description = description;
    this.height = height;
    this.width = width;
    this.pixels = pixels;
    this.samples = List.copyOf(samples);
    this.offsetByPath = Map.copyOf(offsetByPath);
  }

  /**
   * Reads an IDX image file and its label file.
   *
   * @param classNames name of each label value (label {@code v} is named {@code classNames.get(v)})
   * @param keep label values to keep; empty keeps all
   */
  public static IdxDataset read(
      Path imagesFile, Path labelsFile, List<String> classNames, Set<Integer> keep) {
    byte[] labels;
    int count;
    int rows;
    int cols;
    byte[] all;
    try (DataInputStream in = open(labelsFile)) {
      int magic = in.readInt();
      if (magic != LABELS_MAGIC) {
        throw new DatasetException(
            String.format(
                "%s is not an IDX label file: magic 0x%08x, expected 0x%08x",
                labelsFile, magic, LABELS_MAGIC));
      }
      labels = new byte[in.readInt()];
      in.readFully(labels);
    } catch (IOException e) {
      throw new DatasetException("cannot read IDX labels " + labelsFile + ": " + e, e);
    }
    try (DataInputStream in = open(imagesFile)) {
      int magic = in.readInt();
      if (magic != IMAGES_MAGIC) {
        throw new DatasetException(
            String.format(
                "%s is not an IDX image file: magic 0x%08x, expected 0x%08x",
                imagesFile, magic, IMAGES_MAGIC));
      }
      count = in.readInt();
      rows = in.readInt();
      cols = in.readInt();
      if (count != labels.length) {
        throw new DatasetException(
            "IDX files disagree: " + imagesFile + " has " + count + " images, " + labelsFile
                + " has " + labels.length + " labels");
      }
      all = new byte[Math.multiplyExact(Math.multiplyExact(count, rows), cols)];
      in.readFully(all);
    } catch (IOException e) {
      throw new DatasetException("cannot read IDX images " + imagesFile + ": " + e, e);
    }
    String prefix = imagesFile.getFileName().toString() + "#";
    List<Sample> samples = new ArrayList<>();
    Map<String, Integer> offsets = new HashMap<>();
    for (int i = 0; i < count; i++) {
      int value = labels[i] & 0xff;
      if (!keep.isEmpty() && !keep.contains(value)) {
        continue;
      }
      if (value >= classNames.size()) {
        throw new DatasetException(
            "label " + value + " at index " + i + " of " + labelsFile + " has no class name; "
                + classNames.size() + " names were given");
      }
      Sample s = new Sample(prefix + i, classNames.get(value));
      samples.add(s);
      offsets.put(s.path(), i * rows * cols);
    }
    if (samples.isEmpty()) {
      throw new DatasetException("no images of classes " + keep + " in " + labelsFile);
    }
    return new IdxDataset(imagesFile.toString(), rows, cols, all, samples, offsets);
  }

  private static DataInputStream open(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new DatasetException("IDX file not found: " + file);
    }
    InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
    if (file.getFileName().toString().endsWith(".gz")) {
      raw = new GZIPInputStream(raw, 1 << 16);
    }
    return new DataInputStream(raw);
  }

  @Override
  public String description() {
    return description;
  }

  @Override
  public List<Sample> samples() {
    return samples;
  }

  /** The image of a sample as an 8-bit grayscale picture. */
  public BufferedImage image(Sample sample) {
    Integer offset = offsetByPath.get(sample.path());
    if (offset == null) {
      throw new DatasetException("sample " + sample.path() + " is not in " + description);
    }
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
    image.getRaster().setDataElements(0, 0, width, height, slice(offset));
    return image;
  }

  private byte[] slice(int offset) {
    byte[] out = new byte[height * width];
    System.arraycopy(pixels, offset, out, 0, out.length);
    return out;
  }

  @Override
  public float[][] features(Embedder embedder, List<Sample> wanted) {
    List<BufferedImage> images = new ArrayList<>(wanted.size());
    for (Sample s : wanted) {
      images.add(image(s));
    }
    return embedder.embedImages(images);
  }
}
