package io.fewshotstreams.serving;

import com.sun.net.httpserver.HttpExchange;
import io.fewshotstreams.streaming.FewShotConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/** The limit on request bodies ({@code fewshot.http.max.request.bytes}), checked and read. */
final class RequestBody {
  private final int maxBytes;

  RequestBody(int maxBytes) {
    this.maxBytes = maxBytes;
  }

  /**
   * Refuses a request whose declared {@code Content-Length} is over the limit, before any handler.
   *
   * @throws ApiError 400 for a length that is not a number, 413 for one over the limit
   */
  void checkDeclaredLength(HttpExchange exchange) {
    String declared = exchange.getRequestHeaders().getFirst("Content-Length");
    if (declared == null) {
      return;
    }
    long length;
    try {
      length = Long.parseLong(declared.strip());
    } catch (NumberFormatException e) {
      throw new ApiError(400, "expected a number as Content-Length, found '" + declared + "'");
    }
    if (length > maxBytes) {
      throw tooLarge(length + " bytes declared");
    }
  }

  /**
   * Reads the body, counting as it goes: a chunked body has no length to check up front.
   *
   * @throws ApiError 413 for a body over the limit, 400 for one cut off
   */
  byte[] read(HttpExchange exchange) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buffer = new byte[64 * 1024];
    try (InputStream in = exchange.getRequestBody()) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        if (out.size() + (long) n > maxBytes) {
          throw tooLarge("more");
        }
        out.write(buffer, 0, n);
      }
    } catch (IOException e) {
      throw new ApiError(
          400, "expected a complete request body, found it cut off: " + e.getMessage());
    }
    return out.toByteArray();
  }

  private ApiError tooLarge(String found) {
    return new ApiError(
        413,
        "expected a request body of at most "
            + maxBytes
            + " bytes ("
            + FewShotConfig.HTTP_MAX_REQUEST_BYTES_CONFIG
            + "), found "
            + found);
  }
}
