package io.fewshotstreams.streaming.feedback;

import static io.fewshotstreams.streaming.InternalSerdes.readFloats;
import static io.fewshotstreams.streaming.InternalSerdes.serde;
import static io.fewshotstreams.streaming.InternalSerdes.writeFloats;

import io.fewshotstreams.events.EventCodec;
import io.fewshotstreams.events.FeedbackEvent;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.streaming.Origin;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.serialization.Serde;

/**
 * Binary formats of the feedback room's repartition topic and stores, private to the service; each
 * starts with a format byte so that a later format can read an older one. A prediction is kept as
 * its event JSON, so it carries whatever fields the prediction event has.
 */
final class FeedbackSerdes {
  private static final byte PREDICTED = 1;
  private static final byte TRUTH = 2;

  /** Counts of one task: next sequence number, live entries, expired stubs. */
  record Counts(long nextSeq, int live, int stubs) {
    static final Counts NONE = new Counts(0, 0, 0);
  }

  /** An entry of a task's queue: the query id and when it was kept (or expired). */
  record Queued(String queryId, long at) {}

  private FeedbackSerdes() {}

  static Serde<FeedbackInput> input(EventCodec codec) {
    return serde(
        (out, v) -> {
          if (v instanceof FeedbackInput.Predicted p) {
            out.writeByte(PREDICTED);
            writeBytes(out, codec.write(p.prediction()));
            writeFloats(out, p.feature());
          } else {
            FeedbackInput.Truth t = (FeedbackInput.Truth) v;
            out.writeByte(TRUTH);
            FeedbackEvent e = t.event();
            out.writeInt(e.schemaVersion());
            out.writeUTF(e.task());
            out.writeUTF(e.queryId());
            out.writeUTF(e.label());
            out.writeBoolean(e.promoted());
            Origin o = t.origin();
            out.writeUTF(o.topic());
            out.writeInt(o.partition());
            out.writeLong(o.offset());
            out.writeLong(o.timestamp());
            writeNullable(out, o.key());
            out.writeInt(o.valueBytes());
          }
        },
        in -> {
          byte kind = in.readByte();
          if (kind == PREDICTED) {
            Prediction p = codec.readOwnPrediction(readBytes(in));
            return new FeedbackInput.Predicted(p, readFloats(in));
          }
          if (kind != TRUTH) {
            throw new IOException("expected a feedback input kind 1 or 2, found " + kind);
          }
          FeedbackEvent e =
              new FeedbackEvent(
                  in.readInt(), in.readUTF(), in.readUTF(), in.readUTF(), in.readBoolean());
          Origin o =
              new Origin(
                  in.readUTF(),
                  in.readInt(),
                  in.readLong(),
                  in.readLong(),
                  readNullable(in),
                  in.readInt());
          return new FeedbackInput.Truth(e, o);
        });
  }

  static Serde<Retained> retained(EventCodec codec) {
    return serde(
        (out, r) -> {
          out.writeLong(r.retainedAt());
          out.writeLong(r.seq());
          out.writeBoolean(r.answered());
          out.writeBoolean(!r.expired());
          if (!r.expired()) {
            writeBytes(out, codec.write(r.prediction()));
            writeFloats(out, r.feature());
          }
        },
        in -> {
          long at = in.readLong();
          long seq = in.readLong();
          boolean answered = in.readBoolean();
          if (!in.readBoolean()) {
            return new Retained(null, null, at, seq, answered);
          }
          Prediction p = codec.readOwnPrediction(readBytes(in));
          return new Retained(p, readFloats(in), at, seq, answered);
        });
  }

  static Serde<Queued> queued() {
    return serde(
        (out, q) -> {
          out.writeUTF(q.queryId());
          out.writeLong(q.at());
        },
        in -> new Queued(in.readUTF(), in.readLong()));
  }

  static Serde<Counts> counts() {
    return serde(
        (out, c) -> {
          out.writeLong(c.nextSeq());
          out.writeInt(c.live());
          out.writeInt(c.stubs());
        },
        in -> new Counts(in.readLong(), in.readInt(), in.readInt()));
  }

  static Serde<LiveAccuracy> accuracy() {
    return serde(FeedbackSerdes::writeAccuracy, FeedbackSerdes::readAccuracy);
  }

