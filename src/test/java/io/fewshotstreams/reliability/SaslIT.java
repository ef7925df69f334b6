package io.fewshotstreams.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.FewShotStreams;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service against a broker that requires SASL/PLAIN: the security settings, given as ordinary
 * settings, reach every client it makes (admin, producers, consumers, the global store's and the
 * restore consumer), and it classifies; clients without the right credentials are refused.
 */
class SaslIT {
  private static final Logger log = LoggerFactory.getLogger(SaslIT.class);
  private static final Map<String, String> USERS =
      Map.of("admin", "admin-secret", "alice", "alice-secret");
  private static final int CLASSES = 3;
  private static final int SHOTS = 2;
  private static final long REFUSAL_TIMEOUT_MS = 5_000; // how long an unauthenticated client tries

  @TempDir Path state;

  @Test
  @Timeout(value = 110, unit = TimeUnit.SECONDS)
  void shouldClassifyWithSaslCredentialsAndRefuseClientsWithout() throws Exception {
    try (EmbeddedKafkaBroker broker =
            EmbeddedKafkaBroker.start(BrokerOptions.defaults().withSaslPlainUsers(USERS));
        Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      String bootstrap = broker.bootstrapServers();
      Map<String, Object> alice = security("alice", "alice-secret");
      Map<String, Object> extra = new HashMap<>(alice);
      extra.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
      Map<String, Object> settings =
          FaultRig.settings(bootstrap, "sasl-" + UUID.randomUUID(), state, extra);

      try (FewShotStreams service = FaultRig.start(embedder, settings);
          FaultRig.Client client = new FaultRig.Client(settings, alice, CLASSES)) {
        client.register(1, SHOTS);
        FaultRig.awaitReady(client, bootstrap, alice, 1, SHOTS);
        client.query(0, 2, "sasl-query", 42);
        client.flush();
        try (FaultRig.Tail predictions =
            new FaultRig.Tail(bootstrap, alice, client.config.predictionsTopic())) {
          assertThat(
                  predictions.pollUntil(
                      rs ->
                          FaultRig.predictions(client.codec, rs).stream()
                              .anyMatch(p -> p.queryId().equals("sasl-query")),
                      java.time.Duration.ofSeconds(60)))
              .isTrue();
          Prediction answer =
              FaultRig.predictions(client.codec, predictions.records()).stream()
                  .filter(p -> p.queryId().equals("sasl-query"))
                  .findFirst()
                  .orElseThrow();
          assertThat(answer.label()).isEqualTo(FaultRig.label(2));
          assertThat(service.streams().state().isRunningOrRebalancing()).isTrue();
        }
      }

      // No credentials: a plaintext client cannot even speak to the SASL listener.
      long t0 = System.nanoTime();
      Map<String, Object> none = new HashMap<>();
      assertThatThrownBy(() -> listTopics(bootstrap, none))
          .isInstanceOfAny(ExecutionException.class, java.util.concurrent.TimeoutException.class);
      long refusedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

      // A known user with the wrong password: refused with an authentication error.
      assertThatThrownBy(() -> listTopics(bootstrap, security("alice", "wrong")))
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(SaslAuthenticationException.class);
      // An unknown user likewise.
      assertThatThrownBy(() -> listTopics(bootstrap, security("mallory", "alice-secret")))
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(SaslAuthenticationException.class);
      // The credentials the service used still work: the refusals are about the credentials.
      assertThat(listTopics(bootstrap, alice)).isNotEmpty();
      log.info(
          "fault outcome: sasl: query classified with alice's credentials; unauthenticated admin"
              + " refused after {} ms; wrong password and unknown user: SaslAuthenticationException",
          refusedMs);
    }
  }

  private static Map<String, Object> security(String user, String password) {
    return Map.of(
        CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT",
        SaslConfigs.SASL_MECHANISM, "PLAIN",
        SaslConfigs.SASL_JAAS_CONFIG, BrokerOptions.plainJaasConfig(user, password));
  }

  private static List<String> listTopics(String bootstrap, Map<String, Object> security)
      throws Exception {
    Map<String, Object> config = new HashMap<>(security);
    config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) REFUSAL_TIMEOUT_MS);
    config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) REFUSAL_TIMEOUT_MS);
    try (Admin admin = Admin.create(config)) {
      return List.copyOf(
          admin.listTopics().names().get(2 * REFUSAL_TIMEOUT_MS, TimeUnit.MILLISECONDS));
    }
  }
}
