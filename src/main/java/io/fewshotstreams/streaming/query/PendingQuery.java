package io.fewshotstreams.streaming.query;

import io.fewshotstreams.events.Image;
import io.fewshotstreams.events.QueryEvent;
import io.fewshotstreams.streaming.Origin;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * A query waiting in the pending-queries store for its batch: what is needed to finish it after a
 * restart as well as before one, and nothing more. The query is kept parsed (the image as its
 * encoded bytes, not the base64 JSON of the record), with the record's headers so that its
 * prediction carries them whether it is finished before or after a restart.
 *
 * @param receivedAtMs wall-clock time the query was read, for its latency when it is finished by
 *     another instance or after a restart
 * @param headers the record's headers; never modified
 * @param query the parsed query; null only for an entry written by an earlier version, which kept
 *     the record's value instead
 * @param legacyValue the record's value, only for such an entry (format 1; null there for a
 *     record without a value)
 */
public record PendingQuery(
    Origin origin, long receivedAtMs, Headers headers, QueryEvent query, byte[] legacyValue) {
  /** Format of the entries this version writes: the parsed query and the headers. */
  static final byte FORMAT = 2;
  /** Format of earlier versions: the origin, the time it was read and the record's value. */
  static final byte LEGACY_FORMAT = 1;

  private static final byte IMAGE = 1;
  private static final byte EMBEDDING = 2;

  public PendingQuery {
    Objects.requireNonNull(origin, "origin");
    Objects.requireNonNull(headers, "headers");
    if (query != null && legacyValue != null) {
      throw new IllegalArgumentException(
          "expected a parsed query or, for a format 1 entry, its record's value, found both");
    }
  }

  /** A query read by this version, with a copy of the record's headers. */
  public static PendingQuery of(Origin origin, long receivedAtMs, Headers headers, QueryEvent query) {
    return new PendingQuery(
        origin,
        receivedAtMs,
        new RecordHeaders(headers.toArray()),
        Objects.requireNonNull(query, "query"),
        null);
  }

  /**
   * An upper bound of this entry's size in the store and its changelog, in bytes, known without
   * writing it: what decides whether a query can wait in the store at all.
   */
  public long storedBytesBound() {
    long bytes = 64 + utf8Bound(origin.topic()) + utf8Bound(origin.key());
    for (Header h : headers) {
      bytes += 12 + utf8Bound(h.key()) + (h.value() == null ? 0 : h.value().length);
    }
    if (query != null) {
      bytes += utf8Bound(query.task()) + utf8Bound(query.queryId());
      Image image = query.image();
      bytes +=
          image != null
              ? utf8Bound(image.contentType()) + image.dataUnsafe().length
              : 4L * query.embedding().length;
    } else if (legacyValue != null) {
      bytes += legacyValue.length;
    }
    return bytes;
  }

  private static long utf8Bound(String s) {
    return s == null ? 0 : 4 + 3L * s.length();
  }

  /** The store's serde: writes format 2, reads formats 1 and 2. */
  public static Serde<PendingQuery> serde() {
    return Serdes.serdeFrom(
        (topic, q) -> q == null ? null : write(q),
        (topic, data) -> data == null ? null : read(data));
  }

  static byte[] write(PendingQuery q) {
    if (q.query == null) {
      throw new IllegalArgumentException("expected a parsed query to store, found a format 1 entry");
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(1024);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(FORMAT);
      writeOrigin(out, q.origin);
      out.writeLong(q.receivedAtMs);
      Header[] headers = q.headers.toArray();
      out.writeInt(headers.length);
      for (Header h : headers) {
        writeString(out, h.key());
        writeBytes(out, h.value());
      }
      QueryEvent query = q.query;
      out.writeInt(query.schemaVersion());
      writeString(out, query.task());
      writeString(out, query.queryId());
      out.writeInt(query.topK() == null ? 0 : query.topK());
      if (query.image() != null) {
        out.writeByte(IMAGE);
        writeString(out, query.image().contentType());
        writeBytes(out, query.image().dataUnsafe());
      } else {
        out.writeByte(EMBEDDING);
        float[] embedding = query.embedding();
        ByteBuffer floats = ByteBuffer.allocate(embedding.length * Float.BYTES);
        floats.asFloatBuffer().put(embedding);
        writeBytes(out, floats.array());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static PendingQuery read(byte[] data) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
      byte format = in.readByte();
      Origin origin = readOrigin(in);
      long receivedAtMs = in.readLong();
      if (format == LEGACY_FORMAT) {
        byte[] value = in.readBoolean() ? readBytes(in) : null;
        return new PendingQuery(origin, receivedAtMs, new RecordHeaders(), null, value);
      }
      if (format != FORMAT) {
        throw new IOException(
            "expected a pending query of format " + LEGACY_FORMAT + " or " + FORMAT
                + ", found format " + format);
      }
      int n = in.readInt();
      RecordHeaders headers = new RecordHeaders();
      for (int i = 0; i < n; i++) {
        headers.add(new RecordHeader(readString(in), readBytes(in)));
      }
      int schemaVersion = in.readInt();
      String task = readString(in);
      String queryId = readString(in);
      int topK = in.readInt();
      byte kind = in.readByte();
      Image image = null;
      float[] embedding = null;
      if (kind == IMAGE) {
        image = new Image(readString(in), readBytes(in));
      } else if (kind == EMBEDDING) {
        byte[] floats = readBytes(in);
        embedding = new float[floats.length / Float.BYTES];
        ByteBuffer.wrap(floats).asFloatBuffer().get(embedding);
      } else {
        throw new IOException("expected an image (1) or an embedding (2), found kind " + kind);
      }
      QueryEvent query =
          new QueryEvent(schemaVersion, task, queryId, image, embedding, topK == 0 ? null : topK);
      return new PendingQuery(origin, receivedAtMs, headers, query, null);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void writeOrigin(DataOutputStream out, Origin o) throws IOException {
    writeString(out, o.topic());
    out.writeInt(o.partition());
    out.writeLong(o.offset());
    out.writeLong(o.timestamp());
    out.writeBoolean(o.key() != null);
    if (o.key() != null) {
      writeString(out, o.key());
    }
    out.writeInt(o.valueBytes());
  }

  private static Origin readOrigin(DataInputStream in) throws IOException {
    String topic = readString(in);
    int partition = in.readInt();
    long offset = in.readLong();
    long timestamp = in.readLong();
    String key = in.readBoolean() ? readString(in) : null;
    return new Origin(topic, partition, offset, timestamp, key, in.readInt());
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    writeBytes(out, s.getBytes(StandardCharsets.UTF_8));
  }

  private static String readString(DataInputStream in) throws IOException {
    byte[] bytes = readBytes(in);
    if (bytes == null) {
      throw new IOException("expected a string, found none");
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** A length (-1 for null) and the bytes. */
  private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
    out.writeInt(b == null ? -1 : b.length);
    if (b != null) {
      out.write(b);
    }
  }

  private static byte[] readBytes(DataInputStream in) throws IOException {
    int n = in.readInt();
    if (n < -1) {
      throw new IOException("expected a length >= -1, found " + n);
    }
    if (n == -1) {
      return null;
    }
    byte[] b = new byte[n];
    in.readFully(b);
    return b;
  }
}
