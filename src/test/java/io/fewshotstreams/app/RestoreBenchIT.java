package io.fewshotstreams.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.broker.BrokerOptions;
import io.fewshotstreams.broker.EmbeddedKafkaBroker;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import io.fewshotstreams.streaming.FewShotConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The restore suite on a small load: it fills every learner store, restores into an empty state
 * directory, and reports figures that agree with what it sent. Not a timing test: the times are
 * only checked for order.
 */
class RestoreBenchIT {
  private static final int TASKS = 50;
  private static final int CLASSES = 4;
  private static final int SHOTS = 2;
  private static final int POOL = 10;
  // More queries than the pool holds: the ring overwrites, and the restored pool must hold POOL.
  private static final int QUERIES = 15;

  @TempDir Path state;

  @Test
  @Timeout(value = 400, unit = TimeUnit.SECONDS)
  void shouldRestoreEveryTaskAndReportFiguresThatMatchTheLoad() throws Exception {
    StringWriter text = new StringWriter();
    RestoreBench.Report r;
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(BrokerOptions.defaults());
        Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      r =
          new RestoreBench(
                  broker.bootstrapServers(),
                  embedder,
                  state,
                  Map.of(FewShotConfig.QUERY_POOL_SIZE_CONFIG, Integer.toString(POOL)),
                  Duration.ofSeconds(120))
              .run(TASKS, CLASSES, SHOTS, QUERIES, 7, new PrintWriter(text, true));
    }
    assertThat(text.toString()).contains("restored: learner state and snapshot of every task readable");
    // Each figure is measured from the same start, in the order the service reaches them.
    assertThat(r.runningSeconds()).isPositive();
    assertThat(r.readableSeconds()).isGreaterThanOrEqualTo(r.runningSeconds());
    assertThat(r.answeredSeconds()).isGreaterThanOrEqualTo(r.readableSeconds());

    // Every distinct key of the four learner stores has at least one changelog record (the
    // changelog may hold more: updates, and commit markers under exactly-once).
    long examples = (long) TASKS * CLASSES * SHOTS;
    long keys = examples + (long) TASKS * CLASSES + TASKS + (long) TASKS * POOL;
    // Nothing compacts so soon: each example is one record, each pooled query one.
    assertThat(recordsOf(r, "fewshot-examples-changelog")).isEqualTo(examples);
    assertThat(recordsOf(r, "fewshot-query-pool-changelog")).isEqualTo((long) TASKS * QUERIES);
    // One prototype snapshot per support change.
    assertThat(r.models().records()).isEqualTo(examples);
    // Commit markers are offsets but not records: a count of offsets would fail here.
    assertThat(r.restoredRecords()).isBetween(keys, r.changelogOffsets() - 1);
    assertThat(r.stateDirBytes()).as("RocksDB files of the restored stores").isPositive();

    // 50 tasks of 8 examples and 10 pooled 256-d floats hold about 20 KB of data each; a figure
    // beyond 1 MiB per task (50 MiB in all) would mean the readings took in something else, such
    // as the first instance's leftovers.
    assertThat(Math.abs(r.restoredBytesPerTask())).isLessThan(1024.0 * 1024);
    assertThat(Math.abs(r.answeredBytesPerTask())).isLessThan(1024.0 * 1024);
  }

  private static long recordsOf(RestoreBench.Report r, String suffix) {
    return r.changelogs().stream()
        .filter(t -> t.topic().endsWith(suffix))
        .mapToLong(RestoreBench.TopicRecords::records)
        .findFirst()
        .orElseThrow(() -> new AssertionError("expected a changelog *" + suffix + ", found " + r.changelogs()));
  }
}
