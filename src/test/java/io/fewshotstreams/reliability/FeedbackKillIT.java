package io.fewshotstreams.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fewshotstreams.TestClients;
import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.FeedbackEvent;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Outcome;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly-once through the feedback join: the service as a separate process ({@code java -jar
 * target/fewshot-streams.jar run}, {@code exactly_once_v2}) answers a stream of queries, then
 * takes their feedback (every 25th promoted) and is killed with SIGKILL while joins are in
 * flight: the process is frozen (SIGSTOP) and killed only when the outcomes topic holds outcomes
 * of an open transaction (records between its last stable offset and its high watermark), else
 * resumed, fed more and checked again. Started again on the same state directory, it must give
 * every feedback exactly one committed outcome, an HTTP accuracy whose since-start counts equal
 * those computed from the outcomes (and from the predictions and the labels), and add each
 * promoted query once.
 *
 * <p>The bugs it catches: an outcome written outside the Kafka Streams transaction (a producer of
 * its own, a side effect in a callback): the aborted join is done again after the restart and its
 * outcome shows twice; live accuracy kept where the transaction does not reach (a store without
 * a changelog, an in-memory tally, a store written after the commit): the state restored after
 * the kill disagrees with the committed outcomes; a feedback's input offset committed apart from
 * its join: the outcome is missing, or the join is replayed against a store that has it as
 * answered (a {@code DUPLICATE_FEEDBACK} dead letter); a promotion sent twice or lost: the task's
 * last snapshot has another version or example count than the initial ones plus the promotions.
 *
 * <p>{@code -Dfewshot.feedbackkill.queries=20000} runs a longer version; CI runs 4,000.
 */
class FeedbackKillIT {
  /** Queries, each with one feedback: 4,000 keeps the test near two minutes on two cores. */
  private static final int QUERIES = Integer.getInteger("fewshot.feedbackkill.queries", 4_000);
  /** The kill comes once a quarter of the outcomes are committed, the rest still to send. */
  private static final int KILL_AFTER = QUERIES / 4;
  /** Every 25th feedback is promoted: 160 new examples in 4,000, 80 snapshots per task. */
  private static final int PROMOTE_EVERY = 25;
  /** Every 5th truth is another class than the query was drawn near: wrong answers to count. */
  private static final int WRONG_EVERY = 5;
  /**
   * Outcomes in the open transaction the kill should find; after 50 tries any will do. With a
   * commit every second a transaction holds up to a few hundred joins at this pace.
   */
  private static final int IN_FLIGHT = 10;
  private static final String[] TASKS = {"line-1", "line-2"};
  private static final int CLASSES = 3;
  private static final Path JAR = Path.of("target/fewshot-streams.jar");
  private static final Duration WAIT = Duration.ofMinutes(3);

