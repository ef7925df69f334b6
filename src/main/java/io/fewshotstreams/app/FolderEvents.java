package io.fewshotstreams.app;

import io.fewshotstreams.dataset.DatasetException;
import io.fewshotstreams.embedding.ImagePreprocessor;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Turns a folder of images into support or query events, without Kafka.
 *
 * <p>Support: {@code folder/<label>/<file>} (the layout {@code ImageFolderDataset} reads) gives one
 * add-example event per image with {@code exampleId = <label>/<file>}. Query: every image anywhere
 * under {@code folder} gives one query event with {@code queryId} = its path relative to {@code
 * folder}, separated by {@code /}. Events come sorted by that id. The content type comes from the
 * file's first bytes, not its name; files that are neither PNG nor JPEG are reported and skipped.
 * Names starting with a dot (hidden files and folders) are ignored.
 */
final class FolderEvents {
  static final int SCHEMA_VERSION = 1;

  /** An image file to publish and the id its event gets. */
  record ImageFile(Path file, String id, String label) {}

  private FolderEvents() {}

  /**
   * Lists the files of a support folder, sorted by id.
   *
   * @throws DatasetException if the folder is missing or has no files in class sub-folders
   */
  static List<ImageFile> listSupport(Path folder, Consumer<String> warnings) {
    requireFolder(folder);
    List<ImageFile> files = new ArrayList<>();
    for (Path child : children(folder)) {
      if (Files.isDirectory(child)) {
        String label = child.getFileName().toString();
        for (Path file : children(child)) {
          if (Files.isRegularFile(file)) {
            files.add(new ImageFile(file, label + "/" + file.getFileName(), label));
          }
        }
      } else {
        warnings.accept(
            "skipped " + child + ": support images belong in a class sub-folder, "
                + folder + "/<label>/<image>");
      }
    }
    return nonEmpty(sorted(files), "class sub-folders of " + folder
        + "; expected " + folder + "/<label>/<image>");
  }

  /**
   * Lists the files anywhere under a query folder, sorted by id.
   *
   * @throws DatasetException if the folder is missing or holds no files
   */
  static List<ImageFile> listQueries(Path folder) {
    requireFolder(folder);
    List<ImageFile> files = new ArrayList<>();
    walk(folder, folder, files);
    return nonEmpty(sorted(files), folder.toString());
  }

  /**
   * Reads each file and hands its add-example event to {@code sink}.
   *
   * @return how many events were made
   */
  static int supportEvents(
      List<ImageFile> files,
      String task,
      Consumer<SupportEvent.AddExample> sink,
      Consumer<String> warnings) {
    int count = 0;
    for (ImageFile f : files) {
      Image image = readImage(f.file(), warnings);
      if (image != null) {
        sink.accept(
            new SupportEvent.AddExample(SCHEMA_VERSION, task, f.label(), f.id(), image, null));
        count++;
      }
    }
    return count;
  }

  /**
   * Reads each file and hands its query event to {@code sink}.
   *
   * @return how many events were made
   */
  static int queryEvents(
      List<ImageFile> files, String task, Consumer<QueryEvent> sink, Consumer<String> warnings) {
    int count = 0;
    for (ImageFile f : files) {
      Image image = readImage(f.file(), warnings);
      if (image != null) {
        sink.accept(new QueryEvent(SCHEMA_VERSION, task, f.id(), image, null, null));
        count++;
      }
    }
    return count;
  }

  /** {@link Image#PNG} or {@link Image#JPEG} from the leading bytes, or null for anything else. */
  static String contentType(byte[] bytes) {
    return ImagePreprocessor.mediaType(bytes);
  }


  private static Image readImage(Path file, Consumer<String> warnings) {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new DatasetException("cannot read " + file + ": " + e, e);
    }
    String type = contentType(bytes);
    if (type == null) {
      warnings.accept("skipped " + file + ": not a PNG or JPEG image");
      return null;
    }
    return new Image(type, bytes);
  }

  private static void walk(Path root, Path dir, List<ImageFile> out) {
    for (Path child : children(dir)) {
      if (Files.isDirectory(child)) {
        walk(root, child, out);
      } else if (Files.isRegularFile(child)) {
        out.add(new ImageFile(child, relativeId(root, child), null));
      }
    }
  }

  private static String relativeId(Path root, Path file) {
    StringBuilder id = new StringBuilder();
    for (Path part : root.relativize(file)) {
      if (id.length() > 0) {
        id.append('/');
      }
      id.append(part);
    }
    return id.toString();
  }

  private static List<Path> children(Path dir) {
    try (Stream<Path> list = Files.list(dir)) {
      return list.filter(p -> !p.getFileName().toString().startsWith(".")).toList();
    } catch (IOException e) {
      throw new DatasetException("cannot list " + dir + ": " + e, e);
    }
  }

  private static void requireFolder(Path folder) {
    if (!Files.isDirectory(folder)) {
      throw new DatasetException("image folder not found: " + folder);
    }
  }

  private static List<ImageFile> sorted(List<ImageFile> files) {
    files.sort(Comparator.comparing(ImageFile::id));
    return List.copyOf(files);
  }

  private static List<ImageFile> nonEmpty(List<ImageFile> files, String where) {
    if (files.isEmpty()) {
      throw new DatasetException("no image files in " + where);
    }
    return files;
  }
}
