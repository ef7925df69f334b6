package io.fewshotstreams.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.fewshotstreams.streaming.FewShotConfig;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * The files under deploy/, checked without a container engine: they parse, the probes and health
 * checks ask the endpoints the service answers, the ports agree, the settings are ones the service
 * accepts, and the Grafana dashboard queries only metrics the service exports.
 */
public class DeployFilesTest {
  private static final Path DEPLOY = Path.of("deploy");
  private static final YAMLMapper YAML = new YAMLMapper();
  private static final JsonMapper JSON = new JsonMapper();

  /**
   * The service's own metrics as Prometheus names with their kind (TelemetryTest checks that a
   * real scrape exports every one of them): a counter is exported as NAME_total, a histogram as
   * NAME_bucket, NAME_sum and NAME_count.
   */
  public static final Map<String, Kind> SERVICE_METRICS =
      Map.ofEntries(
          Map.entry("fewshot_events", Kind.COUNTER),
          Map.entry("fewshot_dead_letters", Kind.COUNTER),
          Map.entry("fewshot_embedding_seconds", Kind.HISTOGRAM),
          Map.entry("fewshot_query_latency_seconds", Kind.HISTOGRAM),
          Map.entry("fewshot_end_to_end_latency_seconds", Kind.HISTOGRAM),
          Map.entry("fewshot_predictions", Kind.COUNTER),
          Map.entry("fewshot_prediction_confidence", Kind.HISTOGRAM),
          Map.entry("fewshot_finetune_seconds", Kind.HISTOGRAM),
          Map.entry("fewshot_finetunes", Kind.COUNTER),
          Map.entry("fewshot_snapshots", Kind.COUNTER),
          Map.entry("fewshot_snapshot_version_max", Kind.GAUGE),
          Map.entry("fewshot_tasks", Kind.GAUGE),
          Map.entry("fewshot_classes", Kind.GAUGE));

  /**
   * The feedback room's metrics (docs/feedback.md). They are registered at a task's first outcome
   * or review item, so a scrape without feedback (TelemetryTest's) has none of them; DashboardLiveIT
   * checks that a real running service exports every one once feedback has come back.
   */
  public static final Map<String, Kind> FEEDBACK_METRICS =
      Map.ofEntries(
          Map.entry("fewshot_feedback_outcomes", Kind.COUNTER),
          Map.entry("fewshot_feedback_accuracy", Kind.GAUGE),
          Map.entry("fewshot_feedback_review", Kind.COUNTER));

  public enum Kind {
    COUNTER("_total"),
    GAUGE(""),
    HISTOGRAM("_bucket", "_sum", "_count");

    public final List<String> suffixes;

    Kind(String... suffixes) {
      this.suffixes = List.of(suffixes);
    }
  }

  private static int exposedPort;

  @BeforeAll
  static void readTheImagesPort() throws IOException {
    Matcher expose =
        Pattern.compile("(?m)^EXPOSE\\s+(\\d+)\\s*$")
            .matcher(Files.readString(DEPLOY.resolve("Dockerfile")));
    assertThat(expose.find()).as("an EXPOSE line in deploy/Dockerfile").isTrue();
    exposedPort = Integer.parseInt(expose.group(1));
  }

  @Test
  void shouldParseEveryYamlAndJsonFile() throws IOException {
    List<Path> yaml = files(".yml", ".yaml");
    List<Path> json = files(".json");
    // compose, prometheus, two grafana provisioning files, six k8s manifests, two Strimzi files
    assertThat(yaml).hasSize(12);
    assertThat(json).hasSize(1);
    for (Path file : yaml) {
      assertThatCode(
              () ->
                  assertThat(documents(file))
                      .isNotEmpty()
                      .allSatisfy(d -> assertThat(d.isObject()).isTrue()))
          .as(file.toString())
          .doesNotThrowAnyException();
    }
    for (Path file : json) {
      assertThatCode(() -> assertThat(JSON.readTree(Files.readString(file)).isObject()).isTrue())
          .as(file.toString())
          .doesNotThrowAnyException();
    }
  }

