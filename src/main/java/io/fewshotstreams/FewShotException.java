package io.fewshotstreams;

/**
 * Root of the exceptions this project throws on purpose. Subclasses name the stage that failed; the
 * message always says what was expected and what was found.
 */
public class FewShotException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public FewShotException(String message) {
    super(message);
  }

  public FewShotException(String message, Throwable cause) {
    super(message, cause);
  }
}
