package io.fewshotstreams.fewshot;

import io.fewshotstreams.FewShotException;

/**
 * Thrown when the few-shot math is handed input it cannot use: wrong dimensions, NaN or infinite
 * values, a zero vector where a direction is needed, empty or duplicate labels. The message says
 * what was expected and what was found.
 */
public class InvalidInputException extends FewShotException {
  private static final long serialVersionUID = 1L;

  public InvalidInputException(String message) {
    super(message);
  }
}
