package io.fewshotstreams.embedding;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.ValueInfo;
import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Embedder} backed by ONNX Runtime, the only class of the project that touches it. It owns
 * one session (and its options) for its whole life; the process-wide {@link OrtEnvironment} is
 * shared and never closed here. Every call creates and closes its own tensors and results; the
 * input tensor is read from a direct buffer per calling thread, allocated once (grown to the
 * largest chunk the thread has run) and reused, so ONNX Runtime reads it without a copy and the hot
 * path allocates no native memory per call.
 *
 * <p>Opening checks that the model's input and output names, element types and shapes agree with
 * the card, so a mismatched card fails at start-up rather than on the first record.
 */
public final class OnnxEmbedder implements Embedder {
  private static final Logger LOG = LoggerFactory.getLogger(OnnxEmbedder.class);

  private final ModelCard card;
  private final ImagePreprocessor preprocessor;
  private final int maxBatchSize;
  private final Device device;
  private final OrtEnvironment env;
  private final OrtSession.SessionOptions sessionOptions;
  private final OrtSession session;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Set<String> outputNames;
  private final ThreadLocal<FloatBuffer> inputBuffers = new ThreadLocal<>();
  private final AtomicLong inputBufferAllocations = new AtomicLong();

  private OnnxEmbedder(
      ModelCard card,
      ImagePreprocessor preprocessor,
      int maxBatchSize,
      Device device,
      OrtEnvironment env,
      OrtSession.SessionOptions sessionOptions,
      OrtSession session) {
    this.card = card;
    this.preprocessor = preprocessor;
    this.maxBatchSize = maxBatchSize;
    this.device = device;
    this.env = env;
    this.sessionOptions = sessionOptions;
    this.session = session;
    this.outputNames = Set.of(card.outputName());
  }

  /** Opens {@code backbone} with {@link ImageLimits#DEFAULT}. */
  public static OnnxEmbedder open(Backbone backbone, EmbedderOptions options) {
    return open(backbone, options, ImageLimits.DEFAULT);
  }

  /**
   * Creates a session for {@code backbone} on the requested device and checks it against the card.
   *
   * @throws EmbeddingException when the model does not match its card, when CUDA was requested
   *     explicitly but is not available, or when ONNX Runtime cannot load the model
   */
  public static OnnxEmbedder open(Backbone backbone, EmbedderOptions options, ImageLimits limits) {
    Objects.requireNonNull(backbone, "backbone");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(limits, "limits");
    ModelCard card = backbone.card();
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    Session created = createSession(env, backbone, options);
    OrtSession session = created.session();
    OrtSession.SessionOptions sessionOptions = created.options();
    Device device = created.device();
    int batchLimit;
    try {
      batchLimit = checkAgainstCard(session, card, options.maxBatchSize());
    } catch (RuntimeException | OrtException e) {
      closeQuietly(session, sessionOptions);
      if (e instanceof EmbeddingException embedding) {
        throw new EmbeddingException(
            embedding.getMessage() + " (model " + backbone.source() + ")", embedding);
      }
      throw new EmbeddingException(
          "cannot inspect backbone '" + card.id() + "' from " + backbone.source() + ": " + e, e);
    }
    OnnxEmbedder embedder =
        new OnnxEmbedder(
            card,
            new ImagePreprocessor(card, limits),
            batchLimit,
            device,
            env,
            sessionOptions,
            session);
    try {
      // Exported models often leave output dimensions symbolic; one run on a blank image checks
      // the real output shape against the card before any record depends on it.
      embedder.embedPreprocessed(new float[card.inputElements()], 1);
    } catch (EmbeddingException e) {
      embedder.close();
      throw new EmbeddingException(
          "backbone '"
              + card.id()
              + "' from "
              + backbone.source()
              + " fails its start-up check: "
              + e.getMessage(),
          e);
    }
    LOG.info(
        "Backbone '{}' ({}) loaded on {} execution provider: input '{}' {}, output '{}' [N, {}],"
            + " batches of up to {}",
        card.id(),
        backbone.source(),
        device,
        card.inputName(),
        shapeText(card.inputShape(-1)),
        card.outputName(),
        card.featureSize(),
        batchLimit);
    return embedder;
  }

  /** The device the model actually runs on: CPU or CUDA, never AUTO. */
  public Device device() {
    return device;
  }