  private static void writeAccuracy(DataOutputStream out, LiveAccuracy a) throws IOException {
    writeTally(out, a.all);
    out.writeInt(a.byMethod.size());
    for (Map.Entry<String, Tally> e : a.byMethod.entrySet()) {
      out.writeUTF(e.getKey());
      writeTally(out, e.getValue());
    }
    out.writeInt(a.byVersion.size());
    for (Map.Entry<Long, Tally> e : a.byVersion.entrySet()) {
      out.writeLong(e.getKey());
      out.writeUTF(a.versionMethod.get(e.getKey()));
      writeTally(out, e.getValue());
    }
    out.writeInt(a.window.size());
    for (LiveAccuracy.Entry e : a.window) {
      out.writeLong(e.version());
      out.writeUTF(e.method());
      out.writeUTF(e.predicted());
      out.writeBoolean(e.unknown());
      out.writeUTF(e.trueLabel());
      out.writeUTF(e.result());
      out.writeBoolean(e.correct());
      out.writeDouble(e.probability());
    }
  }

  private static LiveAccuracy readAccuracy(DataInputStream in) throws IOException {
    LiveAccuracy a = new LiveAccuracy();
    readTally(in, a.all);
    int methods = in.readInt();
    for (int i = 0; i < methods; i++) {
      String method = in.readUTF();
      Tally t = new Tally();
      readTally(in, t);
      a.byMethod.put(method, t);
    }
    int versions = in.readInt();
    for (int i = 0; i < versions; i++) {
      long version = in.readLong();
      a.versionMethod.put(version, in.readUTF());
      Tally t = new Tally();
      readTally(in, t);
      a.byVersion.put(version, t);
    }
    int window = in.readInt();
    for (int i = 0; i < window; i++) {
      a.window.addLast(
          new LiveAccuracy.Entry(
              in.readLong(),
              in.readUTF(),
              in.readUTF(),
              in.readBoolean(),
              in.readUTF(),
              in.readUTF(),
              in.readBoolean(),
              in.readDouble()));
    }
    return a;
  }

  private static void writeTally(DataOutputStream out, Tally t) throws IOException {
    out.writeLong(t.outcomes);
    out.writeLong(t.correct);
    writeCounts(out, t.results);
    out.writeLong(t.unknownAnswers);
    out.writeLong(t.unknownRight);
    for (int b = 0; b < Tally.BINS; b++) {
      out.writeLong(t.binOutcomes[b]);
      out.writeLong(t.binCorrect[b]);
      out.writeDouble(t.binConfidence[b]);
    }
    out.writeInt(t.confusion.size());
    for (Map.Entry<String, Map<String, Long>> row : t.confusion.entrySet()) {
      out.writeUTF(row.getKey());
      writeCounts(out, row.getValue());
    }
  }

  private static void readTally(DataInputStream in, Tally t) throws IOException {
    t.outcomes = in.readLong();
    t.correct = in.readLong();
    t.results.putAll(readCounts(in));
    t.unknownAnswers = in.readLong();
    t.unknownRight = in.readLong();
    for (int b = 0; b < Tally.BINS; b++) {
      t.binOutcomes[b] = in.readLong();
      t.binCorrect[b] = in.readLong();
      t.binConfidence[b] = in.readDouble();
    }
    int rows = in.readInt();
    for (int i = 0; i < rows; i++) {
      String row = in.readUTF();
      t.confusion.put(row, readCounts(in));
    }
  }

  private static void writeCounts(DataOutputStream out, Map<String, Long> counts)
      throws IOException {
    out.writeInt(counts.size());
    for (Map.Entry<String, Long> e : counts.entrySet()) {
      out.writeUTF(e.getKey());
      out.writeLong(e.getValue());
    }
  }

  private static Map<String, Long> readCounts(DataInputStream in) throws IOException {
    Map<String, Long> counts = new TreeMap<>();
    int n = in.readInt();
    for (int i = 0; i < n; i++) {
      counts.put(in.readUTF(), in.readLong());
    }
    return counts;
  }

  private static void writeBytes(DataOutputStream out, byte[] bytes) throws IOException {
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  private static byte[] readBytes(DataInputStream in) throws IOException {
    byte[] bytes = new byte[in.readInt()];
    in.readFully(bytes);
    return bytes;
  }

  private static void writeNullable(DataOutputStream out, String s) throws IOException {
    out.writeBoolean(s != null);
    if (s != null) {
      out.writeUTF(s);
    }
  }

  private static String readNullable(DataInputStream in) throws IOException {
    return in.readBoolean() ? in.readUTF() : null;
  }
}
