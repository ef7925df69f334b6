package io.fewshotstreams.streaming.learner;

import java.nio.charset.StandardCharsets;

/**
 * Upper bounds on the size of a model snapshot's JSON, whatever its numbers: the learner admits a
 * class only while the bound of its task stays within the models topic's record limit, so that no
 * snapshot it makes later, prototypes or fine-tuned, is refused by the producer or the broker.
 *
 * <p>A number is at most as long as its longest form: a float (weights, bias, scale) takes at most
 * 15 characters ({@code -1.23456789E-10}), an int 11 and a long or double 24. A name takes at most
 * 3 bytes per character in UTF-8, 2 for an escaped quote or backslash (the schemas forbid control
 * characters). The fixed part and each class have some bytes to spare for optional fields.
 */
public final class SnapshotSize {
  /** Longest JSON float plus its comma. */
  static final int FLOAT_BYTES = 16;

  /** Longest task or label name in JSON: 256 characters of 3 bytes. */
  static final int MAX_NAME_BYTES = 256 * 3;

  /**
   * A class's JSON besides its label and weights: {@code {"label":"","examples":N,"weights":[],
   * "bias":F},} is 50 bytes with the longest numbers; the rest is room for optional fields.
   */
  static final int CLASS_BYTES = 128;

  /**
   * The snapshot's JSON besides its task, backbone id and classes: the field names, a version,
   * counts, the method names, a timestamp, two doubles; the rest is room for optional fields.
   */
  static final int FIXED_BYTES = 1024;

  /**
   * What a Kafka record adds to its value, as {@code max.request.size} and the topic's {@code
   * max.message.bytes} count it: the batch and record headers and a key (the task) of at most
   * {@value #MAX_NAME_BYTES} bytes. Snapshot records carry no headers.
   */
  public static final int RECORD_OVERHEAD = 2048;

  /** Largest record the models topic is sized to, below the broker's default request size. */
  public static final int MAX_RECORD_BYTES = 64 * 1024 * 1024;

  private SnapshotSize() {}

  /** The bound of one class of {@code featureSize} weights with this label. */
  static long classBytes(String label, int featureSize) {
    return nameBytes(label) + (long) FLOAT_BYTES * featureSize + CLASS_BYTES;
  }

  /** The bound of a snapshot without classes. */
  static long fixedBytes(String task, String backboneId) {
    return nameBytes(task) + nameBytes(backboneId) + FIXED_BYTES;
  }

  /**
   * The bound of a snapshot of {@code classes} classes at the schemas' limits (names of 256
   * characters): the record size the models topic and the producer are sized to, capped at
   * {@value #MAX_RECORD_BYTES} bytes.
   */
  public static int recordBytesAtLimits(int classes, int featureSize) {
    long value =
        FIXED_BYTES
            + 2L * MAX_NAME_BYTES
            + (long) classes * (MAX_NAME_BYTES + (long) FLOAT_BYTES * featureSize + CLASS_BYTES);
    return (int) Math.min(MAX_RECORD_BYTES, value + RECORD_OVERHEAD);
  }

  /** Bytes of {@code name} as a JSON string, quotes included. */
  static long nameBytes(String name) {
    long bytes = 2;
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == '"' || c == '\\') {
        bytes += 2;
      } else if (c < 0x20) {
        bytes += 6;
      } else if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800 || Character.isSurrogate(c)) {
        bytes += 2;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  /** The UTF-8 size of a string (for messages and tests). */
  static int utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }
}