  @Test
  void shouldBuildARuntimeImageThatRunsAsANonRootUser() throws IOException {
    String dockerfile = Files.readString(DEPLOY.resolve("Dockerfile"));
    assertThat(Pattern.compile("(?m)^FROM ").matcher(dockerfile).results().count())
        .as("a build stage and a runtime stage")
        .isEqualTo(2);
    Matcher user = Pattern.compile("(?m)^USER\\s+(\\S+)").matcher(dockerfile);
    assertThat(user.find()).isTrue();
    assertThat(user.group(1)).doesNotStartWith("root").doesNotStartWith("0:").isNotEqualTo("0");
    assertThat(dockerfile)
        .contains("ENTRYPOINT [\"java\", \"-jar\", \"/app/fewshot-streams.jar\"]")
        .contains("VOLUME [\"/var/lib/fewshot-streams\"]");
  }

  @Test
  void shouldShipTheBrokerFreeBuildInTheImage() throws IOException {
    // catches: the image going back to target/lib, which carries kafka_2.13 and Scala
    String dockerfile = Files.readString(DEPLOY.resolve("Dockerfile"));
    List<String> copies =
        Pattern.compile("(?m)^COPY --from=build (\\S+) ")
            .matcher(dockerfile)
            .results()
            .map(m -> m.group(1))
            .toList();
    assertThat(copies)
        .containsExactly(
            "/src/target/fewshot-streams-slim/fewshot-streams.jar",
            "/src/target/fewshot-streams-slim/lib/");
    assertThat(Files.readString(Path.of("src/assembly/slim.xml")))
        .contains("<exclude>org.apache.kafka:kafka_2.13</exclude>")
        .contains("<useTransitiveFiltering>true</useTransitiveFiltering>");
  }

  @Test
  void shouldLeaveRoomOutsideTheHeapAndExitOnOutOfMemory() throws IOException {
    Matcher env =
        Pattern.compile("(?m)^ENV JDK_JAVA_OPTIONS=\"([^\"]*)\"")
            .matcher(Files.readString(DEPLOY.resolve("Dockerfile")));
    assertThat(env.find()).as("JDK_JAVA_OPTIONS in the Dockerfile").isTrue();
    String k8s = null;
    for (JsonNode variable : statefulSetContainer().path("env")) {
      if (variable.path("name").asString().equals("JDK_JAVA_OPTIONS")) {
        k8s = variable.path("value").asString();
      }
    }
    for (String options : new String[] {env.group(1), k8s}) {
      assertThat(options).contains("-XX:+ExitOnOutOfMemoryError");
      Matcher percent = Pattern.compile("-XX:MaxRAMPercentage=(\\d+)").matcher(options);
      assertThat(percent.find()).as(options).isTrue();
      // RocksDB's block cache and memtables and ONNX Runtime's arena live outside the heap:
      // at least half the container's memory stays theirs
      assertThat(Integer.parseInt(percent.group(1))).as(options).isLessThanOrEqualTo(50);
    }
  }

  @Test
  void shouldRunTheFiveComposeServicesWithAHealthCheckOnReady() throws IOException {
    JsonNode compose = yaml("docker-compose.yml");
    JsonNode services = compose.path("services");
    assertThat(services.propertyNames())
        .containsExactlyInAnyOrder("kafka", "app", "loader", "prometheus", "grafana");
    JsonNode app = services.path("app");
    assertThat(app.path("build").path("dockerfile").asString()).isEqualTo("deploy/Dockerfile");
    assertThat(text(app.path("healthcheck").path("test")))
        .contains("/ready")
        .contains("/" + exposedPort + " ");
    // published on the host's loopback only: the local stack runs without an API token
    assertThat(strings(app.path("ports"))).contains("127.0.0.1:" + exposedPort + ":" + exposedPort);
    assertThat(text(app.path("command"))).contains("fewshot.http.auth.mode=none");
  }

  @Test
  void shouldStartTheComposeAppWithSettingsTheServiceAccepts() throws IOException {
    List<String> command =
        strings(yaml("docker-compose.yml").path("services").path("app").path("command"));
    assertThat(command.get(0)).isEqualTo("run");
    Properties settings = new Properties();
    for (int i = 1; i < command.size(); i += 2) {
      assertThat(command.get(i)).as("option before " + command.get(i + 1)).isEqualTo("-p");
      String[] keyValue = command.get(i + 1).split("=", 2);
      settings.setProperty(keyValue[0], keyValue[1]);
    }
    FewShotConfig config = FewShotConfig.of(settings);
    assertThat(config.getInt(FewShotConfig.HTTP_PORT_CONFIG)).isEqualTo(exposedPort);
    assertThat(config.getString(FewShotConfig.HTTP_BIND_ADDRESS_CONFIG)).isEqualTo("0.0.0.0");
    assertThat(config.streamsProperties())
        .containsEntry(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "kafka:9092")
        .containsEntry(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, "exactly_once_v2")
        .containsEntry(StreamsConfig.STATE_DIR_CONFIG, "/var/lib/fewshot-streams");
  }