  @Override
  public ImagePreprocessor preprocessor() {
    return preprocessor;
  }

  /** Most images sent to ONNX Runtime in one run. */
  public int maxBatchSize() {
    return maxBatchSize;
  }

  @Override
  public ModelCard card() {
    return card;
  }

  @Override
  public int featureSize() {
    return card.featureSize();
  }

  @Override
  public float[] embed(byte[] encodedImage) {
    return embedBatch(List.of(encodedImage))[0];
  }

  @Override
  public float[][] embedBatch(List<byte[]> encodedImages) {
    return embedAll(encodedImages.size(), i -> preprocessor.decode(encodedImages.get(i)));
  }

  @Override
  public float[][] embedImages(List<BufferedImage> images) {
    return embedAll(images.size(), images::get);
  }

  @Override
  public float[][] embedPreprocessed(float[] batchTensor, int batchSize) {
    Objects.requireNonNull(batchTensor, "batchTensor");
    int size = preprocessor.tensorSize();
    if (batchSize < 0 || (long) batchSize * size != batchTensor.length) {
      throw new IllegalArgumentException(
          "batch tensor for "
              + batchSize
              + " images of "
              + size
              + " floats must have "
              + ((long) batchSize * size)
              + " floats, found "
              + batchTensor.length);
    }
    float[][] result = new float[batchSize][];
    for (int from = 0; from < batchSize; from += maxBatchSize) {
      int n = Math.min(maxBatchSize, batchSize - from);
      // A heap buffer would make ONNX Runtime allocate a direct copy per run; copy it once into
      // this thread's reused direct buffer instead.
      FloatBuffer input = inputBuffer(n, size);
      input.put(batchTensor, from * size, n * size).rewind();
      run(input, n, result, from);
    }
    return result;
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      closeQuietly(session, sessionOptions);
    }
  }

  @Override
  public String toString() {
    return "OnnxEmbedder[" + card.id() + " on " + device + "]";
  }

  private interface ImageSource {
    BufferedImage get(int index);
  }

  private float[][] embedAll(int count, ImageSource images) {
    int size = preprocessor.tensorSize();
    float[][] result = new float[count][];
    if (count == 0) {
      return result;
    }
    for (int from = 0; from < count; from += maxBatchSize) {
      int n = Math.min(maxBatchSize, count - from);
      // Images are preprocessed straight into the tensor's direct buffer.
      FloatBuffer batch = inputBuffer(n, size);
      for (int i = 0; i < n; i++) {
        int index = from + i;
        try {
          preprocessor.preprocess(images.get(index), batch, i * size);
        } catch (InvalidImageException e) {
          throw count == 1
              ? e
              : new InvalidImageException(
                  e.reason(), "image " + index + " of " + count + ": " + e.getMessage(), e);
        }
      }
      run(batch, n, result, from);
    }
    return result;
  }

  /**
   * This thread's direct input buffer, position 0 and limit {@code n} images. Allocated on a
   * thread's first call and when a larger chunk than ever before comes (then at least doubled, up
   * to {@link #maxBatchSize()} images), else reused.
   */
  private FloatBuffer inputBuffer(int n, int size) {
    int floats = n * size;
    FloatBuffer buffer = inputBuffers.get();
    if (buffer == null || buffer.capacity() < floats) {
      int capacity =
          (int)
              Math.min(
                  (long) maxBatchSize * size,
                  Math.max(floats, buffer == null ? 0L : 2L * buffer.capacity()));
      buffer =
          ByteBuffer.allocateDirect(capacity * Float.BYTES)
              .order(ByteOrder.nativeOrder())
              .asFloatBuffer();
      inputBufferAllocations.incrementAndGet();
      inputBuffers.set(buffer);
    }
    buffer.clear().limit(floats);
    return buffer;
  }

  /** How many direct input buffers this embedder has allocated, over all threads. */
  long inputBufferAllocations() {
    return inputBufferAllocations.get();
  }

  /** Runs one chunk of {@code n} images from {@code input} (position 0) into result[from..]. */
  private void run(FloatBuffer input, int n, float[][] result, int from) {
    if (closed.get()) {
      throw new IllegalStateException("embedder for backbone '" + card.id() + "' is closed");
    }
    long[] shape = card.inputShape(n);
    try (OnnxTensor tensor = OnnxTensor.createTensor(env, input, shape);
        OrtSession.Result output =
            session.run(Map.of(card.inputName(), tensor), outputNames)) {
      OnnxValue value =
          output
              .get(card.outputName())
              .orElseThrow(() -> new EmbeddingException("model returned no " + card.outputName()));
      if (!(value instanceof OnnxTensor features)) {
        throw new EmbeddingException(
            "model output '" + card.outputName() + "' is not a tensor, found " + value.getType());
      }
      long[] found = features.getInfo().getShape();
      if (found.length != 2 || found[0] != n || found[1] != card.featureSize()) {
        throw new EmbeddingException(
            "model output '"
                + card.outputName()
                + "' for "
                + n
                + " images: expected shape ["
                + n
                + ", "
                + card.featureSize()
                + "] (featureSize "
                + card.featureSize()
                + "), found "
                + Arrays.toString(found));
      }
      // Read straight into the result arrays: getFloatBuffer would copy through a buffer first.
      if (!(features.getValue() instanceof float[][] vectors)) {
        throw new EmbeddingException(
            "model output '" + card.outputName() + "': expected float values, found "
                + features.getInfo());
      }
      System.arraycopy(vectors, 0, result, from, n);
    } catch (OrtException e) {
      throw new EmbeddingException(
          "ONNX Runtime failed on a batch of "
              + n
              + " images for backbone '"
              + card.id()
              + "': "
              + e.getMessage(),
          e);
    }
  }

  /** A session with the options it was created from and the device it runs on. */
  private record Session(OrtSession session, OrtSession.SessionOptions options, Device device) {}

  /** CUDA first when asked for (AUTO or CUDA), otherwise or as AUTO's fallback the CPU. */
  private static Session createSession(
      OrtEnvironment env, Backbone backbone, EmbedderOptions options) {
    ModelCard card = backbone.card();
    if (options.device() != Device.CPU) {
      String unavailable;
      boolean inBuild = OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA);
      if (!inBuild) {
        unavailable =
            "this ONNX Runtime build has providers "
                + OrtEnvironment.getAvailableProviders()
                + "; build with -Pgpu for the onnxruntime_gpu artifact";
      } else {
        OrtSession.SessionOptions cudaOptions = baseOptions(options);
        try {
          cudaOptions.addCUDA(0);
          return new Session(
              env.createSession(backbone.onnxModelUnsafe(), cudaOptions), cudaOptions, Device.CUDA);
        } catch (OrtException e) {
          cudaOptions.close();
          unavailable = "the CUDA provider failed to start: " + e.getMessage();
        }
      }
      if (options.device() == Device.CUDA) {
        throw new EmbeddingException(
            "CUDA execution provider requested for backbone '"
                + card.id()
                + "' but not available ("
                + unavailable
                + "); use device AUTO or CPU");
      }
      if (inBuild) {
        // The GPU build on a machine whose CUDA libraries or driver are missing: worth a warning.
        LOG.warn("CUDA execution provider not available ({}); falling back to CPU", unavailable);
      } else {
        LOG.info("CUDA execution provider not available ({}); falling back to CPU", unavailable);
      }
    }
    OrtSession.SessionOptions cpuOptions = baseOptions(options);
    try {
      return new Session(
          env.createSession(backbone.onnxModelUnsafe(), cpuOptions), cpuOptions, Device.CPU);
    } catch (OrtException e) {
      cpuOptions.close();
      throw new EmbeddingException(
          "ONNX Runtime cannot load backbone '"
              + card.id()
              + "' from "
              + backbone.source()
              + ": "
              + e.getMessage(),
          e);
    }
  }

  private static OrtSession.SessionOptions baseOptions(EmbedderOptions options) {
    OrtSession.SessionOptions so = new OrtSession.SessionOptions();
    try {
      so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      // ONNX Runtime's own default is one thread per core of the machine, whatever the
      // container's CPU quota; the JVM's count follows the quota.
      so.setIntraOpNumThreads(options.effectiveIntraOpThreads());
      return so;
    } catch (OrtException e) {
      so.close();
      throw new EmbeddingException("cannot configure ONNX Runtime session: " + e.getMessage(), e);
    }
  }

  /** Checks names, element types and shapes against the card and returns the batch limit to use. */
  private static int checkAgainstCard(OrtSession session, ModelCard card, int maxBatchSize)
      throws OrtException {
    Map<String, NodeInfo> inputs = session.getInputInfo();
    if (inputs.size() != 1 || !inputs.containsKey(card.inputName())) {
      throw new EmbeddingException(
          "model inputs do not match card '"
              + card.id()
              + "': expected one input '"
              + card.inputName()
              + "', found "
              + describe(inputs));
    }
    long[] expectedInput = card.inputShape(-1);
    long[] input = tensorShape(inputs.get(card.inputName()), "input");
    if (!shapeMatches(expectedInput, input)) {
      throw new EmbeddingException(
          "model input '"
              + card.inputName()
              + "' does not match card '"
              + card.id()
              + "': expected shape "
              + shapeText(expectedInput)
              + " ("
              + card.layout()
              + ", "
              + card.channels()
              + " channels, "
              + card.height()
              + "x"
              + card.width()
              + "), found "
              + shapeText(input));
    }
    Map<String, NodeInfo> outputs = session.getOutputInfo();
    if (!outputs.containsKey(card.outputName())) {
      throw new EmbeddingException(
          "model outputs do not match card '"
              + card.id()
              + "': expected an output '"
              + card.outputName()
              + "', found "
              + describe(outputs));
    }
    long[] expectedOutput = {-1, card.featureSize()};
    long[] output = tensorShape(outputs.get(card.outputName()), "output");
    if (!shapeMatches(expectedOutput, output)) {
      throw new EmbeddingException(
          "model output '"
              + card.outputName()
              + "' does not match card '"
              + card.id()
              + "': expected shape "
              + shapeText(expectedOutput)
              + " (featureSize "
              + card.featureSize()
              + "), found "
              + shapeText(output));
    }
    if (input[0] > 1) {
      throw new EmbeddingException(
          "model input '"
              + card.inputName()
              + "' has a fixed batch size of "
              + input[0]
              + "; expected a dynamic batch axis (or a batch of 1)");
    }
    if (input[0] == 1) {
      return 1;
    }
    // Keep one chunk's direct buffer within a Java buffer's int-sized capacity.
    long perImageBytes = (long) card.inputElements() * Float.BYTES;
    return (int) Math.max(1, Math.min(maxBatchSize, Integer.MAX_VALUE / perImageBytes));
  }

  private static long[] tensorShape(NodeInfo node, String role) {
    ValueInfo info = node.getInfo();
    if (!(info instanceof TensorInfo tensor) || tensor.type != OnnxJavaType.FLOAT) {
      throw new EmbeddingException(
          "model " + role + " '" + node.getName() + "': expected a float tensor, found " + info);
    }
    return tensor.getShape();
  }

  /** Dimensions below zero are dynamic; they match anything, and the card's -1 matches anything. */
  private static boolean shapeMatches(long[] expected, long[] found) {
    if (expected.length != found.length) {
      return false;
    }
    for (int i = 0; i < expected.length; i++) {
      if (expected[i] >= 0 && found[i] >= 0 && expected[i] != found[i]) {
        return false;
      }
    }
    return true;
  }

  private static String shapeText(long[] shape) {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < shape.length; i++) {
      sb.append(i == 0 ? "" : ", ").append(shape[i] < 0 ? (i == 0 ? "N" : "?") : shape[i]);
    }
    return sb.append(']').toString();
  }

  private static String describe(Map<String, NodeInfo> nodes) {
    StringBuilder sb = new StringBuilder("[");
    for (NodeInfo node : nodes.values()) {
      sb.append(sb.length() == 1 ? "" : ", ").append('\'').append(node.getName()).append('\'');
      if (node.getInfo() instanceof TensorInfo tensor) {
        sb.append(' ').append(shapeText(tensor.getShape()));
      }
    }
    return sb.append(']').toString();
  }

  private static void closeQuietly(OrtSession session, OrtSession.SessionOptions options) {
    try {
      if (session != null) {
        session.close();
      }
    } catch (OrtException e) {
      LOG.warn("closing ONNX Runtime session failed: {}", e.getMessage());
    } finally {
      if (options != null) {
        options.close();
      }
    }
  }
}
