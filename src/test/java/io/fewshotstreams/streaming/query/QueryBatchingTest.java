package io.fewshotstreams.streaming.query;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.ForwardingEmbedder;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.StoreNames;
import io.fewshotstreams.streaming.TopologyHarness;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Query images embedded in batches on the TopologyTestDriver: the same predictions as one image
 * at a time, in input order, with bad images isolated, partial batches finished on the wall clock,
 * headers carried to predictions, a batch finished at once when the input goes idle, and a query
 * too big to wait answered at once. Restarts are in PendingQueriesTest.
 */
class QueryBatchingTest {
  private static final String TASK = "batched";
  private static final long LINGER_MS = 5;
  /** Ten queries with batches of four: two full batches and a partial one. */
  private static final int QUERIES = 10;
  private static final int BATCH = 4;
  private static final String TRACEPARENT = "traceparent";
  private static OnnxEmbedder onnx;
  private static List<SampleImage> samples;

  private final EventCodec codec = new EventCodec();
  @TempDir Path stateDir;
  private CountingEmbedder embedder;
  private TopologyHarness harness;
  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> support;
  private TestInputTopic<String, byte[]> queries;
  private TestOutputTopic<String, byte[]> predictions;
  private TestOutputTopic<String, byte[]> deadLetters;

  @BeforeAll
  static void openEmbedder() {
    onnx = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
    samples = SampleImages.load();
  }

  @AfterAll
  static void closeEmbedder() {
    onnx.close();
  }

  @AfterEach
  void stop() {
    close();
    FetchedOffsets.forget();
  }

  @Test
  void shouldPredictTheSameInTheSameOrderInBatchesAsOneByOne() {
    start(1);
    addSupport();
    queryImages(QUERIES);
    List<Prediction> single = predictions();
    close();
    stateDir = stateDir.resolve("batched");

    start(BATCH);
    addSupport();
    queryImages(QUERIES);
    assertThat(predictions()).as("two full batches are answered at once").hasSize(8);
    driver.advanceWallClockTime(Duration.ofMillis(LINGER_MS));
    assertThat(predictions()).as("the partial batch, on the wall clock").hasSize(2);
    List<Prediction> batched = List.copyOf(predictionsSoFar);
    assertThat(batched).hasSize(QUERIES);
    for (int i = 0; i < QUERIES; i++) {
      Prediction b = batched.get(i);
      Prediction s = single.get(i);
      assertThat(b.queryId()).as("input order").isEqualTo("q" + i);
      assertThat(b.label()).isEqualTo(s.label());
      // One batched ONNX Runtime call and one call per image differ by about 1e-6.
      for (Map.Entry<String, Double> p : s.probabilities().entrySet()) {
        assertThat(b.probabilities().get(p.getKey())).isCloseTo(p.getValue(), within(1e-6));
      }
    }
  }

  @Test
  void shouldCallTheEmbedderOncePerBatchNotOncePerQuery() {
    start(BATCH);
    addSupport();
    int before = embedder.imageCalls.get();
    queryImages(QUERIES);
    driver.advanceWallClockTime(Duration.ofMillis(LINGER_MS));
    assertThat(predictions()).hasSize(QUERIES);
    assertThat(embedder.imageCalls.get() - before)
        .as("ceil(10 / 4) calls")
        .isEqualTo(3);
    assertThat(embedder.singleCalls.get())
        .as("support images only: no query goes through the one-image call")
        .isEqualTo(supportImages().size());
  }

