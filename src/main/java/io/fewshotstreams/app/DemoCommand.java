package io.fewshotstreams.app;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.evaluation.Summary;
import io.fewshotstreams.events.DeadLetter;
import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.events.SupportEvent;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.serving.ServiceInstance;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.StreamsConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code demo}: a real Kafka broker in this process, the service on it, and the bundled sample
 * images of five classes the backbone never saw, published as support and then query events.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Starts a single-node Kafka broker (KRaft) in this process and the service on it, publishes"
          + " a few bundled images of five unseen Fashion-MNIST classes as support events and the"
          + " rest as queries, with 30 images of a class it never registers (Bag), and prints the"
          + " predictions with the running accuracy and which images were answered unknown."
          + " Then it stays"
          + " up so you can send your own events (Ctrl-C to stop)."
    })
final class DemoCommand implements Callable<Integer> {
  static final String TASK = "fashion-demo";

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--port",
      description = "Port of the broker for clients; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int port = 0;

  @Option(
      names = "--http-port",
      description =
          "Port of the dashboard and HTTP API; when it is taken a free one is used, -1 turns HTTP"
              + " off (default: ${DEFAULT-VALUE}).")
  int httpPort = 8080;

  @Option(
      names = "--shots",
      description = "Support images per class, 1 to 20 (default: ${DEFAULT-VALUE}).")
  int shots = 5;

  @Option(
      names = "--rate",
      description = "Queries published per second (default: ${DEFAULT-VALUE}).")
  int rate = 40;

  @Option(
      names = "--feedback-share",
      description =
          "Share of the predictions whose true label is sent back on the feedback topic, wrong"
              + " answers promoted to support examples; 0 sends none (default: ${DEFAULT-VALUE}).")
  double feedbackShare = 0;

  @Option(
      names = "--feedback-delay-ms",
      description = "How long after its prediction the truth is sent (default: ${DEFAULT-VALUE}).")
  long feedbackDelayMs = 2_000;

  @Option(
      names = "--exit-when-done",
      description = "Stop after the last prediction instead of staying up.")
  boolean exitWhenDone;

  @Mixin BackboneOptions backbone;