  @Test
  void shouldRunTheComposeBrokerAtTheClientsKafkaVersion() throws IOException {
    Matcher version =
        Pattern.compile("<kafka.version>([^<]+)</kafka.version>")
            .matcher(Files.readString(Path.of("pom.xml")));
    assertThat(version.find()).isTrue();
    assertThat(yaml("docker-compose.yml").path("services").path("kafka").path("image").asString())
        .isEqualTo("apache/kafka:" + version.group(1));
  }

  @Test
  void shouldGiveComposeServicesTimeToStopCleanly() throws IOException {
    JsonNode services = yaml("docker-compose.yml").path("services");
    int podGrace =
        yaml("k8s/statefulset.yaml")
            .path("spec").path("template").path("spec").path("terminationGracePeriodSeconds")
            .asInt();
    // the app gets what Kubernetes gives it: time for Kafka Streams to commit and leave the group
    assertThat(seconds(services.path("app").path("stop_grace_period").asString()))
        .isEqualTo(Duration.ofSeconds(podGrace));
    // compose's default is 10 s; the broker needs longer for a controlled shutdown
    assertThat(seconds(services.path("kafka").path("stop_grace_period").asString()))
        .isGreaterThan(Duration.ofSeconds(10));
  }

  @Test
  void shouldRunTheComposeAppReadOnlyWithoutPrivileges() throws IOException {
    JsonNode app = yaml("docker-compose.yml").path("services").path("app");
    assertThat(app.path("read_only").asBoolean()).isTrue();
    assertThat(strings(app.path("tmpfs"))).containsExactly("/tmp");
    assertThat(strings(app.path("cap_drop"))).containsExactly("ALL");
    assertThat(strings(app.path("security_opt"))).contains("no-new-privileges:true");
  }

  @Test
  void shouldSeedTheComposeStackOnceTheAppIsHealthy() throws IOException {
    JsonNode loader = yaml("docker-compose.yml").path("services").path("loader");
    assertThat(loader.path("image").asString())
        .isEqualTo(yaml("docker-compose.yml").path("services").path("app").path("image").asString());
    assertThat(loader.path("depends_on").path("app").path("condition").asString())
        .isEqualTo("service_healthy");
    assertThat(loader.path("restart").asString()).isEqualTo("no");
    assertThat(loader.path("environment").path("BOOTSTRAP_SERVERS").asString())
        .isEqualTo("kafka:9092");
    Map<String, String> mounts = new java.util.HashMap<>();
    for (String volume : strings(loader.path("volumes"))) {
      String[] parts = volume.split(":");
      Path host = DEPLOY.resolve(parts[0]).normalize();
      assertThat(host).as(volume).exists();
      mounts.put(parts[1], parts[0]);
    }
    String samples = mounts.get(loader.path("environment").path("SAMPLES").asString());
    assertThat(samples).as("a mount at SAMPLES").isNotNull();
    assertThat(DEPLOY.resolve(samples).resolve("Coat")).isDirectory();
    String script = strings(loader.path("entrypoint")).get(1);
    String body = Files.readString(DEPLOY.resolve(mounts.get(script)));
    assertThat(body)
        .contains("produce --bootstrap-servers \"$bootstrap\" --task \"$task\" --as support")
        .contains("produce --bootstrap-servers \"$bootstrap\" --task \"$task\" --as query");
  }

  @Test
  void shouldMountOnlyFilesThatExistAndScrapeTheAppsPort() throws IOException {
    JsonNode services = yaml("docker-compose.yml").path("services");
    for (String service : List.of("prometheus", "grafana")) {
      for (String volume : strings(services.path(service).path("volumes"))) {
        if (volume.startsWith("./")) {
          assertThat(DEPLOY.resolve(volume.substring(2, volume.indexOf(':')))).as(volume).exists();
        }
      }
    }
    JsonNode scrape = yaml("prometheus/prometheus.yml").path("scrape_configs").get(0);
    assertThat(scrape.path("metrics_path").asString()).isEqualTo("/metrics");
    assertThat(strings(scrape.path("static_configs").get(0).path("targets")))
        .containsExactly("app:" + exposedPort);
    JsonNode provider =
        yaml("grafana/provisioning/dashboards/dashboards.yml").path("providers").get(0);
    assertThat(strings(services.path("grafana").path("volumes")))
        .contains(
            "./grafana/dashboards:" + provider.path("options").path("path").asString() + ":ro");
  }