  @Test
  void shouldDeadLetterABadImageInABatchAndClassifyTheOthers() {
    start(BATCH);
    addSupport();
    queryImage("q0", samples.get(30).png());
    queryImage("q-bad", new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
    // An embedding query waits behind the images, so outputs keep the input order.
    queries.pipeInput(
        TASK, codec.write(new QueryEvent(1, TASK, "q-embedding", null, new float[] {1, 2}, null)));
    queryImage("q3", samples.get(31).png());
    assertThat(predictions()).extracting(Prediction::queryId).containsExactly("q0", "q3");
    List<DeadLetter> dead =
        deadLetters.readValuesToList().stream().map(codec::readDeadLetter).toList();
    assertThat(dead).extracting(DeadLetter::reason)
        .containsExactly(DeadLetterReason.INVALID_IMAGE, DeadLetterReason.INVALID_EMBEDDING);
    DeadLetter bad = dead.get(0);
    assertThat(bad.id()).isEqualTo("q-bad");
    assertThat(bad.sourceTopic()).isEqualTo("fewshot-queries");
    assertThat(bad.offset()).as("the second query").isEqualTo(1);
    assertThat(bad.key()).isEqualTo(TASK);
    assertThat(bad.value()).as("the record's value is kept").contains("q-bad");
  }

  @Test
  void shouldFinishAPartialBatchOnTheWallClock() {
    start(32);
    addSupport();
    queryImages(3);
    assertThat(predictions()).as("the batch of 32 is not full").isEmpty();
    driver.advanceWallClockTime(Duration.ofMillis(LINGER_MS));
    assertThat(predictions()).extracting(Prediction::queryId).containsExactly("q0", "q1", "q2");
  }

  @Test
  void shouldCarryEachQuerysHeadersToItsPredictionThroughABatch() {
    start(BATCH);
    addSupport();
    for (int i = 0; i < QUERIES; i++) {
      Headers headers = new RecordHeaders().add(TRACEPARENT, traceparent(i).getBytes(UTF_8));
      queries.pipeInput(
          new TestRecord<>(
              TASK,
              codec.write(
                  new QueryEvent(
                      1, TASK, "q" + i, new Image(Image.PNG, samples.get(20 * i + 10).png()),
                      null, null)),
              headers));
    }
    driver.advanceWallClockTime(Duration.ofMillis(LINGER_MS));
    List<TestRecord<String, byte[]>> out = predictions.readRecordsToList();
    assertThat(out).as("two full batches and a partial one").hasSize(QUERIES);
    for (TestRecord<String, byte[]> r : out) {
      String id = codec.readPrediction(r.value()).queryId();
      Header h = r.headers().lastHeader(TRACEPARENT);
      assertThat(h).as("traceparent of %s", id).isNotNull();
      assertThat(new String(h.value(), UTF_8))
          .as("the trace of %s, not another query's", id)
          .isEqualTo(traceparent(Integer.parseInt(id.substring(1))));
    }
  }

  @Test
  void shouldAnswerAtOnceWhenNoLaterRecordIsFetched() {
    start(32);
    addSupport();
    int before = embedder.imageCalls.get();
    // As a poll that returned offsets 0 to 2 of the query partition would tell the interceptor.
    FetchedOffsets.fetched(new TopicPartition("fewshot-queries", 0), 2);
    queryImages(2);
    assertThat(predictions()).as("later records are fetched: a backlog, so they wait").isEmpty();
    assertThat(pendingStore().approximateNumEntries()).isEqualTo(2);
    queryImage("q2", samples.get(50).png());
    assertThat(predictions())
        .as("the last fetched record finishes the batch without waiting for the linger")
        .extracting(Prediction::queryId)
        .containsExactly("q0", "q1", "q2");
    assertThat(embedder.imageCalls.get() - before).as("one batch of three").isEqualTo(1);
    assertThat(pendingStore().approximateNumEntries()).isZero();

    queryImage("q3", samples.get(70).png());
    assertThat(predictions())
        .as("an idle input: answered at once, nothing waits")
        .extracting(Prediction::queryId)
        .containsExactly("q3");
    assertThat(embedder.singleCalls.get() - supportImages().size())
        .as("alone, through the one-image call")
        .isEqualTo(1);
  }

  @Test
  void shouldAnswerAQueryTooBigForThePendingStoreAtOnceInOrder() {
    start(32);
    addSupport();
    FetchedOffsets.fetched(new TopicPartition("fewshot-queries", 0), 10);
    byte[] big = noisePng(400);
    assertThat((long) big.length)
        .as("an image bigger than a pending entry may be")
        .isGreaterThan(QueryClassifier.MAX_PENDING_BYTES);
    queryImage("q0", samples.get(30).png());
    queryImage("q-big", big);
    assertThat(predictions())
        .as("what waited is finished first, then the big query, outside any batch")
        .extracting(Prediction::queryId)
        .containsExactly("q0", "q-big");
    queryImage("q2", samples.get(31).png());
    List<Long> stored = new ArrayList<>();
    try (KeyValueIterator<Long, PendingQuery> it = pendingStore().all()) {
      it.forEachRemaining(kv -> stored.add(kv.key));
    }
    assertThat(stored).as("only the query after it waits").containsExactly(2L);
    driver.advanceWallClockTime(Duration.ofMillis(LINGER_MS));
    assertThat(predictions()).extracting(Prediction::queryId).containsExactly("q2");
  }

  /** A PNG of {@code side} x {@code side} RGB noise, which PNG cannot compress. */
  private static byte[] noisePng(int side) {
    BufferedImage image = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
    Random random = new Random(side);
    for (int y = 0; y < side; y++) {
      for (int x = 0; x < side; x++) {
        image.setRGB(x, y, random.nextInt(1 << 24));
      }
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try {
      ImageIO.write(image, "png", bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  private static String traceparent(int i) {
    return String.format("00-%032x-%016x-01", 1000 + i, 7 + i);
  }

  private KeyValueStore<Long, PendingQuery> pendingStore() {
    return driver.getKeyValueStore(StoreNames.PENDING_QUERIES);
  }

  private final List<Prediction> predictionsSoFar = new ArrayList<>();

  /** The predictions written since the last call (all of them are kept in predictionsSoFar). */
  private List<Prediction> predictions() {
    List<Prediction> read =
        predictions.readValuesToList().stream().map(codec::readPrediction).toList();
    predictionsSoFar.addAll(read);
    return read;
  }

  private void start(int batchSize) {
    embedder = new CountingEmbedder(onnx);
    predictionsSoFar.clear();
    harness =
        new TopologyHarness(
            TopologyHarness.settings(
                "batching-test",
                stateDir,
                Map.of(
                    FewShotConfig.QUERY_BATCH_SIZE_CONFIG, batchSize,
                    FewShotConfig.QUERY_BATCH_LINGER_MS_CONFIG, LINGER_MS,
                    // No fine-tuning while the tests move the wall clock by a few milliseconds.
                    FewShotConfig.FINETUNE_INTERVAL_MS_CONFIG, 600_000L)),
            embedder,
            new Telemetry(new SimpleMeterRegistry(), 0),
            0);
    driver = harness.driver;
    support = harness.support;
    queries = harness.queries;
    predictions = harness.predictions;
    deadLetters = harness.deadLetters;
  }

  private void close() {
    if (harness != null) {
      harness.close();
      harness = null;
      driver = null;
    }
  }

  /** Two examples of each of three classes. */
  private static List<SampleImage> supportImages() {
    return List.of("Coat", "Sneaker", "Shirt").stream()
        .flatMap(label -> samples.stream().filter(s -> s.label().equals(label)).limit(2))
        .toList();
  }

  private void addSupport() {
    for (SampleImage s : supportImages()) {
      support.pipeInput(
          TASK,
          codec.write(
              new SupportEvent.AddExample(
                  1, TASK, s.label(), s.name(), new Image(Image.PNG, s.png()), null)));
    }
  }

  private void queryImages(int n) {
    for (int i = 0; i < n; i++) {
      // Every 20th sample image: a mix of classes, none of them a support image.
      queryImage("q" + i, samples.get(20 * i + 10).png());
    }
  }

  private void queryImage(String id, byte[] png) {
    queries.pipeInput(
        TASK, codec.write(new QueryEvent(1, TASK, id, new Image(Image.PNG, png), null, null)));
  }

  /** The ONNX embedder, counting calls of the one-image and the decoded-images methods. */
  static final class CountingEmbedder extends ForwardingEmbedder {
    final AtomicInteger singleCalls = new AtomicInteger();
    final AtomicInteger imageCalls = new AtomicInteger();

    CountingEmbedder(Embedder delegate) {
      super(delegate);
    }

    @Override
    public float[] embed(byte[] encodedImage) {
      singleCalls.incrementAndGet();
      return delegate.embed(encodedImage);
    }

    @Override
    public float[][] embedBatch(List<byte[]> encodedImages) {
      throw new AssertionError("the service isolates bad images, so it never embeds encoded batches");
    }

    @Override
    public float[][] embedImages(List<BufferedImage> images) {
      imageCalls.incrementAndGet();
      return delegate.embedImages(images);
    }

    @Override
    public void close() {
      // The shared embedder is closed after all tests.
    }
  }
}
