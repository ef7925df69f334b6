package io.fewshotstreams.streaming.learner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.ImagePreprocessor;
import io.fewshotstreams.embedding.ModelCard;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.DeadLetters;
import io.fewshotstreams.streaming.Features;
import io.fewshotstreams.streaming.Routed;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.kafka.streams.errors.TaskMigratedException;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;

class SupportIntakeTest {
  private static final int D = 8;

  /** A context whose forward fails as Kafka Streams' does when the task has moved. */
  private static final class MigratedContext extends MockProcessorContext<String, Routed> {
    @Override
    public <K extends String, V extends Routed> void forward(Record<K, V> record) {
      throw new TaskMigratedException("test: the task moved", new RuntimeException("cause"));
    }
  }

  // Bug: the intake turned every RuntimeException into a dead letter, Kafka Streams' own too.
  @Test
  void shouldLetKafkaStreamsOwnExceptionsThrough() {
    Telemetry telemetry = new Telemetry(new SimpleMeterRegistry(), 0);
    EventCodec codec = new EventCodec();
    SupportIntake intake =
        new SupportIntake(
            codec, new Features(new EmbeddingsOnly(), telemetry), new DeadLetters(1024, telemetry),
            telemetry);
    MigratedContext context = new MigratedContext();
    context.setRecordMetadata("fewshot-support", 0, 0L);
    context.setCurrentSystemTimeMs(1_000L);
    intake.init(context);
    float[] embedding = new float[D];
    embedding[0] = 1f;
    byte[] value =
        codec.write(new SupportEvent.AddExample(1, "t", "c", "e", null, embedding));

    assertThatThrownBy(
            () -> intake.process(new Record<>("t".getBytes(StandardCharsets.UTF_8), value, 0L)))
        .isInstanceOf(TaskMigratedException.class);
    assertThat(context.forwarded()).isEmpty();
  }

  /** An embedder of {@value #D} features for events that carry their embedding. */
  private static final class EmbeddingsOnly implements Embedder {
    @Override
    public ModelCard card() {
      throw new AssertionError("not used");
    }

    @Override
    public ImagePreprocessor preprocessor() {
      throw new AssertionError("not used");
    }

    @Override
    public int featureSize() {
      return D;
    }

    @Override
    public float[] embed(byte[] encodedImage) {
      throw new AssertionError("not used");
    }

    @Override
    public float[][] embedBatch(List<byte[]> encodedImages) {
      throw new AssertionError("not used");
    }

    @Override
    public float[][] embedImages(List<BufferedImage> images) {
      throw new AssertionError("not used");
    }

    @Override
    public float[][] embedPreprocessed(float[] batchTensor, int batchSize) {
      throw new AssertionError("not used");
    }

    @Override
    public void close() {}
  }
}