  @Test
  void shouldProbeReadyAndHealthOnTheImagesPort() throws IOException {
    JsonNode container = statefulSetContainer();
    assertThat(container.path("ports").get(0).path("containerPort").asInt()).isEqualTo(exposedPort);
    assertThat(container.path("readinessProbe").path("httpGet").path("path").asString())
        .isEqualTo("/ready");
    assertThat(container.path("readinessProbe").path("httpGet").path("port").asInt())
        .isEqualTo(exposedPort);
    assertThat(container.path("livenessProbe").path("httpGet").path("path").asString())
        .isEqualTo("/health");
    assertThat(container.path("livenessProbe").path("httpGet").path("port").asInt())
        .isEqualTo(exposedPort);
  }

  @Test
  void shouldRunTwoInstancesWithStandbysAndAPersistentStateDirectory() throws IOException {
    JsonNode statefulSet = yaml("k8s/statefulset.yaml");
    JsonNode spec = statefulSet.path("spec");
    assertThat(spec.path("replicas").asInt()).isEqualTo(2);
    assertThat(spec.path("serviceName").asString())
        .isEqualTo(yaml("k8s/service-headless.yaml").path("metadata").path("name").asString());
    String claim =
        spec.path("volumeClaimTemplates").get(0).path("metadata").path("name").asString();
    assertThat(mountPath(statefulSetContainer(), claim)).isEqualTo("/var/lib/fewshot-streams");

    FewShotConfig config = FewShotConfig.of(k8sSettings());
    assertThat(config.streamsProperties())
        .containsEntry(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, "1")
        .containsEntry(StreamsConfig.STATE_DIR_CONFIG, "/var/lib/fewshot-streams")
        .containsEntry(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, "exactly_once_v2");
    assertThat(config.getInt(FewShotConfig.HTTP_PORT_CONFIG)).isEqualTo(exposedPort);
    assertThat(config.getString(FewShotConfig.HTTP_ADVERTISED_HOST_CONFIG))
        .isEqualTo("$(POD_NAME).fewshot-streams-headless.$(POD_NAMESPACE).svc.cluster.local");
  }

  @Test
  void shouldSelectTheStatefulSetsPodsFromBothServices() throws IOException {
    JsonNode podLabels =
        yaml("k8s/statefulset.yaml").path("spec").path("template").path("metadata").path("labels");
    JsonNode headless = yaml("k8s/service-headless.yaml").path("spec");
    JsonNode clusterIp = yaml("k8s/service.yaml").path("spec");
    assertThat(headless.path("clusterIP").asString()).isEqualTo("None");
    assertThat(clusterIp.path("type").asString()).isEqualTo("ClusterIP");
    for (JsonNode service : List.of(headless, clusterIp)) {
      service
          .path("selector")
          .properties()
          .forEach(label -> assertThat(podLabels.path(label.getKey())).isEqualTo(label.getValue()));
      assertThat(service.path("ports").get(0).path("port").asInt()).isEqualTo(exposedPort);
    }
  }

  @Test
  void shouldLogJsonLinesInKubernetes() throws IOException {
    String format = null;
    for (JsonNode variable : statefulSetContainer().path("env")) {
      if (variable.path("name").asString().equals("LOG_FORMAT")) {
        format = variable.path("value").asString();
      }
    }
    // logback.xml includes logback-<LOG_FORMAT>.xml; LogFormatTest checks what it writes
    assertThat(format).isEqualTo("json");
    assertThat(Path.of("src/main/resources/logback-" + format + ".xml")).exists();
  }

