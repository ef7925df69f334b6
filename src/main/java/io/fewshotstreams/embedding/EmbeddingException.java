package io.fewshotstreams.embedding;

import io.fewshotstreams.FewShotException;

/**
 * The embedding stage could not be set up or could not run: an invalid model card, an ONNX file
 * that does not match its card, an unavailable execution provider, or a failure inside ONNX
 * Runtime. Unlike {@link InvalidImageException} this is not about one bad record; it usually means
 * the deployment is misconfigured.
 */
public class EmbeddingException extends FewShotException {
  private static final long serialVersionUID = 1L;

  public EmbeddingException(String message) {
    super(message);
  }

  public EmbeddingException(String message, Throwable cause) {
    super(message, cause);
  }
}
