package io.fewshotstreams.serving;

import io.fewshotstreams.TestClients;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.FewShotConfig;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two instances of one application on a real broker, each with its HTTP API: every task's learner
 * state is answered by both, forwarded from the instance that owns it; classification over HTTP
 * answers what the query path answers.
 */
class HttpApiIT {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final EventCodec CODEC = new EventCodec();
  /** Enough tasks that, spread over 4 partitions, both instances own some. */
  private static final int TASKS = 8;
  /** Two classes of two examples each: four support changes per task. */
  private static final int ADDS_PER_TASK = 4;
  /**
   * Every instance wants this bearer token, so the forwarded learner states of the test below also
   * show that one instance sends it to another.
   */
  private static final String TOKEN = "http-it-token";

  private static EmbeddedKafkaBroker broker;
  private static Embedder embedder;

  @TempDir Path stateA;
  @TempDir Path stateB;

  private final HttpClient client = HttpClient.newHttpClient();

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

  /** One instance: the service and its HTTP API. */
  private record Instance(ServiceInstance running) implements AutoCloseable {
    URI uri() {
      return running.http().orElseThrow();
    }

    /** host:port, as the API names instances. */
    String instance() {
      return uri().getAuthority();
    }

    @Override
    public void close() {
      running.close();
    }
  }

  private static Instance start(String applicationId, Path stateDir, boolean classify)
      throws IOException {
    int port;
    try (ServerSocket free = new ServerSocket(0)) {
      // application.server must name the port before Kafka Streams starts.
      port = free.getLocalPort();
    }
    Map<String, Object> settings = new HashMap<>();
    settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
    settings.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    settings.put(StreamsConfig.APPLICATION_SERVER_CONFIG, "localhost:" + port);
    settings.put(FewShotConfig.TOPIC_PARTITIONS_CONFIG, 4);
    settings.put(FewShotConfig.FINETUNE_METHOD_CONFIG, "prototypes");
    settings.put(FewShotConfig.HTTP_PORT_CONFIG, port);
    settings.put(FewShotConfig.HTTP_ADVERTISED_HOST_CONFIG, "localhost");
    settings.put(FewShotConfig.HTTP_CLASSIFY_ENABLED_CONFIG, classify);
    settings.put(FewShotConfig.HTTP_MAX_REQUEST_BYTES_CONFIG, 64 * 1024); // sample PNGs are < 2 KiB
    settings.put(FewShotConfig.HTTP_AUTH_TOKEN_CONFIG, TOKEN);
    FewShotConfig config = new FewShotConfig(settings);
    return new Instance(ServiceInstance.start(config, embedder, true, Duration.ofSeconds(90)));
  }

