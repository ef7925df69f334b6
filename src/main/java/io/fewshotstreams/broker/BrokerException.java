package io.fewshotstreams.broker;

import io.fewshotstreams.FewShotException;

/** The embedded broker could not start, stop or create topics: port taken, bad data dir, timeout. */
public class BrokerException extends FewShotException {
  private static final long serialVersionUID = 1L;

  public BrokerException(String message) {
    super(message);
  }

  public BrokerException(String message, Throwable cause) {
    super(message, cause);
  }
}
