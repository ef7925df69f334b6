package io.fewshotstreams.streaming.feedback;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fewshotstreams.TestClients;
import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.DeadLetterReason;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.FeedbackEvent;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Outcome;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.serving.ServiceInstance;
import io.fewshotstreams.streaming.FewShotConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Queries and delayed feedback through a real broker under exactly-once: the outcomes topic, the
 * live accuracy over HTTP and the Prometheus metrics each equal the accuracy computed here from
 * the same predictions and labels, exactly; a restart of the instance keeps the counts.
 */
class FeedbackIT {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final EventCodec CODEC = new EventCodec();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TASK = "shop";
  private static final List<String> CLASSES = List.of("A", "B", "C");
  /** Queries in all; feedback for the first BEFORE_RESTART before the restart, the rest after. */
  private static final int QUERIES = 30;
  private static final int BEFORE_RESTART = 24;

  private static EmbeddedKafkaBroker broker;
  private static Embedder embedder;
  @TempDir Path state;
  @TempDir Path stateB;
  private final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void startBroker() {
    broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
    embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT);
  }

  @AfterAll
  static void stopBroker() {
    embedder.close();
    broker.close();
  }

  @Test
  void shouldCountEveryOutcomeOnceAndAgreeWithTheOfflineAccuracyAcrossARestart() throws Exception {
    String app = "feedback-it-" + UUID.randomUUID();
    int port = freePort();
    FewShotConfig config = config(app, port);
    Map<String, Prediction> predicted = new LinkedHashMap<>();
    Map<String, String> truth = new LinkedHashMap<>();
    try (KafkaProducer<String, byte[]> producer = TestClients.producer(broker.bootstrapServers());
        KafkaConsumer<String, byte[]> predictions = consumer(config.predictionsTopic());
        KafkaConsumer<String, byte[]> outcomes = consumer(config.outcomesTopic());
        KafkaConsumer<String, byte[]> models = consumer(config.modelsTopic())) {
      try (ServiceInstance service = ServiceInstance.start(config, embedder, true, WAIT)) {
        assertThat(service.http()).isPresent();
        for (int c = 0; c < CLASSES.size(); c++) {
          send(producer, config.supportTopic(),
              new SupportEvent.AddExample(1, TASK, CLASSES.get(c), "s" + c, null, axis(c, 0.1, c)));
        }
        readUntil(models, r -> CODEC.readSnapshot(r.value()), s -> s.classes().size() == 3);
        for (int i = 0; i < QUERIES; i++) {
          // Noisy queries near class i % 3; every fourth one's truth is the next class: wrong.
          int near = i % 3;
          truth.put("q" + i, CLASSES.get(i % 4 == 3 ? (near + 1) % 3 : near));
          send(producer, config.queriesTopic(),
              new QueryEvent(1, TASK, "q" + i, null, axis(near, 0.8, 100 + i), null));
        }
        List<Prediction> answers =
            readN(predictions, QUERIES, FeedbackIT::shop, r -> CODEC.readPrediction(r.value()));
        for (Prediction p : answers) {
          predicted.put(p.queryId(), p);
        }
        // The truth arrives later than the answers.
        Thread.sleep(500);
        for (int i = 0; i < BEFORE_RESTART; i++) {
          send(producer, config.feedbackTopic(),
              new FeedbackEvent(1, TASK, "q" + i, truth.get("q" + i), null));
        }
        send(producer, config.feedbackTopic(), new FeedbackEvent(1, TASK, "nobody", "A", null));
        List<Outcome> first =
            readN(outcomes, BEFORE_RESTART, FeedbackIT::shop, r -> CODEC.readOutcome(r.value()));
        Offline before = offline(predicted, truth, BEFORE_RESTART);

        assertOutcomes(first, predicted, truth);
        assertThat(first.stream().filter(Outcome::correct).count()).isEqualTo(before.correct);
        JsonNode view = accuracy(port);
        assertThat(view.at("/sinceStart/overall/outcomes").asLong()).isEqualTo(BEFORE_RESTART);
        assertThat(view.at("/sinceStart/overall/correct").asLong()).isEqualTo(before.correct);
        assertThat(view.at("/sinceStart/overall/accuracy").asDouble()).isEqualTo(before.accuracy());
        assertThat(view.at("/window/overall/accuracy").asDouble()).isEqualTo(before.accuracy());
        String metrics = get(port, "/metrics");
        assertThat(sum(metrics, "fewshot_feedback_outcomes_total", null))
            .isEqualTo(BEFORE_RESTART);
        assertThat(sum(metrics, "fewshot_feedback_outcomes_total", "correct"))
            .isEqualTo(before.correct);
        assertThat(gauge(metrics, "all")).isEqualTo(before.accuracy());
      }

      try (ServiceInstance restarted = ServiceInstance.start(config, embedder, true, WAIT)) {
        assertThat(restarted.http()).isPresent();
        JsonNode kept = accuracy(port);
        assertThat(kept.at("/sinceStart/overall/outcomes").asLong())
            .as("the counts survive the restart")
            .isEqualTo(BEFORE_RESTART);
        assertThat(gauge(get(port, "/metrics"), "all"))
            .as("the gauge comes back with the restored state")
            .isEqualTo(offline(predicted, truth, BEFORE_RESTART).accuracy());
        for (int i = BEFORE_RESTART; i < QUERIES; i++) {
          send(producer, config.feedbackTopic(),
              new FeedbackEvent(1, TASK, "q" + i, truth.get("q" + i), null));
        }
        List<Outcome> rest =
            readN(
                outcomes,
                QUERIES - BEFORE_RESTART,
                FeedbackIT::shop,
                r -> CODEC.readOutcome(r.value()));
        assertOutcomes(rest, predicted, truth);
        Offline all = offline(predicted, truth, QUERIES);
        JsonNode view = awaitOutcomes(port, QUERIES);
        assertThat(view.at("/sinceStart/overall/correct").asLong()).isEqualTo(all.correct);
        assertThat(view.at("/sinceStart/overall/accuracy").asDouble()).isEqualTo(all.accuracy());
        assertThat(gauge(get(port, "/metrics"), "all")).isEqualTo(all.accuracy());
        assertThat(outcomes.poll(Duration.ofSeconds(2)).records(config.outcomesTopic()))
            .as("no outcome is written twice")
            .noneMatch(FeedbackIT::shop);
        assertThat(answered(predictions, Duration.ofSeconds(1)))
            .as("predictions beyond one per query")
            .isEmpty();
      }
    }
    try (KafkaConsumer<String, byte[]> dead = consumer(config.deadLettersTopic())) {
      DeadLetter letter =
          readN(dead, 1, FeedbackIT::shop, r -> CODEC.readDeadLetter(r.value())).get(0);
      assertThat(letter.reason()).isEqualTo(DeadLetterReason.UNKNOWN_QUERY);
    }
  }

  @Test
  void shouldAnswerEveryTaskAccuracyOnBothInstances() throws Exception {
    String app = "feedback-it-two-" + UUID.randomUUID();
    int portA = freePort();
    int portB = freePort();
    FewShotConfig configA = config(app, portA);
    FewShotConfig configB =
        config(app, portB).with(StreamsConfig.STATE_DIR_CONFIG, stateB.toString());
    // Spread over 2 partitions, some of 6 tasks land on each instance.
    List<String> tasks = List.of("t0", "t1", "t2", "t3", "t4", "t5");
    try (ServiceInstance a = ServiceInstance.start(configA, embedder, true, WAIT);
        ServiceInstance b = ServiceInstance.start(configB, embedder, true, WAIT);
        KafkaProducer<String, byte[]> producer = TestClients.producer(broker.bootstrapServers());
        KafkaConsumer<String, byte[]> predictions = consumer(configA.predictionsTopic());
        KafkaConsumer<String, byte[]> outcomes = consumer(configA.outcomesTopic())) {
      assertThat(a.http()).isPresent();
      assertThat(b.http()).isPresent();
      for (String task : tasks) {
        producer.send(new ProducerRecord<>(configA.supportTopic(), task, CODEC.write(
            new SupportEvent.AddExample(1, task, "A", "a", null, axis(0, 0.1, 1)))));
        producer.send(new ProducerRecord<>(configA.supportTopic(), task, CODEC.write(
            new SupportEvent.AddExample(1, task, "B", "b", null, axis(1, 0.1, 2)))));
      }
      producer.flush();
      try (KafkaConsumer<String, byte[]> models = consumer(configA.modelsTopic())) {
        awaitTwoClasses(models, tasks);
      }
      for (String task : tasks) {
        producer.send(new ProducerRecord<>(configA.queriesTopic(), task, CODEC.write(
            new QueryEvent(1, task, "q", null, axis(0, 0.1, 3), null))));
      }
      readN(predictions, tasks.size(), r -> tasks.contains(r.key()), r -> r.key());
      for (String task : tasks) {
        producer.send(new ProducerRecord<>(configA.feedbackTopic(), task, CODEC.write(
            new FeedbackEvent(1, task, "q", "A", null))));
      }
      producer.flush();
      readN(outcomes, tasks.size(), r -> tasks.contains(r.key()), r -> r.key());
      assertThat(answered(predictions, Duration.ofSeconds(2)))
          .as("predictions beyond one per query")
          .isEmpty();
      for (String task : tasks) {
        JsonNode fromA = JSON.readTree(get(portA, "/api/tasks/" + task + "/accuracy"));
        JsonNode fromB = JSON.readTree(get(portB, "/api/tasks/" + task + "/accuracy"));
        assertThat(fromA.at("/sinceStart/overall/outcomes").asLong()).as(task).isEqualTo(1);
        // One instance owns the task; the other forwarded the question, so both name the owner.
        assertThat(fromA.path("host").asText()).isIn("localhost:" + portA, "localhost:" + portB);
        assertThat(fromB).as("the same answer, from the owner, on both").isEqualTo(fromA);
      }
    }
  }

  /**
   * Fail-over: two instances with standby replicas count outcomes of six tasks; one closes and
   * the survivor serves, for every task, the same since-start and window counts that were served
   * before; feedback after the fail-over is counted once, on top of them. Catches accuracy state
   * that does not move with its task (not changelogged, or kept in memory by the instance that
   * counted it) and feedback joined twice after the hand-over.
   */
  @Test
  void shouldServeTheSameCountsFromTheSurvivorOfAFailOverAndCountLaterFeedbackOnce()
      throws Exception {
    String app = "feedback-it-failover-" + UUID.randomUUID();
    int portA = freePort();
    int portB = freePort();
    FewShotConfig configA =
        config(app, portA)
            .with(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, 1)
            // The broker's smallest session, as in FailoverIT; A leaves the group as it closes.
            .with(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 6_000)
            .with(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_500);
    FewShotConfig configB =
        configA
            .with(StreamsConfig.STATE_DIR_CONFIG, stateB.toString())
            .with(StreamsConfig.APPLICATION_SERVER_CONFIG, "localhost:" + portB)
            .with(FewShotConfig.HTTP_PORT_CONFIG, portB);
    // Six tasks over 2 partitions: each instance owns some (checked below).
    List<String> tasks = List.of("f0", "f1", "f2", "f3", "f4", "f5");
    int perTask = 8; // queries of each task; feedback for the first BEFORE before the fail-over
    int before = 5;
    Map<String, Prediction> predicted = new LinkedHashMap<>();
    Map<String, String> truth = new LinkedHashMap<>();
    Map<String, JsonNode> served = new LinkedHashMap<>();
    ServiceInstance a = ServiceInstance.start(configA, embedder, true, WAIT);
    boolean aClosed = false;
    try (ServiceInstance b = ServiceInstance.start(configB, embedder, true, WAIT);
        KafkaProducer<String, byte[]> producer = TestClients.producer(broker.bootstrapServers());
        KafkaConsumer<String, byte[]> predictions = consumer(configA.predictionsTopic());
        KafkaConsumer<String, byte[]> outcomes = consumer(configA.outcomesTopic());
        KafkaConsumer<String, byte[]> models = consumer(configA.modelsTopic())) {
      assertThat(b.http()).isPresent();
      for (String task : tasks) {
        for (int c = 0; c < 2; c++) {
          producer.send(new ProducerRecord<>(configA.supportTopic(), task, CODEC.write(
              new SupportEvent.AddExample(
                  1, task, CLASSES.get(c), "s" + c, null, axis(c, 0.1, c)))));
        }
      }
      producer.flush();
      awaitTwoClasses(models, tasks);
      for (String task : tasks) {
        for (int i = 0; i < perTask; i++) {
          // Noisy queries near A or B; every third one's truth is the other class.
          int near = i % 2;
          truth.put(task + "/q" + i, CLASSES.get(i % 3 == 2 ? 1 - near : near));
          producer.send(new ProducerRecord<>(configA.queriesTopic(), task, CODEC.write(
              new QueryEvent(1, task, "q" + i, null, axis(near, 0.8, 31L * i + task.hashCode()),
                  null))));
        }
      }
      producer.flush();
      for (Prediction p :
          readN(predictions, tasks.size() * perTask, r -> CODEC.readPrediction(r.value()))) {
        assertThat(predicted.put(p.task() + "/" + p.queryId(), p))
            .as("a second prediction of %s/%s", p.task(), p.queryId())
            .isNull();
      }
      sendFeedback(producer, configA, tasks, truth, 0, before);
      List<Outcome> first =
          readN(outcomes, tasks.size() * before, r -> CODEC.readOutcome(r.value()));
      java.util.Set<String> hosts = new java.util.HashSet<>();
      for (String task : tasks) {
        JsonNode view = awaitCounted(portB, task, before);
        assertCounts(view, task, first);
        hosts.add(view.path("host").asText());
        served.put(task, view);
      }
      assertThat(hosts)
          .as("owners of the tasks before the fail-over: both instances own some")
          .containsExactlyInAnyOrder("localhost:" + portA, "localhost:" + portB);

      a.close();
      aClosed = true;
      for (String task : tasks) {
        JsonNode view = awaitServedBy(portB, task);
        assertThat(view.path("sinceStart"))
            .as("since-start counts of %s on the survivor", task)
            .isEqualTo(served.get(task).path("sinceStart"));
        assertThat(view.path("window"))
            .as("window counts of %s on the survivor", task)
            .isEqualTo(served.get(task).path("window"));
      }

      sendFeedback(producer, configA, tasks, truth, before, perTask);
      List<Outcome> all = new ArrayList<>(first);
      all.addAll(
          readN(outcomes, tasks.size() * (perTask - before), r -> CODEC.readOutcome(r.value())));
      outcomes.poll(Duration.ofSeconds(2)).forEach(r -> all.add(CODEC.readOutcome(r.value())));
      Map<String, Integer> counted = new HashMap<>();
      for (Outcome o : all) {
        counted.merge(o.task() + "/" + o.queryId(), 1, Integer::sum);
        Prediction p = predicted.get(o.task() + "/" + o.queryId());
        assertThat(o.predictedLabel()).isEqualTo(p.label());
        assertThat(o.trueLabel()).isEqualTo(truth.get(o.task() + "/" + o.queryId()));
      }
      assertThat(counted).as("outcomes by query").hasSize(tasks.size() * perTask);
      assertThat(counted.values()).as("outcomes of each query").containsOnly(1);
      for (String task : tasks) {
        JsonNode view = awaitCounted(portB, task, perTask);
        assertCounts(view, task, all);
        long right = 0;
        for (int i = 0; i < perTask; i++) {
          String id = task + "/q" + i;
          right += predicted.get(id).label().equals(truth.get(id)) ? 1 : 0;
        }
        assertThat(view.at("/sinceStart/overall/correct").asLong())
            .as("correct answers of %s, offline", task)
            .isEqualTo(right);
      }
      assertThat(answered(predictions, Duration.ofSeconds(1)))
          .as("predictions beyond one per query")
          .isEmpty();
    } finally {
      if (!aClosed) {
        a.close();
      }
    }
  }

  /** The predictions that arrive within {@code d}, as task/queryId@version. */
  private static List<String> answered(KafkaConsumer<String, byte[]> predictions, Duration d) {
    List<String> answers = new ArrayList<>();
    for (ConsumerRecord<String, byte[]> r : predictions.poll(d)) {
      Prediction p = CODEC.readPrediction(r.value());
      answers.add(p.task() + "/" + p.queryId() + "@" + p.modelVersion());
    }
    return answers;
  }

  private static void sendFeedback(
      KafkaProducer<String, byte[]> producer,
      FewShotConfig config,
      List<String> tasks,
      Map<String, String> truth,
      int from,
      int to) {
    for (String task : tasks) {
      for (int i = from; i < to; i++) {
        producer.send(new ProducerRecord<>(config.feedbackTopic(), task, CODEC.write(
            new FeedbackEvent(1, task, "q" + i, truth.get(task + "/q" + i), null))));
      }
    }
    producer.flush();
  }

  /** The since-start counts of {@code task} equal those of its outcomes among {@code all}. */
  private static void assertCounts(JsonNode view, String task, List<Outcome> all) {
    long n = all.stream().filter(o -> o.task().equals(task)).count();
    long correct = all.stream().filter(o -> o.task().equals(task) && o.correct()).count();
    assertThat(view.at("/sinceStart/overall/outcomes").asLong()).as("outcomes of " + task)
        .isEqualTo(n);
    assertThat(view.at("/sinceStart/overall/correct").asLong()).as("correct of " + task)
        .isEqualTo(correct);
    assertThat(view.at("/sinceStart/overall/accuracy").asDouble()).as("accuracy of " + task)
        .isEqualTo((double) correct / n);
  }

  /** The accuracy of {@code task} asked on {@code port} once it counts {@code n} outcomes. */
  private JsonNode awaitCounted(int port, String task, long n) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    JsonNode view = served(port, task);
    while ((view == null || view.at("/sinceStart/overall/outcomes").asLong() < n)
        && System.nanoTime() < deadline) {
      Thread.sleep(100);
      view = served(port, task);
    }
    assertThat(view).as("accuracy of %s served within %s", task, WAIT).isNotNull();
    return view;
  }

  /** The accuracy of {@code task} once the instance on {@code port} answers it as its owner. */
  private JsonNode awaitServedBy(int port, String task) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    JsonNode view = served(port, task);
    while ((view == null || !view.path("host").asText().equals("localhost:" + port))
        && System.nanoTime() < deadline) {
      Thread.sleep(100);
      view = served(port, task);
    }
    assertThat(view).as("accuracy of %s served within %s", task, WAIT).isNotNull();
    assertThat(view.path("host").asText())
        .as("owner of %s after the fail-over", task)
        .isEqualTo("localhost:" + port);
    return view;
  }

  /** The answer to the accuracy of {@code task}, or null while it is not 200 (a rebalance). */
  private JsonNode served(int port, String task) throws Exception {
    HttpResponse<String> answer =
        http.send(
            HttpRequest.newBuilder(
                    URI.create("http://localhost:" + port + "/api/tasks/" + task + "/accuracy"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return answer.statusCode() == 200 ? JSON.readTree(answer.body()) : null;
  }

  /** Correct answers among the first {@code n} queries, computed from predictions and labels. */
  private record Offline(long correct, int n) {
    double accuracy() {
      return (double) correct / n;
    }
  }

  private static Offline offline(
      Map<String, Prediction> predicted, Map<String, String> truth, int n) {
    long correct = 0;
    for (int i = 0; i < n; i++) {
      if (predicted.get("q" + i).label().equals(truth.get("q" + i))) {
        correct++;
      }
    }
    return new Offline(correct, n);
  }

  private static void assertOutcomes(
      List<Outcome> outcomes, Map<String, Prediction> predicted, Map<String, String> truth) {
    for (Outcome o : outcomes) {
      Prediction p = predicted.get(o.queryId());
      assertThat(o.predictedLabel()).isEqualTo(p.label());
      assertThat(o.trueLabel()).isEqualTo(truth.get(o.queryId()));
      assertThat(o.correct()).isEqualTo(p.label().equals(truth.get(o.queryId())));
      assertThat(o.modelVersion()).isEqualTo(p.modelVersion());
      assertThat(o.method()).isEqualTo(ModelSnapshot.PROTOTYPES);
      assertThat(o.truthDelayMs()).as("feedback came after its answer").isPositive();
    }
  }

  private FewShotConfig config(String app, int port) {
    Map<String, Object> s = new HashMap<>();
    s.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    s.put(StreamsConfig.APPLICATION_ID_CONFIG, app);
    s.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
    s.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    s.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    s.put(StreamsConfig.APPLICATION_SERVER_CONFIG, "localhost:" + port);
    s.put(FewShotConfig.TOPIC_PARTITIONS_CONFIG, 2);
    s.put(FewShotConfig.FINETUNE_METHOD_CONFIG, "prototypes");
    s.put(FewShotConfig.HTTP_PORT_CONFIG, port);
    s.put(FewShotConfig.HTTP_ADVERTISED_HOST_CONFIG, "localhost");
    // Topics of its own for each application: the tests share the broker, and an application
    // that read another test's topics from the beginning would answer that test's queries and
    // feedback again, under its own snapshot versions, on the same output topics.
    for (String topic :
        List.of(
            FewShotConfig.SUPPORT_TOPIC_CONFIG,
            FewShotConfig.QUERIES_TOPIC_CONFIG,
            FewShotConfig.PREDICTIONS_TOPIC_CONFIG,
            FewShotConfig.MODELS_TOPIC_CONFIG,
            FewShotConfig.DEAD_LETTERS_TOPIC_CONFIG,
            FewShotConfig.FEEDBACK_TOPIC_CONFIG,
            FewShotConfig.OUTCOMES_TOPIC_CONFIG,
            FewShotConfig.REVIEW_TOPIC_CONFIG)) {
      s.put(topic, app + "-" + topic.substring("fewshot.topic.".length()).replace('.', '-'));
    }
    return new FewShotConfig(s);
  }

  private JsonNode accuracy(int port) throws Exception {
    return JSON.readTree(get(port, "/api/tasks/" + TASK + "/accuracy"));
  }

  /** The accuracy view once it counts {@code n} outcomes (the store commits after the topic). */
  private JsonNode awaitOutcomes(int port, long n) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    JsonNode view = accuracy(port);
    while (view.at("/sinceStart/overall/outcomes").asLong() < n && System.nanoTime() < deadline) {
      Thread.sleep(100);
      view = accuracy(port);
    }
    return view;
  }

  private String get(int port, String path) throws Exception {
    HttpResponse<String> answer =
        http.send(
            HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).as(path + ": " + answer.body()).isEqualTo(200);
    return answer.body();
  }

  /** The sum of a counter's series of task {@value #TASK} (and {@code result}, when given). */
  private static long sum(String metrics, String name, String result) {
    double total = 0;
    Matcher m = Pattern.compile("(?m)^" + name + "\\{([^}]*)\\} (\\S+)$").matcher(metrics);
    while (m.find()) {
      String labels = m.group(1);
      if (labels.contains("task=\"" + TASK + "\"")
          && (result == null || labels.contains("result=\"" + result + "\""))) {
        total += Double.parseDouble(m.group(2));
      }
    }
    return (long) total;
  }

  private static double gauge(String metrics, String scope) {
    Matcher m =
        Pattern.compile("(?m)^fewshot_feedback_accuracy\\{([^}]*)\\} (\\S+)$").matcher(metrics);
    while (m.find()) {
      if (m.group(1).contains("task=\"" + TASK + "\"")
          && m.group(1).contains("scope=\"" + scope + "\"")) {
        return Double.parseDouble(m.group(2));
      }
    }
    throw new AssertionError("expected fewshot_feedback_accuracy{scope=" + scope + "}, found none");
  }

  private static void send(KafkaProducer<String, byte[]> producer, String topic, Object event)
      throws Exception {
    String task =
        event instanceof SupportEvent s
            ? s.task()
            : event instanceof QueryEvent q ? q.task() : TASK;
    producer.send(new ProducerRecord<>(topic, task, CODEC.write(event))).get();
  }

  private static KafkaConsumer<String, byte[]> consumer(String topic) {
    KafkaConsumer<String, byte[]> c =
        TestClients.readCommittedConsumer(broker.bootstrapServers(), "feedback-it-");
    c.subscribe(List.of(topic));
    return c;
  }

  /** Records of task {@value #TASK}: the tests share the broker and its topics. */
  private static boolean shop(ConsumerRecord<String, byte[]> r) {
    return TASK.equals(r.key());
  }

  private static <T> List<T> readN(
      KafkaConsumer<String, byte[]> consumer,
      int n,
      Function<ConsumerRecord<String, byte[]>, T> read) {
    return readN(consumer, n, r -> true, read);
  }

  private static <T> List<T> readN(
      KafkaConsumer<String, byte[]> consumer,
      int n,
      java.util.function.Predicate<ConsumerRecord<String, byte[]>> wanted,
      Function<ConsumerRecord<String, byte[]>, T> read) {
    List<T> out = new ArrayList<>();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (out.size() < n && System.nanoTime() < deadline) {
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
        if (wanted.test(r)) {
          out.add(read.apply(r));
        }
      }
    }
    assertThat(out).as("records read within " + WAIT).hasSize(n);
    return out;
  }

  /** Reads the models topic until every one of {@code tasks} has a snapshot of two classes. */
  private static void awaitTwoClasses(
      KafkaConsumer<String, byte[]> models, java.util.Collection<String> tasks) {
    java.util.Set<String> ready = new java.util.HashSet<>();
    readUntil(
        models,
        r -> CODEC.readSnapshot(r.value()),
        m -> {
          if (m.classes().size() == 2) {
            ready.add(m.task());
          }
          return ready.containsAll(tasks);
        });
  }

  private static <T> T readUntil(
      KafkaConsumer<String, byte[]> consumer,
      Function<ConsumerRecord<String, byte[]>, T> read,
      java.util.function.Predicate<T> done) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
        T value = read.apply(r);
        if (done.test(value)) {
          return value;
        }
      }
    }
    throw new AssertionError("expected a record within " + WAIT + ", found none that matched");
  }

  /** Along basis axis {@code axis} plus Gaussian noise of total norm about {@code noise}. */
  private static float[] axis(int axis, double noise, long seed) {
    Random random = new Random(seed);
    float[] v = new float[embedder.featureSize()];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (noise * random.nextGaussian() / Math.sqrt(v.length));
    }
    v[axis] += 1f;
    return v;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