  @Override
  @SuppressWarnings("try") // the service runs while the block plays the demo; closed on the way out
  public Integer call() throws IOException, InterruptedException {
    if (shots < 1 || shots > 20) {
      throw new FewShotException("expected --shots between 1 and 20, found " + shots);
    }
    if (!(feedbackShare >= 0 && feedbackShare <= 1) || feedbackDelayMs < 0) {
      throw new FewShotException(
          "expected --feedback-share in [0, 1] and --feedback-delay-ms >= 0, found "
              + feedbackShare
              + " and "
              + feedbackDelayMs);
    }
    if (rate < 1) {
      throw new FewShotException("expected --rate >= 1, found " + rate);
    }
    quietKafkaLogs();
    PrintWriter out = spec.commandLine().getOut();
    Path stateDir = Files.createTempDirectory("fewshot-demo-state");
    out.println("starting a Kafka broker (KRaft) in this process ...");
    out.flush();
    try (ShutdownSignal shutdown = new ShutdownSignal();
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults().withPort(port));
        Embedder embedder = backbone.open()) {
      out.println("broker: " + broker.bootstrapServers());
      FewShotConfig config = config(broker.bootstrapServers(), stateDir);
      try (ServiceInstance service =
          ServiceInstance.start(config, embedder, true, Duration.ofMinutes(2))) {
        out.printf(
            "service: application '%s' running (exactly-once), fine-tuning every %d ms%n",
            config.applicationId(), config.fineTuneIntervalMs());
        service.http().ifPresent(uri -> out.printf("dashboard: %s (metrics at %smetrics)%n", uri, uri));
        out.flush();
        Result result = play(config, broker.bootstrapServers(), out);
        double[] interval = Summary.wilsonInterval(result.correct, result.total);
        out.printf(
            "%naccuracy %.1f%% (%d of %d), 95%% interval %.1f%% to %.1f%%%n",
            100.0 * result.correct / result.total,
            result.correct,
            result.total,
            100 * interval[0],
            100 * interval[1]);
        result.byMethod.forEach(
            (method, counts) ->
                out.printf(
                    "  answered by %-11s %5.1f%% of %d%n",
                    method, 100.0 * counts[0] / counts[1], counts[1]));
        out.printf(
            "unknown: %d of %d images of %s (a class never registered), %d of %d known queries%n",
            result.unregisteredUnknown,
            result.unregistered,
            result.unregisteredClass,
            result.knownUnknown,
            result.total);
        if (!exitWhenDone) {
          printHowToContinue(out, broker.bootstrapServers(), config);
          out.flush();
          shutdown.await();
        }
      }
    } finally {
      deleteQuietly(stateDir);
    }
    return 0;
  }

  /**
   * The demo's broker and clients warn about things that are expected here (an empty metadata log,
   * topics still being created, a temporary state directory); a user's own -D setting wins.
   */
  private static void quietKafkaLogs() {
    for (String logger : new String[] {"org.apache.kafka", "kafka"}) {
      String key = "org.slf4j.simpleLogger.log." + logger;
      if (System.getProperty(key) == null) {
        System.setProperty(key, "error");
      }
    }
  }

  private FewShotConfig config(String bootstrap, Path stateDir) {
    Map<String, Object> settings = new HashMap<>();
    settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    settings.put(StreamsConfig.APPLICATION_ID_CONFIG, "fewshot-demo");
    settings.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    settings.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    settings.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    settings.put(FewShotConfig.FINETUNE_INTERVAL_MS_CONFIG, 2_000L);
    settings.put(FewShotConfig.TOPIC_PARTITIONS_CONFIG, 1);
    settings.put(FewShotConfig.HTTP_PORT_CONFIG, httpPort < 0 || portFree(httpPort) ? httpPort : 0);
    return new FewShotConfig(settings);
  }

  /**
   * What the demo saw: known queries right of those answered, by method; images of the
   * unregistered class answered unknown, of those sent; known queries answered unknown.
   */
  private record Result(
      int correct,
      int total,
      Map<String, int[]> byMethod,
      String unregisteredClass,
      int unregisteredUnknown,
      int unregistered,
      int knownUnknown) {}

  private Result play(FewShotConfig config, String bootstrap, PrintWriter out)
      throws InterruptedException {
    EventCodec codec = new EventCodec();
    SampleImages.Split split = SampleImages.split(shots);
    List<SampleImage> supportImages = split.support();
    List<SampleImage> queryImages = new ArrayList<>(split.queries());
    // Images of a class the task never registers, mixed in: they should come back unknown.
    List<SampleImage> unregistered = SampleImages.loadUnregistered();
    queryImages.addAll(unregistered);
    Collections.shuffle(queryImages, new Random(42));
    Map<String, String> truth = new HashMap<>();
    queryImages.forEach(q -> truth.put(q.name(), q.label()));
    String unregisteredClass = unregistered.get(0).label();

    try (KafkaProducer<String, byte[]> producer = Clients.producer(bootstrap, Map.of());
        KafkaConsumer<String, byte[]> consumer =
            Clients.readCommittedConsumer(bootstrap, "fewshot-demo-viewer")) {
      DemoFeedback feedback =
          new DemoFeedback(feedbackShare, feedbackDelayMs, config.feedbackTopic(), codec);
      consumer.subscribe(
          feedback.on()
              ? List.of(
                  config.predictionsTopic(),
                  config.modelsTopic(),
                  config.deadLettersTopic(),
                  config.outcomesTopic())
              : List.of(
                  config.predictionsTopic(), config.modelsTopic(), config.deadLettersTopic()));
      out.printf(
          "publishing %d support images (%d per class) of %s to %s%n",
          supportImages.size(), shots, split.labels(), config.supportTopic());
      for (SampleImage s : supportImages) {
        producer.send(
            new ProducerRecord<>(
                config.supportTopic(),
                TASK,
                codec.write(
                    new SupportEvent.AddExample(
                        1, TASK, s.label(), s.name(), new Image(Image.PNG, s.png()), null))));
      }
      producer.flush();
      long deadline = System.currentTimeMillis() + 60_000;
      boolean ready = false;
      while (!ready) {
        if (System.currentTimeMillis() > deadline) {
          throw new FewShotException(
              "expected a model with all " + split.labels().size() + " classes within 60 s, found none");
        }
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.topic().equals(config.modelsTopic())) {
            ModelSnapshot m = codec.readSnapshot(r.value());
            ready |=
                m.classes().size() == split.labels().size()
                    && m.supportExamples() == supportImages.size();
          }
        }
      }
      out.printf(
          "model ready; publishing %d queries at %d/s, %d of them of %s, a class never"
              + " registered%n%n",
          queryImages.size(), rate, unregistered.size(), unregisteredClass);
      out.flush();

      int sent = 0;
      int correct = 0;
      int known = 0;
      int answered = 0;
      int unregisteredUnknown = 0;
      int knownUnknown = 0;
      Map<String, int[]> byMethod = new LinkedHashMap<>();
      long start = System.nanoTime();
      deadline = Long.MAX_VALUE;
      while (answered < queryImages.size() || feedback.waiting()) {
        feedback.sendDue(producer, System.currentTimeMillis());
        long due = (System.nanoTime() - start) * rate / 1_000_000_000L + 1;
        while (sent < queryImages.size() && sent < due) {
          SampleImage q = queryImages.get(sent++);
          producer.send(
              new ProducerRecord<>(
                  config.queriesTopic(),
                  TASK,
                  codec.write(
                      new QueryEvent(1, TASK, q.name(), new Image(Image.PNG, q.png()), null, null))));
        }
        producer.flush();
        if (sent == queryImages.size() && deadline == Long.MAX_VALUE) {
          deadline = System.currentTimeMillis() + 60_000;
        }
        if (System.currentTimeMillis() > deadline) {
          throw new FewShotException(
              "expected "
                  + queryImages.size()
                  + " predictions and the outcomes of the feedback sent, found "
                  + answered
                  + " predictions after 60 s"
                  + (feedback.waiting() ? ", and outcomes still missing" : ""));
        }
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(20))) {
          if (r.topic().equals(config.predictionsTopic())) {
            Prediction p = codec.readPrediction(r.value());
            answered++;
            boolean registered = !unregisteredClass.equals(truth.get(p.queryId()));
            String verdict;
            if (registered) {
              boolean right = p.label().equals(truth.get(p.queryId()));
              known++;
              correct += right ? 1 : 0;
              knownUnknown += p.unknown() ? 1 : 0;
              int[] counts = byMethod.computeIfAbsent(p.method(), k -> new int[2]);
              counts[0] += right ? 1 : 0;
              counts[1]++;
              verdict = right ? "right" : "WRONG";
            } else {
              unregisteredUnknown += p.unknown() ? 1 : 0;
              verdict = p.unknown() ? "right" : "WRONG";
            }
            feedback.predicted(p, truth.get(p.queryId()), System.currentTimeMillis());
            out.printf(
                "[%3d/%d] %-22s -> %-11s %.2f %s%s  accuracy %5.1f%%  model v%d %s%n",
                answered,
                queryImages.size(),
                p.queryId(),
                p.label(),
                p.probability(),
                p.unknown() ? "unknown " : "",
                verdict,
                known == 0 ? 0.0 : 100.0 * correct / known,
                p.modelVersion(),
                p.method());
          } else if (r.topic().equals(config.modelsTopic())) {
            ModelSnapshot m = codec.readSnapshot(r.value());
            out.printf(
                "        model v%d: %s%s from %d support images and %d pooled queries%n",
                m.version(),
                m.method(),
                m.fineTuning() == null ? "" : " (" + m.fineTuning() + ")",
                m.supportExamples(),
                m.poolQueries());
          } else if (r.topic().equals(config.outcomesTopic())) {
            feedback.outcome(codec.readOutcome(r.value()), out);
          } else {
            DeadLetter d = codec.readDeadLetter(r.value());
            out.printf("        dead letter %s: %s%n", d.reason(), d.message());
          }
        }
        out.flush();
      }
      showDeadLetter(config, producer, consumer, codec, out);
      return new Result(
          correct,
          known,
          byMethod,
          unregisteredClass,
          unregisteredUnknown,
          unregistered.size(),
          knownUnknown);
    }
  }

  /** Sends one malformed query so the user sees where bad input goes. */
  private static void showDeadLetter(
      FewShotConfig config,
      KafkaProducer<String, byte[]> producer,
      KafkaConsumer<String, byte[]> consumer,
      EventCodec codec,
      PrintWriter out) {
    out.printf("%nsending a malformed query to %s ...%n", config.queriesTopic());
    producer.send(
        new ProducerRecord<>(
            config.queriesTopic(), TASK, "{\"task\": \"oops\"".getBytes(StandardCharsets.UTF_8)));
    producer.flush();
    long deadline = System.currentTimeMillis() + 30_000;
    while (System.currentTimeMillis() < deadline) {
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
        if (r.topic().equals(config.deadLettersTopic())) {
          DeadLetter d = codec.readDeadLetter(r.value());
          out.printf(
              "dead letter on %s: %s (%s, offset %d): %s%n",
              config.deadLettersTopic(), d.reason(), d.sourceTopic(), d.offset(), d.message());
          return;
        }
      }
    }
    out.println("no dead letter arrived within 30 s");
  }

  private static void printHowToContinue(PrintWriter out, String bootstrap, FewShotConfig config) {
    out.printf(
        "%nThe broker stays up at %s. Send your own events, for example:%n"
            + "  java -jar target/fewshot-streams.jar produce --bootstrap-servers %s --task my-task"
            + " --as support FOLDER_WITH_ONE_SUB_FOLDER_PER_CLASS%n"
            + "  java -jar target/fewshot-streams.jar produce --bootstrap-servers %s --task my-task"
            + " --as query FOLDER_OF_IMAGES%n"
            + "  kcat -b %s -C -t %s        (predictions)%n"
            + "  kcat -b %s -C -t %s        (dead letters)%n"
            + "  kafka-console-consumer.sh --bootstrap-server %s --topic %s"
            + " --consumer-property isolation.level=read_committed%n"
            + "    (the outputs are written in transactions: read only what was committed;"
            + " kcat does so by default)%n"
            + "The event formats are in schemas/, more recipes in docs/kafka.md."
            + " Ctrl-C stops the demo.%n",
        bootstrap,
        bootstrap,
        bootstrap,
        bootstrap,
        config.predictionsTopic(),
        bootstrap,
        config.deadLettersTopic(),
        bootstrap,
        config.predictionsTopic());
  }

  private static boolean portFree(int port) {
    try (java.net.ServerSocket socket =
        new java.net.ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.isBound();
    } catch (IOException e) {
      return false;
    }
  }

  private static void deleteQuietly(Path dir) {
    try (var paths = Files.walk(dir)) {
      paths.sorted(Collections.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a leftover temporary directory is harmless
    }
  }
}