  @Test
  void shouldPassPodSecurityRestricted() throws IOException {
    // the checks of the "restricted" profile that a manifest controls
    JsonNode pod = yaml("k8s/statefulset.yaml").path("spec").path("template").path("spec");
    JsonNode podContext = pod.path("securityContext");
    assertThat(podContext.path("runAsNonRoot").asBoolean()).isTrue();
    assertThat(podContext.path("runAsUser").asInt()).isPositive();
    assertThat(podContext.path("seccompProfile").path("type").asString()).isEqualTo("RuntimeDefault");
    assertThat(pod.has("hostNetwork") || pod.has("hostPID") || pod.has("hostIPC")).isFalse();
    for (JsonNode volume : pod.path("volumes")) {
      assertThat(volume.has("hostPath")).as(volume.toString()).isFalse();
    }
    JsonNode container = statefulSetContainer();
    JsonNode context = container.path("securityContext");
    assertThat(context.path("allowPrivilegeEscalation").isBoolean()).isTrue();
    assertThat(context.path("allowPrivilegeEscalation").asBoolean()).isFalse();
    assertThat(context.path("privileged").asBoolean()).isFalse();
    assertThat(strings(context.path("capabilities").path("drop"))).containsExactly("ALL");
    assertThat(context.path("capabilities").has("add")).isFalse();
    assertThat(context.path("seccompProfile").path("type").asString()).isEqualTo("RuntimeDefault");
    assertThat(context.path("readOnlyRootFilesystem").asBoolean()).isTrue();
    assertThat(container.has("ports") && container.path("ports").findValue("hostPort") != null)
        .isFalse();
  }

  @Test
  void shouldGiveTheReadOnlyRootAWritableTmpAndState() throws IOException {
    JsonNode pod = yaml("k8s/statefulset.yaml").path("spec").path("template").path("spec");
    JsonNode tmp = null;
    for (JsonNode volume : pod.path("volumes")) {
      if (volume.has("emptyDir")) {
        tmp = volume;
      }
    }
    assertThat(tmp).as("an emptyDir volume").isNotNull();
    // native libraries are unpacked into java.io.tmpdir, /tmp by default
    assertThat(mountPath(statefulSetContainer(), tmp.path("name").asString())).isEqualTo("/tmp");
    assertThat(tmp.path("emptyDir").path("sizeLimit").asString()).isNotEmpty();
  }

  @Test
  void shouldPlaceEachInstanceOnItsOwnNodeAndSpreadZones() throws IOException {
    JsonNode pod = yaml("k8s/statefulset.yaml").path("spec").path("template");
    JsonNode labels = pod.path("metadata").path("labels");
    JsonNode terms =
        pod.path("spec")
            .path("affinity")
            .path("podAntiAffinity")
            .path("requiredDuringSchedulingIgnoredDuringExecution");
    assertThat(terms.size()).isEqualTo(1);
    assertThat(terms.get(0).path("topologyKey").asString()).isEqualTo("kubernetes.io/hostname");
    assertThat(terms.get(0).path("labelSelector").path("matchLabels")).isEqualTo(labels);
    JsonNode spread = pod.path("spec").path("topologySpreadConstraints");
    assertThat(spread.size()).isEqualTo(1);
    assertThat(spread.get(0).path("topologyKey").asString())
        .isEqualTo("topology.kubernetes.io/zone");
    assertThat(spread.get(0).path("labelSelector").path("matchLabels")).isEqualTo(labels);
    // a cluster without zones (or with fewer zones than pods) must still schedule them
    assertThat(spread.get(0).path("whenUnsatisfiable").asString()).isEqualTo("ScheduleAnyway");
  }

  @Test
  void shouldTakeTheHttpTokenFromItsSecret() throws IOException {
    // catches: a deploy that binds 0.0.0.0 without a token (the service refuses to start) or with
    // the token written into the ConfigMap
    assertThat(k8sSettings().stringPropertyNames()).doesNotContain("fewshot.http.auth.token");
    JsonNode token = null;
    for (JsonNode variable : statefulSetContainer().path("env")) {
      if (variable.path("name").asString().equals("FEWSHOT_HTTP_AUTH_TOKEN")) {
        token = variable;
      }
    }
    assertThat(token).as("FEWSHOT_HTTP_AUTH_TOKEN in the container's env").isNotNull();
    assertThat(FewShotConfig.fromEnvironment(Map.of("FEWSHOT_HTTP_AUTH_TOKEN", "t")))
        .containsEntry("fewshot.http.auth.token", "t");
    JsonNode secretRef = token.path("valueFrom").path("secretKeyRef");
    JsonNode secret = yaml("k8s/secret-http.yaml");
    assertThat(secret.path("kind").asString()).isEqualTo("Secret");
    assertThat(secretRef.path("name").asString())
        .isEqualTo(secret.path("metadata").path("name").asString());
    assertThat(secret.path("stringData").has(secretRef.path("key").asString())).isTrue();
  }

