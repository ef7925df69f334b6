package io.fewshotstreams.dataset;

import io.fewshotstreams.FewShotException;

/** A dataset could not be read: missing files, wrong format, unknown classes. */
public class DatasetException extends FewShotException {
  private static final long serialVersionUID = 1L;

  public DatasetException(String message) {
    super(message);
  }

  public DatasetException(String message, Throwable cause) {
    super(message, cause);
  }
}
