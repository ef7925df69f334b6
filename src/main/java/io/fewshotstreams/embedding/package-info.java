/**
 * Embedding stage: images in, feature vectors out.
 *
 * <p>Contract:
 *
 * <ul>
 *   <li>A backbone is an ONNX model plus a {@link io.fewshotstreams.embedding.ModelCard}; {@link
 *       io.fewshotstreams.embedding.Backbone} loads both (from files or the classpath, default
 *       {@code /backbone/model-card.json}) and refuses a model whose sha-256 differs from the card.
 *   <li>The card alone drives preprocessing ({@link
 *       io.fewshotstreams.embedding.ImagePreprocessor}): channels, size, mean/std, layout,
 *       background colour and resize policy (stretch, shorter-side then centre crop, letterbox,
 *       with PIL's filters). The EXIF orientation is applied first. Only PNG and JPEG (CMYK and
 *       YCCK included) are accepted; {@link
 *       io.fewshotstreams.embedding.ImageLimits} bound the encoded size and the declared pixel
 *       count, both checked before decoding.
 *   <li>Every refused image raises {@link io.fewshotstreams.embedding.InvalidImageException} with a
 *       {@link io.fewshotstreams.embedding.InvalidImageException.Reason}; no other exception
 *       escapes for bad image bytes. Set-up and runtime failures raise {@link
 *       io.fewshotstreams.embedding.EmbeddingException}.
 *   <li>{@link io.fewshotstreams.embedding.Embedder} returns the raw model output, {@code
 *       featureSize} floats per image; batches are split into chunks of at most {@code
 *       maxBatchSize} and give the same vectors as one call per image.
 *   <li>To dead-letter bad records one by one and still run the model in batches, decode each
 *       record with {@link io.fewshotstreams.embedding.ImagePreprocessor#decode} and pass the
 *       decoded images to {@link io.fewshotstreams.embedding.Embedder#embedImages}.
 *   <li>An embedder is safe for concurrent calls until it is closed; it checks its model against the
 *       card (names, shapes, one probe run) when it is opened, not on the first record.
 *   <li>ONNX Runtime is used only by {@link io.fewshotstreams.embedding.OnnxEmbedder}; Jackson only
 *       by the model-card reader. Other stages depend on the {@code Embedder} interface and never
 *       load native code.
 *   <li>{@link io.fewshotstreams.embedding.Device#AUTO} uses CUDA when the ONNX Runtime build and
 *       machine provide it and otherwise logs the reason and runs on CPU; {@link
 *       io.fewshotstreams.embedding.Device#CUDA} fails instead of falling back.
 * </ul>
 */
package io.fewshotstreams.embedding;
