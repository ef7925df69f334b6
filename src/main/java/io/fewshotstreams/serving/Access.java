package io.fewshotstreams.serving;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.streaming.FewShotConfig;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Who may read the API: with a bearer token, only requests that carry it ({@code Authorization:
 * Bearer <token>}); without one, everybody. Only {@code /api/...} paths are guarded: the probes
 * ({@code /health}, {@code /ready}), the Prometheus text (aggregate numbers, no task or label names)
 * and the dashboard's static files (no data) stay open.
 *
 * <p>{@code fewshot.http.auth.mode}: {@code auto} guards with the token when one is set, and refuses
 * to start without one on a non-loopback bind address; {@code token} requires a token; {@code none}
 * serves without one.
 */
final class Access {
  static final String AUTO = "auto";
  static final String TOKEN = "token";
  static final String NONE = "none";

  /** The token's SHA-256, or null when requests are not checked. */
  private final byte[] tokenDigest;

  private Access(byte[] tokenDigest) {
    this.tokenDigest = tokenDigest;
  }

  /** Everybody may read. */
  static Access open() {
    return new Access(null);
  }

  /** Only requests with {@code token}. */
  static Access token(String token) {
    if (token == null || token.isEmpty()) {
      throw new IllegalArgumentException("expected a non-empty token, found none");
    }
    return new Access(sha256(token));
  }

  /**
   * The access the settings ask for.
   *
   * @throws FewShotException when a token is required (mode {@code token}, or {@code auto} on a
   *     non-loopback bind address) and none is set
   */
  static Access of(FewShotConfig config) {
    String mode = config.httpAuthMode();
    String token = config.httpAuthToken();
    boolean hasToken = token != null && !token.isEmpty();
    switch (mode) {
      case NONE:
        return open();
      case TOKEN:
        if (!hasToken) {
          throw new FewShotException(
              "expected "
                  + FewShotConfig.HTTP_AUTH_TOKEN_CONFIG
                  + " to be set with "
                  + FewShotConfig.HTTP_AUTH_MODE_CONFIG
                  + "=token, found none");
        }
        return token(token);
      default:
        if (hasToken) {
          return token(token);
        }
        if (!isLoopback(config.httpBindAddress())) {
          throw new FewShotException(
              "expected "
                  + FewShotConfig.HTTP_AUTH_TOKEN_CONFIG
                  + " to be set when the HTTP API binds "
                  + config.httpBindAddress()
                  + ", which is not a loopback address, found none; set a token (the API then"
                  + " wants 'Authorization: Bearer <token>'), or "
                  + FewShotConfig.HTTP_AUTH_MODE_CONFIG
                  + "=none to serve every reader of the port");
        }
        return open();
    }
  }

  /** Whether requests are checked at all. */
  boolean guarded() {
    return tokenDigest != null;
  }

  /** Whether a request for {@code rawPath} needs the token. */
  static boolean isGuardedPath(String rawPath) {
    return rawPath.equals("/api") || rawPath.startsWith("/api/");
  }

  /**
   * Whether an {@code Authorization} header value lets a request in. The comparison takes the same
   * time wherever a wrong token differs from the right one: both are hashed, and the digests are
   * compared with {@link MessageDigest#isEqual}.
   */
  boolean admits(String authorization) {
    if (tokenDigest == null) {
      return true;
    }
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    return MessageDigest.isEqual(tokenDigest, sha256(authorization.substring(7).trim()));
  }

  private static boolean isLoopback(String address) {
    try {
      return InetAddress.getByName(address).isLoopbackAddress();
    } catch (UnknownHostException e) {
      throw new FewShotException(
          "expected "
              + FewShotConfig.HTTP_BIND_ADDRESS_CONFIG
              + " to be an address or a known host name, found '"
              + address
              + "'",
          e);
    }
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
