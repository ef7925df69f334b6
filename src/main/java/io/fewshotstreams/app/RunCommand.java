package io.fewshotstreams.app;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.ImageLimits;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.serving.ServiceInstance;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import org.apache.kafka.streams.StreamsConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code run}: the service against a Kafka cluster, until stopped. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the few-shot classifier against a Kafka cluster until stopped (Ctrl-C or SIGTERM).",
      "Settings, each source overriding the one before: defaults, environment variables"
          + " (FEWSHOT_HTTP_PORT for fewshot.http.port, KAFKA_BOOTSTRAP_SERVERS for"
          + " bootstrap.servers), the --config file, the --command-config file, then -p and"
          + " --bootstrap-servers. fewshot.* keys are the service's (see docs/configuration.md);"
          + " every other key goes to Kafka Streams and its clients."
    })
final class RunCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--bootstrap-servers",
      paramLabel = "HOST:PORT",
      description = "Kafka bootstrap servers (or bootstrap.servers in --config).")
  String bootstrapServers;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "Properties file of settings (service and Kafka, security included).")
  Path configFile;

  @Option(
      names = "--command-config",
      paramLabel = "FILE",
      description =
          "Kafka client properties file (security.protocol, sasl.jaas.config, ssl.*), for example"
              + " mounted from a Secret, so that passwords stay off the command line and out of"
              + " --config; fewshot.* keys are refused there.")
  Path commandConfigFile;

  @Option(
      names = {"-p", "--property"},
      paramLabel = "KEY=VALUE",
      description = "One setting, repeatable; wins over the files and the environment.")
  Map<String, String> properties = new LinkedHashMap<>();

  @Option(
      names = "--create-topics",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description =
          "Create missing topics (default: ${DEFAULT-VALUE}); with --no-create-topics a missing"
              + " topic is an error that names it.")
  boolean createTopics;

  @Mixin BackboneOptions backbone;

  @Override
  @SuppressWarnings("try") // the service runs while the block waits; it is closed on the way out
  public Integer call() throws InterruptedException {
    FewShotConfig config = FewShotConfig.of(settings());
    try (ShutdownSignal shutdown = new ShutdownSignal();
        Embedder embedder =
            backbone.open(new ImageLimits(config.imageMaxBytes(), config.imageMaxPixels()));
        ServiceInstance service =
            ServiceInstance.start(config, embedder, createTopics, config.startupTimeout())) {
      spec.commandLine()
          .getOut()
          .printf(
              "running as application '%s': support from %s, queries from %s, predictions to %s%n",
              config.applicationId(),
              config.supportTopic(),
              config.queriesTopic(),
              config.predictionsTopic());
      service
          .http()
          .ifPresent(
              uri ->
                  spec.commandLine()
                      .getOut()
                      .printf("HTTP API and dashboard at %s, metrics at %smetrics%n", uri, uri));
      spec.commandLine().getOut().flush();
      shutdown.await();
    }
    return 0;
  }

  Properties settings() {
    return settings(System.getenv());
  }

  /**
   * Defaults, then the environment, then the files named on the command line, then the command
   * line itself: what the user names explicitly wins over what the container image sets.
   */
  Properties settings(Map<String, String> environment) {
    Properties settings = new Properties();
    settings.putAll(FewShotConfig.fromEnvironment(environment));
    if (configFile != null) {
      try (Reader reader = Files.newBufferedReader(configFile)) {
        settings.load(reader);
      } catch (IOException e) {
        throw new FewShotException(
            "cannot read the settings file " + configFile + ": " + e.getMessage(), e);
      }
    }
    if (commandConfigFile != null) {
      settings.putAll(Clients.readClientConfig(commandConfigFile));
    }
    settings.putAll(properties);
    if (bootstrapServers != null) {
      settings.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    }
    return settings;
  }
}