  @Test
  void shouldAnswerEveryTaskOnBothInstancesAndClassifyLikeTheQueryPath() throws Exception {
    String applicationId = "http-it-" + UUID.randomUUID();
    try (Instance a = start(applicationId, stateA, false);
        Instance b = start(applicationId, stateB, true);
        KafkaProducer<String, byte[]> producer = producer()) {
      awaitRunning(a, b);
      FewShotConfig config = new FewShotConfig(Map.of());
      for (int t = 0; t < TASKS; t++) {
        String task = "task-" + t;
        for (int i = 0; i < ADDS_PER_TASK; i++) {
          String label = i % 2 == 0 ? "A" : "B";
          SupportEvent add =
              new SupportEvent.AddExample(1, task, label, task + "-" + i, null, axis(i % 2, i));
          producer.send(new ProducerRecord<>(config.supportTopic(), task, CODEC.write(add)));
        }
      }
      producer.flush();
      List<String> tasks = new java.util.ArrayList<>();
      for (int t = 0; t < TASKS; t++) {
        tasks.add("task-" + t);
      }
      awaitTasks(a, tasks, ADDS_PER_TASK);
      awaitRunning(a, b);

      Set<String> owners = new HashSet<>();
      for (int t = 0; t < TASKS; t++) {
        String task = "task-" + t;
        HttpResponse<String> onA = get(a, "/api/tasks/" + task);
        HttpResponse<String> onB = get(b, "/api/tasks/" + task);
        assertThat(onA.statusCode()).as(onA.body()).isEqualTo(200);
        assertThat(onB.statusCode()).as(onB.body()).isEqualTo(200);
        JsonNode learnerA = JSON.readTree(onA.body()).get("learner");
        JsonNode learnerB = JSON.readTree(onB.body()).get("learner");
        assertThat(learnerA).as("the same state, wherever asked").isEqualTo(learnerB);
        assertThat(learnerA.get("supportChanges").asLong()).isEqualTo(ADDS_PER_TASK);
        assertThat(learnerA.get("host").asText()).isIn(a.instance(), b.instance());
        owners.add(learnerA.get("host").asText());
        JsonNode view = JSON.readTree(onA.body());
        assertThat(view.get("version").asLong()).isEqualTo(ADDS_PER_TASK);
        assertThat(view.get("classes").toString())
            .isEqualTo("[{\"label\":\"A\",\"examples\":2},{\"label\":\"B\",\"examples\":2}]");
        Instance other = learnerA.get("host").asText().equals(a.instance()) ? b : a;
        HttpResponse<String> notLocal = get(other, "/api/tasks/" + task + "/learner");
        assertThat(notLocal.statusCode()).as("the learner endpoint answers only locally").isEqualTo(404);
        if (t == 0) {
          example("GET /api/tasks/" + task, onB);
          example("GET /api/tasks/" + task + "/learner (elsewhere)", notLocal);
        }
      }
      assertThat(owners).as("both instances own tasks, so half the answers were forwarded").hasSize(2);

      for (Instance i : List.of(a, b)) {
        HttpResponse<String> ready = get(i, "/ready");
        assertThat(ready.statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(ready.body()).get("state").asText()).isEqualTo("RUNNING");
        HttpResponse<String> metrics = get(i, "/metrics");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("jvm_memory_used_bytes");
        HttpResponse<String> unknown = get(i, "/api/tasks/no-such-task");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(unknown.body()).get("error").asText()).contains("no-such-task");
      }
      example("GET /health", get(a, "/health"));
      example("GET /ready", get(a, "/ready"));
      example("GET /api/tasks", get(a, "/api/tasks"));
      example("GET /api/dashboard", get(a, "/api/dashboard"));
      example("GET /api/tasks/no-such-task", get(a, "/api/tasks/no-such-task"));

      classifyLikeTheQueryPath(a, b, producer, config);
    }
  }

  private void classifyLikeTheQueryPath(
      Instance disabled, Instance enabled, KafkaProducer<String, byte[]> producer, FewShotConfig config)
      throws Exception {
    String task = "shoe-shop";
    List<SampleImage> samples = SampleImages.load();
    List<SampleImage> sneakers = samples.stream().filter(s -> s.label().equals("Sneaker")).toList();
    List<SampleImage> boots = samples.stream().filter(s -> s.label().equals("Ankle boot")).toList();
    int shots = 3;
    for (int i = 0; i < shots; i++) {
      for (SampleImage s : List.of(sneakers.get(i), boots.get(i))) {
        SupportEvent add =
            new SupportEvent.AddExample(
                1, task, s.label(), s.name(), new Image(Image.PNG, s.png()), null);
        producer.send(new ProducerRecord<>(config.supportTopic(), task, CODEC.write(add)));
      }
    }
    producer.flush();
    awaitTasks(disabled, List.of(task), 2 * shots);
    byte[] query = sneakers.get(shots).png();

    HttpResponse<String> refused = post(disabled, "/api/tasks/" + task + "/classify", query);
    assertThat(refused.statusCode()).isEqualTo(403);
    example("POST /api/tasks/" + task + "/classify (disabled)", refused);

    HttpResponse<String> answer = post(enabled, "/api/tasks/" + task + "/classify?queryId=q-http", query);
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    example("POST /api/tasks/" + task + "/classify", answer);
    Prediction overHttp = CODEC.readPrediction(answer.body().getBytes(StandardCharsets.UTF_8));
    assertThat(overHttp.queryId()).isEqualTo("q-http");

    try (KafkaConsumer<String, byte[]> consumer = consumer(config.predictionsTopic())) {
      QueryEvent q = new QueryEvent(1, task, "q-topic", new Image(Image.PNG, query), null, null);
      producer.send(new ProducerRecord<>(config.queriesTopic(), task, CODEC.write(q)));
      producer.flush();
      Prediction onTopic = awaitPrediction(consumer, "q-topic");
      assertThat(overHttp.label()).isEqualTo(onTopic.label());
      assertThat(overHttp.modelVersion()).isEqualTo(onTopic.modelVersion());
      assertThat(overHttp.method()).isEqualTo(onTopic.method());
      for (Map.Entry<String, Double> p : onTopic.probabilities().entrySet()) {
        assertThat(overHttp.probabilities().get(p.getKey()))
            .as("same features and classifier as the query path")
            .isCloseTo(p.getValue(), org.assertj.core.data.Offset.offset(1e-6));
      }
    }

    HttpResponse<String> unknown = post(enabled, "/api/tasks/no-such-task/classify", query);
    assertThat(unknown.statusCode()).isEqualTo(404);
    HttpResponse<String> badImage = post(enabled, "/api/tasks/" + task + "/classify", "not an image".getBytes(StandardCharsets.UTF_8));
    assertThat(badImage.statusCode()).isEqualTo(400);
    example("POST /api/tasks/" + task + "/classify (not an image)", badImage);
    // A chunked body has no Content-Length: the limit is counted while reading.
    HttpResponse<String> chunked =
        client.send(
            HttpRequest.newBuilder(enabled.uri().resolve("/api/tasks/" + task + "/classify"))
                .header("Authorization", "Bearer " + TOKEN)
                .POST(
                    HttpRequest.BodyPublishers.ofInputStream(
                        () -> new ByteArrayInputStream(new byte[64 * 1024 + 1])))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(chunked.statusCode()).isEqualTo(413);
    HttpResponse<String> wrongMethod = post(enabled, "/api/tasks", new byte[0]);
    assertThat(wrongMethod.statusCode()).isEqualTo(405);
    example("POST /api/tasks", wrongMethod);
  }

  /**
   * Readiness through a rebalance: a second instance joins, so the first rebalances; once it has
   * been RUNNING it stays ready meanwhile (it still answers from its stores and the global store),
   * so that a rolling restart does not take every pod out of the Service at once. Before, /ready
   * answered 503 whenever the state was not RUNNING. The probe is asked without a token, as a
   * kubelet asks it.
   */
  @Test
  void shouldStayReadyThroughARebalanceOnceItRan() throws Exception {
    String applicationId = "ready-it-" + UUID.randomUUID();
    try (Instance a = start(applicationId, stateA, false)) {
      awaitRunning(a);
      List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
      java.util.concurrent.atomic.AtomicBoolean polling =
          new java.util.concurrent.atomic.AtomicBoolean(true);
      Thread poller =
          new Thread(
              () -> {
                while (polling.get()) {
                  try {
                    HttpResponse<String> ready =
                        client.send(
                            HttpRequest.newBuilder(a.uri().resolve("/ready")).GET().build(),
                            HttpResponse.BodyHandlers.ofString());
                    seen.add(
                        JSON.readTree(ready.body()).get("state").asText()
                            + " "
                            + ready.statusCode());
                  } catch (IOException e) {
                    seen.add("error " + e);
                  } catch (InterruptedException e) {
                    return;
                  }
                }
              });
      poller.start();
      try (Instance b = start(applicationId, stateB, false)) {
        awaitRunning(b);
        awaitRunning(a);
        Thread.sleep(1_000);
      } finally {
        polling.set(false);
        poller.join();
      }
      assertThat(seen).as("the rebalance B's joining caused").contains("REBALANCING 200");
      assertThat(seen).as("/ready answers while A rebalanced").noneMatch(s -> s.endsWith(" 503"));
      assertThat(seen).noneMatch(s -> s.startsWith("error"));
    }
  }

  private static void example(String request, HttpResponse<String> response) {
    System.out.println("EXAMPLE " + request + " -> " + response.statusCode() + "\n" + response.body());
  }

  private static void awaitRunning(Instance... instances) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    for (Instance i : instances) {
      while (i.running().service().streams().state() != KafkaStreams.State.RUNNING) {
        assertThat(System.nanoTime()).as("RUNNING in time").isLessThan(deadline);
        Thread.sleep(50);
      }
    }
  }

  /** Waits until {@code /api/tasks} lists every one of {@code names} at {@code version} or later. */
  private void awaitTasks(Instance instance, List<String> names, long version) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      HttpResponse<String> answer = get(instance, "/api/tasks");
      if (answer.statusCode() == 200) {
        JsonNode tasks = JSON.readTree(answer.body()).get("tasks");
        Set<String> done = new HashSet<>();
        for (JsonNode t : tasks) {
          if (t.get("version").asLong() >= version) {
            done.add(t.get("task").asText());
          }
        }
        if (done.containsAll(names)) {
          return;
        }
      }
      assertThat(System.nanoTime()).as("tasks in time: " + answer.body()).isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  private HttpResponse<String> get(Instance instance, String path)
      throws IOException, InterruptedException {
    return client.send(
        HttpRequest.newBuilder(instance.uri().resolve(path))
            .header("Authorization", "Bearer " + TOKEN)
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(Instance instance, String path, byte[] body)
      throws IOException, InterruptedException {
    URI uri = instance.uri().resolve(path);
    return client.send(
        HttpRequest.newBuilder(uri)
            .header("Authorization", "Bearer " + TOKEN)
            .header("Content-Type", "image/png")
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static Prediction awaitPrediction(KafkaConsumer<String, byte[]> consumer, String queryId) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (System.nanoTime() < deadline) {
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
        Prediction p = CODEC.readPrediction(r.value());
        if (p.queryId().equals(queryId)) {
          return p;
        }
      }
    }
    throw new AssertionError("expected a prediction for " + queryId + ", found none");
  }

  private static KafkaProducer<String, byte[]> producer() {
    return TestClients.producer(broker.bootstrapServers());
  }

  private static KafkaConsumer<String, byte[]> consumer(String topic) {
    KafkaConsumer<String, byte[]> consumer =
        TestClients.readCommittedConsumer(broker.bootstrapServers(), "http-it-reader-");
    consumer.subscribe(List.of(topic));
    return consumer;
  }

  /** A unit axis in the backbone's feature space, slightly perturbed. */
  private static float[] axis(int axis, long seed) {
    Random random = new Random(seed);
    float[] v = new float[embedder.featureSize()];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (0.1 * random.nextGaussian() / Math.sqrt(v.length));
    }
    v[axis] += 1f;
    return v;
  }
}
