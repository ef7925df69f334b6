package io.fewshotstreams.streaming;

import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.fewshot.ClassSum;
import io.fewshotstreams.streaming.learner.StoredExample;
import io.fewshotstreams.streaming.learner.TaskState;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * Compact binary formats of the values in internal topics and state stores. They are private to
 * the service (the topics' contract is the JSON of the events package); each starts with a format
 * byte so that a later format can read an older one.
 */
public final class InternalSerdes {
  private static final byte FORMAT = 1;

  private static final byte ADD = 1;
  private static final byte REMOVE = 2;
  private static final byte DELETE_CLASS = 3;
  private static final byte POOL_QUERY = 4;

  private InternalSerdes() {}

  static Serde<LearnerInput> learnerInput() {
    return serde(InternalSerdes::writeLearnerInput, InternalSerdes::readLearnerInput);
  }

  static Serde<StoredExample> storedExample() {
    return serde(
        (out, e) -> {
          writeString(out, e.label());
          writeFloats(out, e.feature());
        },
        in -> new StoredExample(readString(in), readFloats(in)));
  }

  /**
   * A class's running sum: the count, the dimension, then the sum's doubles. The layout of the
   * learner's {@code fewshot-classes} changelog, so it must not change within a format byte.
   */
  static Serde<ClassSum> classSum() {
    return serde(
        (out, s) -> {
          out.writeInt(s.count());
          out.writeInt(s.dimension());
          for (int k = 0; k < s.dimension(); k++) {
            out.writeDouble(s.sum(k));
          }
        },
        in -> {
          int count = in.readInt();
          double[] sum = new double[in.readInt()];
          for (int i = 0; i < sum.length; i++) {
            sum[i] = in.readDouble();
          }
          return ClassSum.of(count, sum);
        });
  }

  /**
   * A task's bookkeeping. The last two fields were appended later: a value written before them
   * reads as published at its current support changes with a prototype snapshot, so its next
   * support change publishes prototypes and a fine-tune in flight installs only if nothing changed.
   */
  static Serde<TaskState> taskState() {
    return serde(
        (out, t) -> {
          out.writeLong(t.version());
          out.writeLong(t.supportChanges());
          out.writeLong(t.poolAdds());
          out.writeInt(t.poolCount());
          out.writeLong(t.tunedSupportChanges());
          out.writeLong(t.tunedPoolAdds());
          out.writeLong(t.publishedSupportChanges());
          out.writeBoolean(t.fineTuned());
        },
        in -> {
          long version = in.readLong();
          long supportChanges = in.readLong();
          long poolAdds = in.readLong();
          int poolCount = in.readInt();
          long tunedSupportChanges = in.readLong();
          long tunedPoolAdds = in.readLong();
          boolean appended = in.available() > 0;
          return new TaskState(
              version,
              supportChanges,
              poolAdds,
              poolCount,
              tunedSupportChanges,
              tunedPoolAdds,
              appended ? in.readLong() : supportChanges,
              appended && in.readBoolean());
        });
  }

  static Serde<float[]> floats() {
    return serde(InternalSerdes::writeFloats, InternalSerdes::readFloats);
  }

  /**
   * Snapshots in the global store: decoded on every query, so binary rather than JSON. The
   * optional training loss and fine-tuning time are appended last, each as a presence flag and a
   * double, so a store written before they existed still reads (as unknown) under the same format
   * byte. The optional open-set threshold (a presence flag and a float) and the class centres (a
   * presence flag, then one optional vector per class in class order) follow the same way.
   */
  static Serde<ModelSnapshot> snapshot() {
    return serde(
        (out, s) -> {
          out.writeInt(s.schemaVersion());
          writeString(out, s.task());
          out.writeLong(s.version());
          writeString(out, s.method());
          writeNullableString(out, s.fineTuning());
          writeString(out, s.backboneId());
          out.writeInt(s.featureSize());
          out.writeFloat(s.scale());
          out.writeInt(s.classes().size());
          for (ModelSnapshot.ClassWeights c : s.classes()) {
            writeString(out, c.label());
            out.writeInt(c.examples());
            writeFloats(out, c.weights());
            out.writeFloat(c.bias());
          }
          out.writeInt(s.supportExamples());
          out.writeInt(s.poolQueries());
          out.writeLong(s.createdAt());
          writeNullableDouble(out, s.trainingLoss());
          writeNullableDouble(out, s.fineTuneMillis());
          out.writeBoolean(s.openSetThreshold() != null);
          if (s.openSetThreshold() != null) {
            out.writeFloat(s.openSetThreshold());
          }
          boolean centres = s.classes().stream().anyMatch(c -> c.centre() != null);
          out.writeBoolean(centres);
          if (centres) {
            for (ModelSnapshot.ClassWeights c : s.classes()) {
              float[] centre = c.centre();
              out.writeBoolean(centre != null);
              if (centre != null) {
                writeFloats(out, centre);
              }
            }
          }
        },
        in -> {
          int schemaVersion = in.readInt();
          String task = readString(in);
          long version = in.readLong();
          String method = readString(in);
          String fineTuning = readNullableString(in);
          String backboneId = readString(in);
          int featureSize = in.readInt();
          float scale = in.readFloat();
          int n = in.readInt();
          List<ModelSnapshot.ClassWeights> classes = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            classes.add(
                new ModelSnapshot.ClassWeights(
                    readString(in), in.readInt(), readFloats(in), in.readFloat()));
          }
          int supportExamples = in.readInt();
          int poolQueries = in.readInt();
          long createdAt = in.readLong();
          // Snapshots stored before the training fields existed end here; they read as unknown.
          Double trainingLoss = in.available() > 0 ? readNullableDouble(in) : null;
          Double fineTuneMillis = in.available() > 0 ? readNullableDouble(in) : null;
          // ... and so do those stored before the open-set fields existed.
          Float openSetThreshold = null;
          if (in.available() > 0 && in.readBoolean()) {
            openSetThreshold = in.readFloat();
          }
          if (in.available() > 0 && in.readBoolean()) {
            for (int i = 0; i < n; i++) {
              if (in.readBoolean()) {
                ModelSnapshot.ClassWeights c = classes.get(i);
                classes.set(
                    i,
                    new ModelSnapshot.ClassWeights(
                        c.label(), c.examples(), c.weights(), c.bias(), readFloats(in)));
              }
            }
          }
          return new ModelSnapshot(
              schemaVersion,
              task,
              version,
              method,
              fineTuning,
              backboneId,
              featureSize,
              scale,
              classes,
              supportExamples,
              poolQueries,
              createdAt,
              trainingLoss,
              fineTuneMillis,
              openSetThreshold);
        });
  }

  private static void writeLearnerInput(DataOutputStream out, LearnerInput input)
      throws IOException {
    if (input instanceof LearnerInput.Add a) {
      out.writeByte(ADD);
      writeString(out, a.task());
      writeString(out, a.label());
      writeString(out, a.exampleId());
      writeFloats(out, a.feature());
      writeOrigin(out, a.origin());
    } else if (input instanceof LearnerInput.Remove r) {
      out.writeByte(REMOVE);
      writeString(out, r.task());
      writeString(out, r.exampleId());
      writeOrigin(out, r.origin());
    } else if (input instanceof LearnerInput.DeleteClass d) {
      out.writeByte(DELETE_CLASS);
      writeString(out, d.task());
      writeString(out, d.label());
      writeOrigin(out, d.origin());
    } else {
      LearnerInput.PoolQuery p = (LearnerInput.PoolQuery) input;
      out.writeByte(POOL_QUERY);
      writeString(out, p.task());
      writeFloats(out, p.feature());
    }
  }

  private static LearnerInput readLearnerInput(DataInputStream in) throws IOException {
    byte kind = in.readByte();
    switch (kind) {
      case ADD:
        return new LearnerInput.Add(
            readString(in), readString(in), readString(in), readFloats(in), readOrigin(in));
      case REMOVE:
        return new LearnerInput.Remove(readString(in), readString(in), readOrigin(in));
      case DELETE_CLASS:
        return new LearnerInput.DeleteClass(readString(in), readString(in), readOrigin(in));
      case POOL_QUERY:
        return new LearnerInput.PoolQuery(readString(in), readFloats(in));
      default:
        throw new IOException("expected a learner input kind 1-4, found " + kind);
    }
  }

  private static void writeOrigin(DataOutputStream out, Origin o) throws IOException {
    writeString(out, o.topic());
    out.writeInt(o.partition());
    out.writeLong(o.offset());
    out.writeLong(o.timestamp());
    writeNullableString(out, o.key());
    out.writeInt(o.valueBytes());
  }

  private static Origin readOrigin(DataInputStream in) throws IOException {
    return new Origin(
        readString(in),
        in.readInt(),
        in.readLong(),
        in.readLong(),
        readNullableString(in),
        in.readInt());
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] bytes = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  private static String readString(DataInputStream in) throws IOException {
    byte[] bytes = new byte[in.readInt()];
    in.readFully(bytes);
    return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
  }

  private static void writeNullableString(DataOutputStream out, String s) throws IOException {
    out.writeBoolean(s != null);
    if (s != null) {
      writeString(out, s);
    }
  }

  private static String readNullableString(DataInputStream in) throws IOException {
    return in.readBoolean() ? readString(in) : null;
  }

  private static void writeNullableDouble(DataOutputStream out, Double d) throws IOException {
    out.writeBoolean(d != null);
    if (d != null) {
      out.writeDouble(d);
    }
  }

  private static Double readNullableDouble(DataInputStream in) throws IOException {
    return in.readBoolean() ? in.readDouble() : null;
  }

  // Whole arrays at once: the snapshot of a task is decoded on every query, and float by float
  // through the streams it cost more than the classification.
  /** A float array as its count and its big-endian values, written whole. */
  public static void writeFloats(DataOutputStream out, float[] v) throws IOException {
    out.writeInt(v.length);
    ByteBuffer bytes = ByteBuffer.allocate(v.length * Float.BYTES);
    bytes.asFloatBuffer().put(v);
    out.write(bytes.array());
  }

  /** The float array {@link #writeFloats} wrote. */
  public static float[] readFloats(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < 0) {
      throw new IOException("expected a float count >= 0, found " + n);
    }
    byte[] bytes = new byte[n * Float.BYTES];
    in.readFully(bytes);
    float[] v = new float[n];
    ByteBuffer.wrap(bytes).asFloatBuffer().get(v);
    return v;
  }

  /** Writes a value's fields after the format byte. */
  @FunctionalInterface
  public interface Writer<T> {
    void write(DataOutputStream out, T value) throws IOException;
  }

  /** Reads what the matching {@link Writer} wrote. */
  @FunctionalInterface
  public interface Reader<T> {
    T read(DataInputStream in) throws IOException;
  }

  /**
   * A serde of the internal binary formats: a format byte, then the value's fields; null stays
   * null (a tombstone).
   */
  public static <T> Serde<T> serde(Writer<T> writer, Reader<T> reader) {
    return Serdes.serdeFrom(
        (topic, value) -> {
          if (value == null) {
            return null;
          }
          ByteArrayOutputStream bytes = new ByteArrayOutputStream(2048);
          try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(FORMAT);
            writer.write(out, value);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          return bytes.toByteArray();
        },
        (topic, data) -> {
          if (data == null) {
            return null;
          }
          try (DataInputStream in =
              new DataInputStream(new java.io.ByteArrayInputStream(data))) {
            byte format = in.readByte();
            if (format != FORMAT) {
              throw new IOException("expected internal format " + FORMAT + ", found " + format);
            }
            return reader.read(in);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }
}