  @Test
  void shouldTakeTheCredentialsFromTheKafkaUsersSecretNotTheConfigMap() throws IOException {
    Properties settings = k8sSettings();
    for (String key : settings.stringPropertyNames()) {
      assertThat(key).doesNotContain("password").doesNotContain("jaas");
      assertThat(settings.getProperty(key)).doesNotContainIgnoringCase("password");
    }
    JsonNode jaas = null;
    for (JsonNode variable : statefulSetContainer().path("env")) {
      if (variable.path("name").asString().equals("KAFKA_SASL_JAAS_CONFIG")) {
        jaas = variable;
      }
    }
    assertThat(jaas).as("KAFKA_SASL_JAAS_CONFIG in the container's env").isNotNull();
    assertThat(FewShotConfig.fromEnvironment(Map.of("KAFKA_SASL_JAAS_CONFIG", "x")))
        .containsEntry("sasl.jaas.config", "x");
    JsonNode secretRef = jaas.path("valueFrom").path("secretKeyRef");
    // Strimzi's User Operator names the Secret after the KafkaUser and writes this key into it
    assertThat(secretRef.path("name").asString())
        .isEqualTo(yaml("k8s/strimzi/kafkauser.yaml").path("metadata").path("name").asString());
    assertThat(secretRef.path("key").asString()).isEqualTo("sasl.jaas.config");
    assertThat(settings)
        .containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-512");
    assertThat(
            yaml("k8s/strimzi/kafkauser.yaml")
                .path("spec").path("authentication").path("type").asString())
        .isEqualTo("scram-sha-512");
    String truststore = settings.getProperty("ssl.truststore.location");
    assertThat(mountPath(statefulSetContainer(), "kafka-ca"))
        .isEqualTo(Path.of(truststore).getParent().toString());
  }

  @Test
  void shouldDeclareEveryTopicOfTheServiceAsAStrimziKafkaTopic() throws IOException {
    FewShotConfig config = FewShotConfig.of(k8sSettings());
    List<JsonNode> topics = documents(DEPLOY.resolve("k8s/strimzi/kafkatopics.yaml"));
    String cluster = yaml("k8s/strimzi/kafkauser.yaml").path("metadata").path("labels")
        .path("strimzi.io/cluster").asString();
    List<String> names = new ArrayList<>();
    for (JsonNode topic : topics) {
      assertThat(topic.path("kind").asString()).isEqualTo("KafkaTopic");
      assertThat(topic.path("metadata").path("labels").path("strimzi.io/cluster").asString())
          .isEqualTo(cluster);
      JsonNode spec = topic.path("spec");
      names.add(spec.path("topicName").asString());
      assertThat(spec.path("partitions").asInt()).isEqualTo(config.topicPartitions());
      assertThat(spec.path("replicas").asInt()).isEqualTo(config.topicReplicationFactor());
      // as the service itself creates it: snapshots are compacted, the rest deleted by age
      assertThat(spec.path("config").path("cleanup.policy").asString("delete"))
          .isEqualTo(spec.path("topicName").asString().equals(config.modelsTopic())
              ? "compact" : "delete");
    }
    // every topic the service checks at start (feedback is on by default): a missing one stops it
    List<String> wanted = new ArrayList<>(config.topics());
    wanted.addAll(config.feedbackTopics());
    assertThat(config.feedbackTopics()).isNotEmpty();
    assertThat(names).containsExactlyInAnyOrderElementsOf(wanted);
    // the topics come from these resources, so the service must not need to create them
    assertThat(strings(statefulSetContainer().path("args"))).contains("--no-create-topics");
  }

