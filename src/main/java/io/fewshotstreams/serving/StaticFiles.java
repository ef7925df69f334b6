package io.fewshotstreams.serving;

import java.io.IOException;
import java.io.InputStream;
import java.util.Map;
import java.util.Set;

/**
 * The dashboard's files, read from the classpath: only the names listed here are served, each with
 * its content type, so nothing else on the classpath can be fetched.
 */
final class StaticFiles {
  private static final Map<String, String> TYPES =
      Map.of(
          "index.html", "text/html; charset=utf-8",
          "app.js", "text/javascript; charset=utf-8",
          "style.css", "text/css; charset=utf-8");

  private final String folder;

  /**
   * @param folder the classpath folder of the files, e.g. {@code /dashboard/}
   */
  StaticFiles(String folder) {
    this.folder = folder.endsWith("/") ? folder : folder + "/";
  }

  /** The dashboard of the build, under {@code /dashboard/} on the classpath. */
  static StaticFiles dashboard() {
    return new StaticFiles("/dashboard/");
  }

  /** The names a client may ask for, e.g. {@code index.html}. */
  static Set<String> names() {
    return TYPES.keySet();
  }

  /**
   * The file {@code name}, one of {@link #names()}.
   *
   * @throws ApiError 404 when the build lacks it, 500 when it cannot be read
   */
  Response serve(String name) {
    String type = TYPES.get(name);
    try (InputStream in = StaticFiles.class.getResourceAsStream(folder + name)) {
      if (type == null || in == null) {
        throw new ApiError(
            404, "expected the dashboard file '" + name + "', found it missing from the build");
      }
      return new Response(200, type, in.readAllBytes());
    } catch (IOException e) {
      throw new ApiError(
          500, "expected to read the dashboard file '" + name + "', found: " + e.getMessage());
    }
  }
}
