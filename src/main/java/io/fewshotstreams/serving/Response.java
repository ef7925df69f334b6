package io.fewshotstreams.serving;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An answer of the API: status, content type, body and any headers beyond the ones every answer
 * carries (see {@link HttpApi}).
 */
record Response(int status, String contentType, byte[] body, Map<String, String> headers) {
  static final String JSON = "application/json";
  private static final ObjectMapper MAPPER = new ObjectMapper();

  Response {
    headers = Map.copyOf(headers);
  }

  Response(int status, String contentType, byte[] body) {
    this(status, contentType, body, Map.of());
  }

  /** {@code value} written as JSON. */
  static Response json(int status, Object value) {
    try {
      return new Response(status, JSON, MAPPER.writeValueAsBytes(value));
    } catch (IOException e) {
      throw new IllegalStateException("cannot write JSON: " + e.getMessage(), e);
    }
  }

  /** {@code {"error": message}}, the one shape of every error. */
  static Response error(int status, String message) {
    return json(status, Map.of("error", message));
  }

  Response withHeader(String name, String value) {
    Map<String, String> more = new LinkedHashMap<>(headers);
    more.put(name, value);
    return new Response(status, contentType, body, more);
  }
}