  @Test
  void shouldGrantTheKafkaUserExactlyTheAclsTheServiceNeeds() throws IOException {
    FewShotConfig config = FewShotConfig.of(k8sSettings());
    assertThat(config.streamsProperties())
        .containsEntry(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, "exactly_once_v2");
    String app = config.applicationId();
    Set<String> expected =
        Set.of(
            "topic literal " + config.supportTopic() + " [Describe, Read]",
            "topic literal " + config.queriesTopic() + " [Describe, Read]",
            "topic literal " + config.modelsTopic() + " [Describe, Read, Write]",
            "topic literal " + config.predictionsTopic() + " [Describe, Write]",
            "topic literal " + config.deadLettersTopic() + " [Describe, Write]",
            "topic literal " + config.feedbackTopic() + " [Describe, Read]",
            "topic literal " + config.outcomesTopic() + " [Describe, Write]",
            "topic literal " + config.reviewTopic() + " [Describe, Write]",
            // changelog and repartition topics: <application.id>-<store>-changelog and so on
            "topic prefix " + app + "- [Create, Delete, Describe, DescribeConfigs, Read, Write]",
            "group literal " + app + " [Describe, Read]",
            // exactly_once_v2: one transactional producer per stream thread, <application.id>-...
            "transactionalId prefix " + app + "- [Describe, Write]");
    Set<String> found = new TreeSet<>();
    JsonNode user = yaml("k8s/strimzi/kafkauser.yaml");
    assertThat(user.path("spec").path("authorization").path("type").asString()).isEqualTo("simple");
    for (JsonNode acl : user.path("spec").path("authorization").path("acls")) {
      JsonNode resource = acl.path("resource");
      found.add(
          resource.path("type").asString() + " " + resource.path("patternType").asString() + " "
              + resource.path("name").asString() + " "
              + new TreeSet<>(strings(acl.path("operations"))));
    }
    assertThat(found).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  void shouldQueryOnlyMetricsTheServiceExports() throws IOException {
    Set<String> exported = new TreeSet<>(scrapedJvmAndKafkaStreamsNames());
    Map<String, Kind> service = new TreeMap<>(SERVICE_METRICS);
    service.putAll(FEEDBACK_METRICS);
    service.forEach((name, kind) -> kind.suffixes.forEach(s -> exported.add(name + s)));

    JsonNode dashboard =
        JSON.readTree(Files.readString(DEPLOY.resolve("grafana/dashboards/fewshot-streams.json")));
    Set<String> queried = new TreeSet<>();
    for (JsonNode panel : dashboard.path("panels")) {
      for (JsonNode target : panel.path("targets")) {
        Set<String> names = metricNames(target.path("expr").asString());
        assertThat(names)
            .as("metrics queried by panel '%s'", panel.path("title").asString())
            .isNotEmpty();
        queried.addAll(names);
      }
    }
    Set<String> unknown = new TreeSet<>(queried);
    unknown.removeAll(exported);
    assertThat(unknown)
        .as("metrics the dashboard queries that the service does not export")
        .isEmpty();
    // every metric of the service is on the dashboard
    service.forEach(
        (name, kind) ->
            assertThat(
                    queried.stream()
                        .anyMatch(q -> kind.suffixes.stream().anyMatch(s -> q.equals(name + s))))
                .as(name)
                .isTrue());
  }

  @Test
  void shouldFindMetricNamesInPromQl() {
    assertThat(
            metricNames(
                "histogram_quantile(0.99, sum by (le, method) (rate(fewshot_finetune_seconds_bucket"
                    + "{outcome=\"installed\"}[$__rate_interval]))) / on (instance) jvm_x"))
        .containsExactlyInAnyOrder("fewshot_finetune_seconds_bucket", "jvm_x");
  }

  /**
   * The names JVM and Kafka Streams metrics get in a real Prometheus scrape, as the service binds
   * them.
   */
  private static Set<String> scrapedJvmAndKafkaStreamsNames() {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream("in").to("out");
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, "deploy-files-test");
    // never contacted: the instance is created to register its metrics, not started
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:9");
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    props.put("processing.exception.handler.global.enabled", "true"); // as the service sets it
    Set<String> names = new TreeSet<>();
    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    try (KafkaStreamsMetrics metrics = new KafkaStreamsMetrics(streams)) {
      metrics.bindTo(registry);
      for (String line : registry.scrape().split("\n")) {
        if (!line.isBlank() && !line.startsWith("#")) {
          names.add(line.split("[{ ]", 2)[0]);
        }
      }
    } finally {
      streams.close(Duration.ofSeconds(5));
      registry.close();
    }
    assertThat(names).contains("jvm_memory_used_bytes", "kafka_stream_thread_process_rate");
    return names;
  }

  @TempDir static Path stateDir;

