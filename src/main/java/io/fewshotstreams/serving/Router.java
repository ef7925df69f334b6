package io.fewshotstreams.serving;

import com.sun.net.httpserver.HttpExchange;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The one route table of the API: each route is a method, a path pattern and a handler. A path no
 * pattern matches is a 404; a path some pattern matches, asked with a method none of them takes, is
 * a 405 whose {@code Allow} names the methods that would do. Both come from the table, so they
 * cannot disagree with what is served.
 */
final class Router {

  /** Answers one request; throws {@link ApiError} for the errors a client can act on. */
  @FunctionalInterface
  interface Handler {
    Response handle(Request request);
  }

  /** A request that matched a route: its exchange and the values of its pattern's variables. */
  record Request(HttpExchange exchange, Map<String, String> variables) {
    /** The decoded path segment that stood where the pattern has {@code {name}}. */
    String variable(String name) {
      String value = variables.get(name);
      if (value == null) {
        throw new IllegalArgumentException(
            "expected a variable {" + name + "} in the route, found " + variables.keySet());
      }
      return value;
    }
  }

  /**
   * A method and a pattern such as {@code /api/tasks/{task}/learner}, as segments: a {@code {name}}
   * segment matches any one decoded segment, every other segment only itself.
   */
  record Route(String method, List<String> pattern, Handler handler) {
    Route {
      pattern = List.copyOf(pattern);
    }

    static Route get(String pattern, Handler handler) {
      return new Route("GET", segments(pattern), handler);
    }

    static Route post(String pattern, Handler handler) {
      return new Route("POST", segments(pattern), handler);
    }

    private static List<String> segments(String pattern) {
      List<String> segments = new ArrayList<>();
      for (String s : pattern.split("/")) {
        if (!s.isEmpty()) {
          segments.add(s);
        }
      }
      return segments;
    }

    /** The variables of {@code path} for this pattern, or null when it does not match. */
    Map<String, String> match(List<String> path) {
      if (pattern.size() != path.size()) {
        return null;
      }
      Map<String, String> variables = new LinkedHashMap<>();
      for (int i = 0; i < pattern.size(); i++) {
        String part = pattern.get(i);
        if (part.startsWith("{") && part.endsWith("}")) {
          variables.put(part.substring(1, part.length() - 1), path.get(i));
        } else if (!part.equals(path.get(i))) {
          return null;
        }
      }
      return variables;
    }
  }

  private final List<Route> routes;

  Router(List<Route> routes) {
    this.routes = List.copyOf(routes);
  }

  /**
   * The answer of the first route that matches the method and path of {@code exchange}; a 404 for a
   * path of no route, a 405 with {@code Allow} for a path whose routes take other methods.
   *
   * @throws ApiError 400 for a path that does not decode, and whatever the handler throws
   */
  Response dispatch(HttpExchange exchange) {
    return dispatch(exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(), exchange);
  }

  /** {@link #dispatch(HttpExchange)} for a method and raw path given apart from the exchange. */
  Response dispatch(String method, String rawPath, HttpExchange exchange) {
    List<String> path = PathSegments.of(rawPath);
    Set<String> allowed = new LinkedHashSet<>();
    for (Route route : routes) {
      Map<String, String> variables = route.match(path);
      if (variables == null) {
        continue;
      }
      if (route.method().equals(method)) {
        return route.handler().handle(new Request(exchange, variables));
      }
      allowed.add(route.method());
    }
    if (allowed.isEmpty()) {
      return Response.error(404, "expected a path of the HTTP API, found '" + rawPath + "'");
    }
    List<String> methods = new ArrayList<>(allowed);
    return Response.error(
            405,
            "expected " + String.join(" or ", methods) + " for '" + rawPath + "', found " + method)
        .withHeader("Allow", String.join(", ", methods));
  }
}