  @TempDir Path dir;
  private final EventCodec codec = new EventCodec();
  private final ObjectMapper json = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void shouldCountEveryFeedbackOnceAcrossAKillNineDuringItsJoins() throws Exception {
    assertThat(JAR).as("built by mvn package before the integration tests").exists();
    int port = freePort();
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        KafkaProducer<String, byte[]> producer =
            TestClients.producer(
                broker.bootstrapServers(), Map.of(ProducerConfig.LINGER_MS_CONFIG, 5));
        KafkaConsumer<String, byte[]> reader =
            TestClients.readCommittedConsumer(broker.bootstrapServers(), "feedback-kill-")) {
      String bootstrap = broker.bootstrapServers();
      long started = System.nanoTime();
      Process first = startService(bootstrap, port, "first");
      Process second = null;
      try {
        reader.subscribe(
            List.of("fewshot-predictions", "fewshot-models", "fewshot-outcomes",
                "fewshot-dead-letters"));
        for (int t = 0; t < TASKS.length; t++) {
          for (int c = 0; c < CLASSES; c++) {
            producer.send(
                new ProducerRecord<>(
                    "fewshot-support",
                    TASKS[t],
                    codec.write(
                        new SupportEvent.AddExample(
                            1, TASKS[t], label(c), "e" + c, null,
                            FaultRig.axis(t * CLASSES + c, 0.1f, c)))));
          }
        }
        producer.flush();
        // Queries sent before a task's snapshot of every class would be answered by fewer.
        awaitTrue(() -> lastSnapshots().size() == TASKS.length
            && lastSnapshots().values().stream().allMatch(s -> s.classes().size() == CLASSES),
            reader, "a snapshot of " + CLASSES + " classes of every task");
        // The query path reads the instance's global store of snapshots, which follows the
        // models topic a moment behind: a query sent in between is a dead letter (UNKNOWN_TASK).
        awaitServedModels(port);

        Map<String, String> truth = new LinkedHashMap<>();
        for (int i = 0; i < QUERIES; i++) {
          int t = i % TASKS.length;
          int near = (i / TASKS.length) % CLASSES;
          truth.put(id(i), label(i % WRONG_EVERY == WRONG_EVERY - 1 ? (near + 1) % CLASSES : near));
          producer.send(
              new ProducerRecord<>(
                  "fewshot-queries",
                  TASKS[t],
                  codec.write(
                      new QueryEvent(1, TASKS[t], id(i), null,
                          FaultRig.axis(t * CLASSES + near, 0.9f, 1_000 + i), null))));
        }
        producer.flush();
        awaitTrue(() -> predicted.size() == QUERIES, reader, "a prediction of every query");

        // The truth arrives in chunks while outcomes are read, so that joins are under way.
        int sent = 0;
        // At most 400 ahead of the committed outcomes, so that most is still to send at the kill.
        while (committedOutcomes() < KILL_AFTER) {
          if (sent - committedOutcomes() < 400) {
            sent = sendFeedback(producer, truth, sent, 100);
          }
          poll(reader, Duration.ofMillis(100));
          assertThat(System.nanoTime() - started)
              .as("outcomes before the kill")
              .isLessThan(TimeUnit.MINUTES.toNanos(4));
        }
        // Frozen so that no transaction moves on, the outcomes topic is read up to its high
        // watermark: the kill comes when an open transaction holds outcomes, else the process
        // goes on (SIGCONT), more feedback is sent and the check is repeated.
        List<ConsumerRecord<byte[], byte[]>> open = List.of();
        int attempts = 0;
        while (open.size() < IN_FLIGHT && attempts < 50) {
          attempts++;
          FaultRig.signal(first, "STOP");
          open = FaultRig.openTransactionRecords(bootstrap, "fewshot-outcomes");
          if (open.size() < IN_FLIGHT) {
            FaultRig.signal(first, "CONT");
            sent = sendFeedback(producer, truth, sent, 50);
            FaultRig.sleep(attempts * 7L % 100);
          }
        }
        // SIGKILL: no shutdown hook, no commit; the open transaction is left to be aborted.
        first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        assertThat(open)
            .as("outcomes of an open transaction at the kill (%d tries)", attempts)
            .isNotEmpty();
        poll(reader, Duration.ofMillis(500));
        int committedAtKill = committedOutcomes();
        int inFlight = open.size();
        while (sent < QUERIES) {
          sent = sendFeedback(producer, truth, sent, 500);
        }

        second = startService(bootstrap, port, "second");
        awaitTrue(() -> outcomes.size() >= QUERIES, reader, "an outcome of every feedback");
        // A while longer, so that a late duplicate would show.
        poll(reader, Duration.ofSeconds(5));

        Map<String, Integer> counted = new HashMap<>();
        for (Outcome o : outcomes) {
          counted.merge(o.queryId(), 1, Integer::sum);
        }
        List<String> missing = new ArrayList<>();
        for (String id : truth.keySet()) {
          if (!counted.containsKey(id)) {
            missing.add(id);
          }
        }
        List<String> twice =
            counted.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey)
                .toList();
        System.out.printf(
            "feedback kill -9: killed after %d committed outcomes with %d outcomes in an open"
                + " transaction (%d tries); after the restart %d of %d feedback have an outcome,"
                + " %d missing, %d duplicated, %d dead letters; %.1f s in all%n",
            committedAtKill, inFlight, attempts, counted.size(), QUERIES, missing.size(),
            twice.size(), deadLetters.size(), (System.nanoTime() - started) / 1e9);
        assertThat(deadLetters).as("dead letters (a replayed join says DUPLICATE_FEEDBACK)")
            .isEmpty();
        assertThat(missing).as("feedback without an outcome").isEmpty();
        assertThat(twice).as("feedback with more than one outcome").isEmpty();
        assertThat(predictedTwice).as("queries with more than one prediction").isEmpty();

        Map<String, Integer> promoted = new TreeMap<>();
        for (Outcome o : outcomes) {
          Prediction p = predicted.get(o.queryId());
          assertThat(o.predictedLabel()).as(o.queryId()).isEqualTo(p.label());
          assertThat(o.modelVersion()).as(o.queryId()).isEqualTo(p.modelVersion());
          assertThat(o.trueLabel()).as(o.queryId()).isEqualTo(truth.get(o.queryId()));
          assertThat(o.promoted()).as(o.queryId()).isEqualTo(promotes(o.queryId()));
          if (o.promoted()) {
            promoted.merge(o.task(), 1, Integer::sum);
          }
        }
        for (String task : TASKS) {
          assertAccuracy(port, task, truth);
        }
        // Each promotion is one support change: one snapshot, one more example.
        awaitTrue(
            () -> List.of(TASKS).stream().allMatch(task -> lastSnapshots().containsKey(task)
                && lastSnapshots().get(task).supportExamples()
                    == CLASSES + promoted.getOrDefault(task, 0)),
            reader, "the promoted examples in the snapshots " + promoted);
        poll(reader, Duration.ofSeconds(2));
        for (String task : TASKS) {
          ModelSnapshot last = lastSnapshots().get(task);
          int examples = CLASSES + promoted.getOrDefault(task, 0);
          assertThat(last.supportExamples()).as("examples of %s", task).isEqualTo(examples);
          assertThat(last.version())
              .as("versions of %s: one per support change, none for a replayed promotion", task)
              .isEqualTo(examples);
        }
        assertThat(FaultRig.repeatedVersions(codec, models)).as("repeated versions").isZero();
        assertThat(FaultRig.versionRegressions(codec, models)).as("versions that went down")
            .isEmpty();
        System.out.printf("feedback kill -9: promoted %s, accuracy over HTTP equal to the"
            + " outcomes for %d tasks%n", promoted, TASKS.length);
      } finally {
        first.destroyForcibly();
        if (second != null) {
          second.destroy();
          second.waitFor(60, TimeUnit.SECONDS);
        }
      }
    }
  }

  /** The since-start accuracy over HTTP equals what the outcomes and the labels say, exactly. */
  private void assertAccuracy(int port, String task, Map<String, String> truth) throws Exception {
    long n = 0;
    long correct = 0;
    long offlineCorrect = 0;
    Map<String, Long> results = new TreeMap<>();
    for (Outcome o : outcomes) {
      if (o.task().equals(task)) {
        n++;
        correct += o.correct() ? 1 : 0;
        results.merge(o.result(), 1L, Long::sum);
        offlineCorrect += predicted.get(o.queryId()).label().equals(truth.get(o.queryId())) ? 1 : 0;
      }
    }
    assertThat(correct).as("correct outcomes of %s against the labels", task)
        .isEqualTo(offlineCorrect);
    assertThat(n - correct).as("wrong answers of %s: the test counts some", task).isPositive();
    // The HTTP view reads the local store, which may run ahead of the committed topic.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    JsonNode view = accuracy(port, task);
    while (view.at("/sinceStart/overall/outcomes").asLong() != n
        && System.nanoTime() < deadline) {
      FaultRig.sleep(200);
      view = accuracy(port, task);
    }
    JsonNode overall = view.at("/sinceStart/overall");
    assertThat(overall.path("outcomes").asLong()).as("outcomes of %s over HTTP", task).isEqualTo(n);
    assertThat(overall.path("correct").asLong()).as("correct of %s over HTTP", task)
        .isEqualTo(correct);
    assertThat(overall.path("accuracy").asDouble()).as("accuracy of %s over HTTP", task)
        .isEqualTo((double) correct / n);
    Map<String, Long> served = new TreeMap<>();
    for (Map.Entry<String, JsonNode> e : overall.path("results").properties()) {
      if (e.getValue().asLong() > 0) {
        served.put(e.getKey(), e.getValue().asLong());
      }
    }
    assertThat(served).as("results of %s over HTTP", task).isEqualTo(results);
  }

  /** Until the service's own view of every task (its global store) holds all its classes. */
  private void awaitServedModels(int port) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    for (String task : TASKS) {
      String last = "no answer";
      while (true) {
        try {
          HttpResponse<String> answer =
              http.send(
                  HttpRequest.newBuilder(
                          URI.create("http://localhost:" + port + "/api/tasks/" + task))
                      .timeout(Duration.ofSeconds(10))
                      .build(),
                  HttpResponse.BodyHandlers.ofString());
          last = answer.statusCode() + " " + answer.body();
          if (answer.statusCode() == 200
              && json.readTree(answer.body()).path("classes").size() == CLASSES) {
            break;
          }
        } catch (java.io.IOException e) {
          last = e.toString();
        }
        if (System.nanoTime() > deadline) {
          throw new AssertionError(
              "expected the service to serve " + task + "'s " + CLASSES + " classes within "
                  + WAIT + "; last answer: " + last);
        }
        Thread.sleep(100);
      }
    }
  }

  private JsonNode accuracy(int port, String task) throws Exception {
    HttpResponse<String> answer =
        http.send(
            HttpRequest.newBuilder(
                    URI.create("http://localhost:" + port + "/api/tasks/" + task + "/accuracy"))
                .timeout(Duration.ofSeconds(10))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).as("accuracy of %s: %s", task, answer.body()).isEqualTo(200);
    return json.readTree(answer.body());
  }

  private int sendFeedback(
      KafkaProducer<String, byte[]> producer, Map<String, String> truth, int from, int n) {
    int i = from;
    for (; i < Math.min(QUERIES, from + n); i++) {
      String task = TASKS[i % TASKS.length];
      producer.send(
          new ProducerRecord<>(
              "fewshot-feedback",
              task,
              codec.write(
                  new FeedbackEvent(1, task, id(i), truth.get(id(i)),
                      promotes(id(i)) ? Boolean.TRUE : null))));
    }
    producer.flush();
    return i;
  }

  private static boolean promotes(String queryId) {
    return Integer.parseInt(queryId.substring(1)) % PROMOTE_EVERY == PROMOTE_EVERY - 1;
  }

  private Process startService(String bootstrap, int port, String name)
      throws IOException, InterruptedException {
    return FaultRig.startProcess(
        JAR,
        bootstrap,
        List.of(
            "application.id=feedback-kill",
            "processing.guarantee=exactly_once_v2",
            // Transactions of a second (the default under exactly-once is 100 ms) hold more
            // joins, so that the kill aborts more of them.
            "commit.interval.ms=1000",
            "state.dir=" + dir.resolve("state"),
            "fewshot.http.port=" + port,
            "fewshot.http.advertised.host=localhost",
            "fewshot.topic.partitions=2",
            "fewshot.finetune.method=prototypes",
            // The broker's smallest session: the killed member leaves the group after 6 s, so
            // the restarted one gets the tasks without waiting the default 45 s.
            "session.timeout.ms=6000",
            "heartbeat.interval.ms=1500"),
        // Kept after the test, for a look when it fails.
        Path.of("target", "feedback-kill-it", name + ".log"),
        name);
  }

  private final Map<String, Prediction> predicted = new HashMap<>();
  private final List<String> predictedTwice = new ArrayList<>();
  private final List<Outcome> outcomes = new ArrayList<>();
  private final List<ConsumerRecord<String, byte[]>> models = new ArrayList<>();
  private final List<String> deadLetters = new ArrayList<>();

  private int committedOutcomes() {
    return outcomes.size();
  }

  /** The last snapshot of each task read so far. */
  private Map<String, ModelSnapshot> lastSnapshots() {
    Map<String, ModelSnapshot> last = new HashMap<>();
    for (ConsumerRecord<String, byte[]> r : models) {
      ModelSnapshot s = codec.readSnapshot(r.value());
      last.put(s.task(), s);
    }
    return last;
  }

  private void poll(KafkaConsumer<String, byte[]> reader, Duration d) {
    long deadline = System.nanoTime() + d.toNanos();
    do {
      for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(100))) {
        switch (r.topic()) {
          case "fewshot-predictions" -> {
            Prediction p = codec.readPrediction(r.value());
            if (predicted.put(p.queryId(), p) != null) {
              predictedTwice.add(p.queryId());
            }
          }
          case "fewshot-outcomes" -> outcomes.add(codec.readOutcome(r.value()));
          case "fewshot-models" -> models.add(r);
          default -> deadLetters.add(new String(r.value(), StandardCharsets.UTF_8));
        }
      }
    } while (System.nanoTime() < deadline);
  }

  private void awaitTrue(
      java.util.function.BooleanSupplier done, KafkaConsumer<String, byte[]> reader, String what) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "expected " + what + " within " + WAIT + "; found " + predicted.size()
                + " predictions, " + outcomes.size() + " outcomes, " + models.size()
                + " snapshots, dead letters " + deadLetters.stream().limit(5).toList());
      }
      poll(reader, Duration.ofMillis(200));
    }
  }

  private static String id(int i) {
    return "q" + i;
  }

  private static String label(int c) {
    return "class-" + c;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
