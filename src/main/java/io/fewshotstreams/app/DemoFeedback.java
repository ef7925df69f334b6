package io.fewshotstreams.app;

import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.FeedbackEvent;
import io.fewshotstreams.events.Outcome;
import io.fewshotstreams.events.Prediction;
import java.io.PrintWriter;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The demo's stand-in for people who check answers: for a share of the predictions it sends the
 * true label to the feedback topic after a delay, promoting the wrong answers (corrections), and
 * prints the live accuracy per snapshot version and method as the outcomes come back.
 */
final class DemoFeedback {
  /** Versions a line shows, the latest ones. */
  private static final int SHOWN_VERSIONS = 4;

  private record Due(long atMs, FeedbackEvent event) {}

  private final double share;
  private final long delayMs;
  private final String topic;
  private final EventCodec codec;
  private final Random random = new Random(7);
  private final Deque<Due> due = new ArrayDeque<>();
  /** "3 prototypes" to {right, outcomes}, by version. */
  private final Map<String, long[]> byVersion =
      new TreeMap<>(java.util.Comparator.comparingLong(DemoFeedback::versionOf));
  private int sent;
  private int received;

  DemoFeedback(double share, long delayMs, String topic, EventCodec codec) {
    this.share = share;
    this.delayMs = delayMs;
    this.topic = topic;
    this.codec = codec;
  }

  boolean on() {
    return share > 0;
  }

  /** Draws whether {@code p} gets its truth back, and when. */
  void predicted(Prediction p, String truth, long nowMs) {
    if (on() && random.nextDouble() < share) {
      boolean wrong = !p.label().equals(truth);
      FeedbackEvent event =
          new FeedbackEvent(1, p.task(), p.queryId(), truth, wrong ? true : null);
      due.addLast(new Due(nowMs + delayMs, event));
    }
  }

  /** Sends the feedback that is due. */
  void sendDue(KafkaProducer<String, byte[]> producer, long nowMs) {
    while (!due.isEmpty() && due.peekFirst().atMs() <= nowMs) {
      FeedbackEvent e = due.removeFirst().event();
      producer.send(new ProducerRecord<>(topic, e.task(), codec.write(e)));
      sent++;
    }
  }

  /** Counts an outcome and prints the live accuracy per version. */
  void outcome(Outcome o, PrintWriter out) {
    received++;
    long[] counts =
        byVersion.computeIfAbsent(o.modelVersion() + " " + o.method(), k -> new long[2]);
    counts[0] += o.correct() ? 1 : 0;
    counts[1]++;
    StringBuilder line =
        new StringBuilder("        feedback: ")
            .append(o.queryId())
            .append(" is ")
            .append(o.trueLabel())
            .append(o.promoted() ? " (promoted)" : "")
            .append("; live accuracy by version:");
    int skip = Math.max(0, byVersion.size() - SHOWN_VERSIONS);
    for (Map.Entry<String, long[]> e : byVersion.entrySet()) {
      if (skip-- > 0) {
        continue;
      }
      long[] c = e.getValue();
      line.append(
          String.format(
              Locale.ROOT, "  v%s %.0f%% of %d", e.getKey(), 100.0 * c[0] / c[1], c[1]));
    }
    out.println(line);
  }

  private static long versionOf(String key) {
    return Long.parseLong(key.substring(0, key.indexOf(' ')));
  }

  /** Whether feedback is still to be sent or its outcome still to come. */
  boolean waiting() {
    return !due.isEmpty() || received < sent;
  }
}
