package io.fewshotstreams.serving;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The route table alone: matching, path variables, and the 404s and 405s derived from it. */
class RouterTest {
  private static Response text(String body) {
    return new Response(200, "text/plain", body.getBytes(StandardCharsets.UTF_8));
  }

  private static String body(Response response) {
    return new String(response.body(), StandardCharsets.UTF_8);
  }

  private final Router router =
      new Router(
          List.of(
              Router.Route.get("/", r -> text("root")),
              Router.Route.get("/items/{item}", r -> text("get " + r.variable("item"))),
              Router.Route.post("/items/{item}", r -> text("post " + r.variable("item"))),
              Router.Route.get("/items/{item}/parts", r -> text("parts " + r.variable("item"))),
              Router.Route.post("/items/{item}/buy", r -> text("buy " + r.variable("item")))));

  @Test
  void shouldHandTheDecodedVariableToTheRouteOfTheMethod() {
    // Catches a router that passes the raw segment, or takes the first route whatever its method.
    assertThat(body(router.dispatch("GET", "/items/a%2Fb", null))).isEqualTo("get a/b");
    assertThat(body(router.dispatch("POST", "/items/a%2Fb", null))).isEqualTo("post a/b");
    assertThat(body(router.dispatch("GET", "/items/x/parts/", null))).isEqualTo("parts x");
    assertThat(body(router.dispatch("GET", "/", null))).isEqualTo("root");
  }

  @Test
  void shouldAnswer404ForAPathOfNoRoute() {
    // A literal segment must match itself, and a pattern must match the whole path, not a prefix.
    for (String path : List.of("/other", "/items", "/items/x/other", "/items/x/parts/more")) {
      Response answer = router.dispatch("GET", path, null);
      assertThat(answer.status()).as(path).isEqualTo(404);
      assertThat(body(answer))
          .as(path)
          .isEqualTo("{\"error\":\"expected a path of the HTTP API, found '" + path + "'\"}");
      assertThat(answer.headers()).as(path).doesNotContainKey("Allow");
    }
  }

  @Test
  void shouldAnswer405WithEveryMethodTheTableHasForThePath() {
    // Allow comes from the same table the handlers do: both methods of /items/{item}, one of /buy.
    Response both = router.dispatch("DELETE", "/items/x", null);
    assertThat(both.status()).isEqualTo(405);
    assertThat(both.headers()).containsEntry("Allow", "GET, POST");
    assertThat(body(both)).contains("expected GET or POST for '/items/x', found DELETE");
    Response buy = router.dispatch("GET", "/items/x/buy", null);
    assertThat(buy.status()).isEqualTo(405);
    assertThat(buy.headers()).containsEntry("Allow", "POST");
  }
}
