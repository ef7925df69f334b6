package io.fewshotstreams.streaming.learner;

import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.InvalidEventException;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.DeadLetters;
import io.fewshotstreams.streaming.Features;
import io.fewshotstreams.streaming.Intake;
import io.fewshotstreams.streaming.LearnerInput;
import io.fewshotstreams.streaming.Origin;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.telemetry.Telemetry.Input;
import io.fewshotstreams.streaming.telemetry.Telemetry.Outcome;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * First stage of the support path: reads and validates a support event, embeds its image, and
 * emits the change keyed by task for the learner; a bad record becomes a dead letter.
 */
public final class SupportIntake implements Processor<byte[], byte[], String, Routed> {
  private final EventCodec codec;
  private final Features features;
  private final DeadLetters deadLetters;
  private final Telemetry telemetry;
  private ProcessorContext<String, Routed> context;

  public SupportIntake(
      EventCodec codec, Features features, DeadLetters deadLetters, Telemetry telemetry) {
    this.codec = codec;
    this.features = features;
    this.deadLetters = deadLetters;
    this.telemetry = telemetry;
  }

  @Override
  public void init(ProcessorContext<String, Routed> context) {
    this.context = context;
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    Origin origin = Intake.origin(context, record);
    SupportEvent event = null;
    try {
      if (record.value() == null) {
        throw new InvalidEventException(
            DeadLetterReason.INVALID_JSON, "expected a JSON support event, found no value");
      }
      event = codec.readSupport(record.value());
      LearnerInput input = toLearnerInput(event, origin);
      context.forward(record.withKey(event.task()).withValue(new Routed.ToLearner(input)));
      telemetry.event(Input.SUPPORT, Outcome.OK);
    } catch (RuntimeException e) {
      if (KafkaFailures.isKafkas(e)) {
        // Kafka Streams' own, from forward (a migrated task, a fenced producer): not the record's.
        throw e;
      }
      telemetry.event(Input.SUPPORT, Outcome.DEAD_LETTER);
      Intake.deadLetter(
          context,
          record,
          origin,
          deadLetters,
          e,
          event == null ? null : event.task(),
          event == null ? null : idOf(event));
    }
  }

  private LearnerInput toLearnerInput(SupportEvent event, Origin origin) {
    if (event instanceof SupportEvent.AddExample add) {
      float[] feature = features.of(add.image(), add.embedding());
      return new LearnerInput.Add(add.task(), add.label(), add.exampleId(), feature, origin);
    }
    if (event instanceof SupportEvent.RemoveExample remove) {
      return new LearnerInput.Remove(remove.task(), remove.exampleId(), origin);
    }
    SupportEvent.DeleteClass delete = (SupportEvent.DeleteClass) event;
    return new LearnerInput.DeleteClass(delete.task(), delete.label(), origin);
  }

  private static String idOf(SupportEvent event) {
    if (event instanceof SupportEvent.AddExample add) {
      return add.exampleId();
    }
    if (event instanceof SupportEvent.RemoveExample remove) {
      return remove.exampleId();
    }
    return ((SupportEvent.DeleteClass) event).label();
  }
}
