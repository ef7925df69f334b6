package io.fewshotstreams.serving;

import io.fewshotstreams.FewShotException;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.streaming.FewShotConfig;
import io.fewshotstreams.streaming.FewShotStreams;
import io.fewshotstreams.streaming.TaskQueries;
import io.fewshotstreams.streaming.query.Classification;
import io.fewshotstreams.streaming.telemetry.Telemetry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running instance of the service as {@code run} and {@code demo} start it: the Kafka Streams
 * application with its metrics, and (unless {@code fewshot.http.port} is -1) the HTTP API,
 * dashboard and Prometheus endpoint, which answer from the start, also while state is restored.
 */
public final class ServiceInstance implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServiceInstance.class);

  private final FewShotStreams service;
  private final HttpApi http;
  private final PrometheusMeterRegistry prometheus;
  private final JvmGcMetrics gcMetrics;

  private ServiceInstance(
      FewShotStreams service, HttpApi http, PrometheusMeterRegistry prometheus, JvmGcMetrics gc) {
    this.service = service;
    this.http = http;
    this.prometheus = prometheus;
    this.gcMetrics = gc;
  }

  /**
   * Starts an instance and waits until it runs.
   *
   * @throws FewShotException when it cannot start (topics, cluster, HTTP port) or does not reach
   *     RUNNING within {@code startTimeout}
   */
  public static ServiceInstance start(
      FewShotConfig config, Embedder embedder, boolean createTopics, Duration startTimeout) {
    PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new ClassLoaderMetrics().bindTo(prometheus);
    new JvmMemoryMetrics().bindTo(prometheus);
    JvmGcMetrics gc = new JvmGcMetrics();
    gc.bindTo(prometheus);
    new JvmThreadMetrics().bindTo(prometheus);
    new ProcessorMetrics().bindTo(prometheus);
    new UptimeMetrics().bindTo(prometheus);
    Telemetry telemetry = new Telemetry(prometheus, config.recentPredictions());

    boolean httpOn = config.httpPort() >= 0;
    if (httpOn) {
      int port = config.httpPort() == 0 ? freePort(config.httpBindAddress()) : config.httpPort();
      // Other instances find this one's part of the state through application.server.
      config =
          config
              .with(FewShotConfig.HTTP_PORT_CONFIG, port)
              .with("application.server", config.httpAdvertisedHost() + ":" + port);
    }
    FewShotStreams service = FewShotStreams.launch(config, embedder, createTopics, telemetry);
    HttpApi http = null;
    try {
      if (httpOn) {
        TaskQueries queries = new TaskQueries(service.streams());
        http =
            HttpApi.start(
                config,
                queries,
                prometheus,
                ActivitySource.of(telemetry),
                config.httpClassifyEnabled()
                    ? new Classification(embedder, queries, telemetry)
                    : null);
        log.info("HTTP API, dashboard and metrics at {}", http.uri());
      }
      service.awaitRunning(startTimeout);
    } catch (RuntimeException e) {
      if (http != null) {
        http.close();
      }
      service.close();
      gc.close();
      prometheus.close();
      throw e;
    }
    return new ServiceInstance(service, http, prometheus, gc);
  }

  public FewShotStreams service() {
    return service;
  }

  /** The address of the HTTP API and dashboard, when HTTP is on. */
  public Optional<URI> http() {
    return http == null ? Optional.empty() : Optional.of(http.uri());
  }

  public PrometheusMeterRegistry prometheus() {
    return prometheus;
  }

  @Override
  public void close() {
    if (http != null) {
      http.close();
    }
    service.close();
    gcMetrics.close();
    prometheus.close();
  }

  private static int freePort(String bindAddress) {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(bindAddress))) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new FewShotException(
          "expected a free port on " + bindAddress + " for the HTTP API, found none: " + e, e);
    }
  }
}
