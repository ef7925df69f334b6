package io.fewshotstreams.app;

import io.fewshotstreams.FewShotException;

/** Events could not be published to Kafka: broker unreachable, topic refused, record too large. */
final class PublishException extends FewShotException {
  private static final long serialVersionUID = 1L;

  PublishException(String message, Throwable cause) {
    super(message, cause);
  }
}