  private static final Pattern QUOTED = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
  private static final Pattern BRACED = Pattern.compile("\\{[^}]*}|\\[[^]]*]");
  private static final Pattern GROUPING =
      Pattern.compile("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
  // a whole word not preceded by a digit (as in 5m) and not followed by "(" (a function)
  private static final Pattern IDENTIFIER =
      Pattern.compile("(?<![a-zA-Z0-9_:.])[a-zA-Z_:][a-zA-Z0-9_:]*+(?!\\s*\\()");
  private static final Set<String> KEYWORDS =
      Set.of(
          "by", "without", "on", "ignoring", "bool", "offset", "and", "or", "unless", "inf", "nan");

  /**
   * Metric names in a PromQL expression: identifiers that are not functions, labels or keywords.
   */
  static Set<String> metricNames(String expr) {
    String bare =
        GROUPING
            .matcher(BRACED.matcher(QUOTED.matcher(expr).replaceAll(" ")).replaceAll(" "))
            .replaceAll(" ");
    Set<String> names = new TreeSet<>();
    Matcher m = IDENTIFIER.matcher(bare);
    while (m.find()) {
      if (!KEYWORDS.contains(m.group().toLowerCase())) {
        names.add(m.group());
      }
    }
    return names;
  }

  /** The ConfigMap's properties plus the -p settings of the container's arguments. */
  private static Properties k8sSettings() throws IOException {
    JsonNode container = statefulSetContainer();
    List<String> args = strings(container.path("args"));
    assertThat(args.subList(0, 2)).containsExactly("run", "--config");
    Path configFile = Path.of(args.get(2));
    JsonNode configMap = yaml("k8s/configmap.yaml");
    JsonNode volume = null;
    for (JsonNode v :
        yaml("k8s/statefulset.yaml").path("spec").path("template").path("spec").path("volumes")) {
      if (v.path("configMap")
          .path("name")
          .asString()
          .equals(configMap.path("metadata").path("name").asString())) {
        volume = v;
      }
    }
    assertThat(volume).as("a volume of the ConfigMap").isNotNull();
    assertThat(mountPath(container, volume.path("name").asString()))
        .isEqualTo(configFile.getParent().toString());
    String file = configMap.path("data").path(configFile.getFileName().toString()).asString();
    assertThat(file).as("the ConfigMap's key " + configFile.getFileName()).isNotEmpty();
    Properties settings = new Properties();
    settings.load(new StringReader(file));
    for (int i = 3; i < args.size(); i++) {
      if (args.get(i).equals("--no-create-topics")) {
        continue;
      }
      assertThat(args.get(i)).isEqualTo("-p");
      String[] keyValue = args.get(++i).split("=", 2);
      settings.setProperty(keyValue[0], keyValue[1]);
    }
    return settings;
  }

  /** Every document of a YAML file, separated by {@code ---} lines. */
  private static List<JsonNode> documents(Path file) throws IOException {
    List<JsonNode> documents = new ArrayList<>();
    for (String document : Files.readString(file).split("(?m)^---\\s*$")) {
      if (!document.isBlank()) {
        documents.add(YAML.readTree(document));
      }
    }
    return documents;
  }

  /** A compose duration such as {@code 60s} or {@code 1m30s}. */
  private static Duration seconds(String compose) {
    assertThat(compose).matches("(\\d+m)?(\\d+s)?").isNotEmpty();
    return Duration.parse("PT" + compose.toUpperCase(java.util.Locale.ROOT));
  }

  private static JsonNode statefulSetContainer() throws IOException {
    JsonNode statefulSet = yaml("k8s/statefulset.yaml");
    assertThat(statefulSet.path("kind").asString()).isEqualTo("StatefulSet");
    return statefulSet.path("spec").path("template").path("spec").path("containers").get(0);
  }

  private static String mountPath(JsonNode container, String volume) {
    for (JsonNode mount : container.path("volumeMounts")) {
      if (mount.path("name").asString().equals(volume)) {
        return mount.path("mountPath").asString();
      }
    }
    throw new AssertionError(
        "no mount of volume " + volume + " in " + container.path("volumeMounts"));
  }

  private static JsonNode yaml(String file) throws IOException {
    return YAML.readTree(Files.readString(DEPLOY.resolve(file)));
  }

  private static List<String> strings(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asString()));
    return out;
  }

  private static String text(JsonNode node) {
    return node.isArray() ? String.join(" ", strings(node)) : node.asString();
  }

  private static List<Path> files(String... endings) throws IOException {
    try (Stream<Path> all = Files.walk(DEPLOY)) {
      return all.filter(f -> Stream.of(endings).anyMatch(e -> f.toString().endsWith(e)))
          .sorted()
          .toList();
    }
  }
}
