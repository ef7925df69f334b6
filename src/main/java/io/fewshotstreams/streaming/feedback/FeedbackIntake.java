package io.fewshotstreams.streaming.feedback;

import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.FeedbackEvent;
import io.fewshotstreams.events.InvalidEventException;
import io.fewshotstreams.streaming.DeadLetters;
import io.fewshotstreams.streaming.Intake;
import io.fewshotstreams.streaming.Origin;
import io.fewshotstreams.streaming.Routed;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * Reads and validates a feedback event and emits it keyed by its task for the joiner; a bad record
 * becomes a dead letter. Emits {@link Routed.ToDeadLetters} or {@link Truth} values, the latter
 * wrapped so that both travel on one stream.
 */
final class FeedbackIntake implements Processor<byte[], byte[], String, Object> {
  private final EventCodec codec;
  private final DeadLetters deadLetters;
  private ProcessorContext<String, Object> context;

  FeedbackIntake(EventCodec codec, DeadLetters deadLetters) {
    this.codec = codec;
    this.deadLetters = deadLetters;
  }

  @Override
  public void init(ProcessorContext<String, Object> context) {
    this.context = context;
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    Origin origin = Intake.origin(context, record);
    FeedbackEvent event;
    try {
      if (record.value() == null) {
        throw new InvalidEventException(
            DeadLetterReason.INVALID_JSON, "expected a JSON feedback event, found no value");
      }
      event = codec.readFeedback(record.value());
    } catch (RuntimeException e) {
      context.forward(
          record
              .withKey(origin.key())
              .withValue(
                  new Routed.ToDeadLetters(
                      deadLetters.of(
                          e, origin, record.value(), null, null, context.currentSystemTimeMs()))));
      return;
    }
    context.forward(
        record.withKey(event.task()).withValue(new FeedbackInput.Truth(event, origin)));
  }
}
