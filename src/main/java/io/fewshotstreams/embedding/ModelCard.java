package io.fewshotstreams.embedding;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The model card that ships beside a backbone's ONNX file: what the model expects as input and what
 * it returns. All image preprocessing is driven by it. Arrays are copied in and out, so a card is
 * immutable. Invalid values fail in the constructor with an {@link EmbeddingException} naming the
 * field, what was expected and what was found.
 *
 * @param schemaVersion card format version; only {@value #SCHEMA_VERSION} is understood
 * @param id backbone id, copied onto predictions
 * @param description free text, empty when absent
 * @param onnxFile ONNX file name, relative to the card's location
 * @param onnxSha256 lower-case hex sha-256 of the ONNX file
 * @param inputName name of the model's single image input
 * @param layout input tensor layout; the batch axis is first and dynamic
 * @param channels 1 (grayscale) or 3 (R, G, B in that order)
 * @param height input height in pixels
 * @param width input width in pixels
 * @param mean per-channel mean applied as {@code (pixel/255 - mean) / std}
 * @param std per-channel standard deviation, positive
 * @param background colour that transparent pixels are composited onto
 * @param outputName name of the feature output, shape {@code [N, featureSize]}
 * @param featureSize length of one feature vector
 * @param baseClasses names of the classes the backbone was trained on, possibly empty
 * @param baseMean mean raw feature over the base training images, or {@code null} when absent
 * @param trainingAccuracy accuracy on base-class test images, or {@code null} when absent
 * @param training free-form provenance (seed, epochs, command, ...), possibly empty
 * @param resize how an image of any size becomes {@code height x width}; {@link Resize#STRETCH}
 *     when the card has no {@code resize} object
 */
public record ModelCard(
    int schemaVersion,
    String id,
    String description,
    String onnxFile,
    String onnxSha256,
    String inputName,
    Layout layout,
    int channels,
    int height,
    int width,
    float[] mean,
    float[] std,
    Background background,
    String outputName,
    int featureSize,
    List<String> baseClasses,
    float[] baseMean,
    Double trainingAccuracy,
    Map<String, Object> training,
    Resize resize) {

  /** The card format version this code reads. */
  public static final int SCHEMA_VERSION = 1;

  /** Largest accepted channels x height x width, so that batch tensors stay addressable. */
  static final long MAX_INPUT_ELEMENTS = 1L << 24;

  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");

  /** Order of the axes of the input tensor. */
  public enum Layout {
    /** batch, channel, height, width */
    NCHW,
    /** batch, height, width, channel */
    NHWC
  }

  /** Colour transparent pixels are composited onto. */
  public enum Background {
    BLACK(0f),
    WHITE(255f);

    private final float value;

    Background(float value) {
      this.value = value;
    }

    /** The background intensity on the 0..255 scale, the same in every channel. */
    public float value() {
      return value;
    }
  }

  /** How the whole image is brought to the input size. */
  public enum ResizePolicy {
    /** Both axes scaled independently to {@code height x width}; the aspect ratio is lost. */
    STRETCH("stretch"),
    /**
     * The shorter side scaled to {@link Resize#size()}, the longer one in proportion (truncated, as
     * torchvision's {@code Resize(size)}), then the centre {@code height x width} cropped (offsets
     * rounded half to even, as torchvision's {@code CenterCrop}).
     */
    SHORTER_SIDE("shorter-side"),
    /**
     * Scaled by {@code min(width / w, height / h)} to fit inside {@code height x width} with its
     * aspect ratio kept (each side rounded half up, at least 1), centred (offsets rounded down) on
     * a canvas of {@link Resize#padColor()}.
     */
    LETTERBOX("letterbox");

    private final String label;

    ResizePolicy(String label) {
      this.label = label;
    }

    /** The name used in card JSON. */
    public String label() {
      return label;
    }
  }

  /** The resampling filter. */
  public enum Interpolation {
    /**
     * This project's original filter: area average when shrinking, bilinear with half-pixel
     * centres when enlarging, in floating point. Only for {@link ResizePolicy#STRETCH}.
     */
    AREA("area"),
    /** PIL's {@code Image.BILINEAR}: a triangle filter widened by the scale when shrinking. */
    BILINEAR("bilinear"),
    /** PIL's {@code Image.BICUBIC}: the Keys cubic ({@code a = -0.5}), widened the same way. */
    BICUBIC("bicubic");

    private final String label;

    Interpolation(String label) {
      this.label = label;
    }

    /** The name used in card JSON. */
    public String label() {
      return label;
    }
  }

  /**
   * The card's resize policy. BILINEAR and BICUBIC reproduce PIL's {@code Image.resize} on 8-bit
   * images exactly (fixed-point coefficients, horizontal pass then vertical pass, each rounded to
   * 8 bits), so that a card exported from torchvision's evaluation transforms sees the pixels the
   * network was trained on.
   *
   * @param policy how the image is fitted to the input size
   * @param size the shorter side's length before the crop, for {@link ResizePolicy#SHORTER_SIDE};
   *     0 otherwise
   * @param interpolation the resampling filter
   * @param padColor for {@link ResizePolicy#LETTERBOX}, the canvas colour on the 0..255 scale, one
   *     value per channel (black when the card names none); empty otherwise
   */
  public record Resize(ResizePolicy policy, int size, Interpolation interpolation, int[] padColor) {

    /** Today's default: stretch with the original area/bilinear filter. */
    public static final Resize STRETCH = new Resize(ResizePolicy.STRETCH, 0, Interpolation.AREA, null);

    public Resize {
      if (policy == null) {
        throw invalid("resize.policy", "expected stretch, shorter-side or letterbox, found nothing");
      }
      if (interpolation == null) {
        throw invalid("resize.interpolation", "expected area, bilinear or bicubic, found nothing");
      }
      if (interpolation == Interpolation.AREA && policy != ResizePolicy.STRETCH) {
        throw invalid(
            "resize.interpolation",
            "expected bilinear or bicubic with policy " + policy.label() + ", found area");
      }
      if (policy == ResizePolicy.SHORTER_SIDE) {
        if (size <= 0) {
          throw invalid(
              "resize.size", "expected a positive shorter side for shorter-side, found " + size);
        }
      } else if (size != 0) {
        throw invalid(
            "resize.size", "expected no size with policy " + policy.label() + ", found " + size);
      }
      if (policy == ResizePolicy.LETTERBOX) {
        // Empty until the card fills in black for its channel count.
        padColor = padColor == null ? new int[0] : padColor.clone();
        for (int v : padColor) {
          if (v < 0 || v > 255) {
            throw invalid(
                "resize.padColor", "expected values in 0..255, found " + Arrays.toString(padColor));
          }
        }
      } else if (padColor != null && padColor.length > 0) {
        throw invalid(
            "resize.padColor",
            "expected no padColor with policy " + policy.label() + ", found "
                + Arrays.toString(padColor));
      } else {
        padColor = new int[0];
      }
    }

    @Override
    public int[] padColor() {
      return padColor.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Resize other
          && policy == other.policy
          && size == other.size
          && interpolation == other.interpolation
          && Arrays.equals(padColor, other.padColor);
    }

    @Override
    public int hashCode() {
      return Objects.hash(policy, size, interpolation) * 31 + Arrays.hashCode(padColor);
    }

    @Override
    public String toString() {
      return policy.label()
          + (policy == ResizePolicy.SHORTER_SIDE ? " " + size : "")
          + " "
          + interpolation.label()
          + (policy == ResizePolicy.LETTERBOX ? " pad " + Arrays.toString(padColor) : "");
    }
  }

  /** A card with the default {@link Resize#STRETCH} policy. */
  public ModelCard(
      int schemaVersion,
      String id,
      String description,
      String onnxFile,
      String onnxSha256,
      String inputName,
      Layout layout,
      int channels,
      int height,
      int width,
      float[] mean,
      float[] std,
      Background background,
      String outputName,
      int featureSize,
      List<String> baseClasses,
      float[] baseMean,
      Double trainingAccuracy,
      Map<String, Object> training) {
    this(
        schemaVersion, id, description, onnxFile, onnxSha256, inputName, layout, channels, height,
        width, mean, std, background, outputName, featureSize, baseClasses, baseMean,
        trainingAccuracy, training, Resize.STRETCH);
  }

  public ModelCard {
    if (schemaVersion != SCHEMA_VERSION) {
      throw invalid("schemaVersion", "expected " + SCHEMA_VERSION + ", found " + schemaVersion);
    }
    requireText("id", id);
    description = description == null ? "" : description;
    requireText("onnxFile", onnxFile);
    requireText("onnxSha256", onnxSha256);
    onnxSha256 = onnxSha256.toLowerCase(Locale.ROOT);
    if (!SHA256_HEX.matcher(onnxSha256).matches()) {
      throw invalid("onnxSha256", "expected 64 hex digits, found '" + onnxSha256 + "'");
    }
    requireText("inputName", inputName);
    requireText("outputName", outputName);
    if (layout == null) {
      throw invalid("layout", "expected NCHW or NHWC, found nothing");
    }
    if (background == null) {
      throw invalid("background", "expected black or white, found nothing");
    }
    if (channels != 1 && channels != 3) {
      throw invalid("channels", "expected 1 or 3, found " + channels);
    }
    if (height <= 0 || width <= 0) {
      throw invalid("height/width", "expected positive sizes, found " + height + "x" + width);
    }
    if ((long) channels * height * width > MAX_INPUT_ELEMENTS) {
      throw invalid(
          "height/width",
          "expected channels*height*width <= "
              + MAX_INPUT_ELEMENTS
              + ", found "
              + channels
              + "*"
              + height
              + "*"
              + width);
    }
    mean = copyFinite("mean", mean, channels);
    std = copyFinite("std", std, channels);
    for (int c = 0; c < channels; c++) {
      if (!(std[c] > 0f)) {
        throw invalid("std", "expected every value > 0, found " + Arrays.toString(std));
      }
    }
    if (featureSize <= 0) {
      throw invalid("featureSize", "expected a positive size, found " + featureSize);
    }
    baseClasses = baseClasses == null ? List.of() : List.copyOf(baseClasses);
    for (String name : baseClasses) {
      if (name.isBlank()) {
        throw invalid("baseClasses", "expected non-blank names, found " + baseClasses);
      }
    }
    if (baseMean != null) {
      baseMean = copyFinite("baseMean", baseMean, featureSize);
    }
    if (trainingAccuracy != null && !(trainingAccuracy >= 0.0 && trainingAccuracy <= 1.0)) {
      throw invalid("trainingAccuracy", "expected a value in [0, 1], found " + trainingAccuracy);
    }
    // LinkedHashMap rather than Map.copyOf: free-form JSON may hold nulls and its order matters.
    training =
        training == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(training));
    resize = resize == null ? Resize.STRETCH : resize;
    if (resize.policy() == ResizePolicy.SHORTER_SIDE && resize.size() < Math.max(height, width)) {
      throw invalid(
          "resize.size",
          "expected a shorter side >= the crop's larger side "
              + Math.max(height, width)
              + " (input "
              + height
              + "x"
              + width
              + "), found "
              + resize.size());
    }
    if (resize.policy() == ResizePolicy.LETTERBOX && resize.padColor.length == 0) {
      resize = new Resize(ResizePolicy.LETTERBOX, 0, resize.interpolation(), new int[channels]);
    }
    if (resize.policy() == ResizePolicy.LETTERBOX && resize.padColor.length != channels) {
      throw invalid(
          "resize.padColor",
          "expected "
              + channels
              + " values (one per channel), found "
              + Arrays.toString(resize.padColor));
    }
  }

  /**
   * Reads and validates a card from a JSON file.
   *
   * @throws EmbeddingException when the file cannot be read, is not valid JSON or the card is
   *     invalid
   */
  public static ModelCard load(Path cardJson) {
    return ModelCardReader.read(cardJson);
  }

  /**
   * Parses and validates a card from JSON text; {@code source} names it in error messages.
   *
   * @throws EmbeddingException when the text is not valid JSON or the card is invalid
   */
  public static ModelCard parse(String json, String source) {
    return ModelCardReader.parse(json, source);
  }

  /** Number of floats in one preprocessed image: channels x height x width. */
  public int inputElements() {
    return channels * height * width;
  }

  /** The input tensor shape for a batch of {@code batchSize} images, in this card's layout. */
  public long[] inputShape(int batchSize) {
    return layout == Layout.NCHW
        ? new long[] {batchSize, channels, height, width}
        : new long[] {batchSize, height, width, channels};
  }

  @Override
  public float[] mean() {
    return mean.clone();
  }

  @Override
  public float[] std() {
    return std.clone();
  }

  /** The mean base feature, or {@code null} when the card has none. */
  @Override
  public float[] baseMean() {
    return baseMean == null ? null : baseMean.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ModelCard other
        && schemaVersion == other.schemaVersion
        && channels == other.channels
        && height == other.height
        && width == other.width
        && featureSize == other.featureSize
        && id.equals(other.id)
        && description.equals(other.description)
        && onnxFile.equals(other.onnxFile)
        && onnxSha256.equals(other.onnxSha256)
        && inputName.equals(other.inputName)
        && layout == other.layout
        && Arrays.equals(mean, other.mean)
        && Arrays.equals(std, other.std)
        && background == other.background
        && outputName.equals(other.outputName)
        && baseClasses.equals(other.baseClasses)
        && Arrays.equals(baseMean, other.baseMean)
        && Objects.equals(trainingAccuracy, other.trainingAccuracy)
        && training.equals(other.training)
        && resize.equals(other.resize);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, onnxSha256, inputName, layout, channels, height, width, featureSize)
        + 31 * Arrays.hashCode(mean)
        + 37 * Arrays.hashCode(std);
  }

  @Override
  public String toString() {
    return "ModelCard[id="
        + id
        + ", input="
        + inputName
        + " "
        + layout
        + " "
        + channels
        + "x"
        + height
        + "x"
        + width
        + ", mean="
        + Arrays.toString(mean)
        + ", std="
        + Arrays.toString(std)
        + ", background="
        + background
        + ", resize="
        + resize
        + ", output="
        + outputName
        + " ["
        + featureSize
        + "], onnxFile="
        + onnxFile
        + ", onnxSha256="
        + onnxSha256
        + "]";
  }

  private static void requireText(String field, String value) {
    if (value == null || value.isBlank()) {
      throw invalid(
          field,
          "expected a non-blank string, found " + (value == null ? "nothing" : "'" + value + "'"));
    }
  }

  private static float[] copyFinite(String field, float[] values, int expectedLength) {
    if (values == null) {
      throw invalid(field, "expected " + expectedLength + " values, found nothing");
    }
    if (values.length != expectedLength) {
      throw invalid(
          field,
          "expected "
              + expectedLength
              + " values, found "
              + values.length
              + ": "
              + (values.length <= 8 ? Arrays.toString(values) : "[...]"));
    }
    for (float v : values) {
      if (!Float.isFinite(v)) {
        throw invalid(field, "expected finite values, found " + v);
      }
    }
    return values.clone();
  }

  private static EmbeddingException invalid(String field, String problem) {
    return new EmbeddingException("invalid model card: field '" + field + "': " + problem);
  }
}
