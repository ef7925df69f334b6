package io.fewshotstreams.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Backbone;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.embedding.EmbedderOptions;
import io.fewshotstreams.embedding.OnnxEmbedder;
import java.util.List;
import org.junit.jupiter.api.Test;

class EmbeddingBenchTest {

  @Test
  void shouldPrepareTheTensorTheEmbedderWouldMakeFromTheSameImages() {
    List<byte[]> images = SampleImages.load().stream().limit(3).map(SampleImage::png).toList();
    try (Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      float[][] fromTensor =
          embedder.embedPreprocessed(EmbeddingBench.tensor(embedder, images), images.size());
      assertThat(fromTensor).isDeepEqualTo(embedder.embedBatch(images));
    }
  }

  @Test
  void shouldReportBothStagesAndTheirRatioFromTheSameRepeats() {
    List<byte[]> images = SampleImages.load().stream().limit(5).map(SampleImage::png).toList();
    try (Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      // 8 images per repeat at batch 4: two calls per stage, images cycled from the 5 given.
      EmbeddingBench.Row r = EmbeddingBench.run(embedder, images, 4, 2, 1, 8);
      assertThat(r.imagesPerRepeat()).isEqualTo(8);
      assertThat(r.onnxImagesPerSecond()).isPositive();
      assertThat(r.pipelineImagesPerSecond()).isPositive();
      assertThat(r.ratio()).isEqualTo(r.pipelineImagesPerSecond() / r.onnxImagesPerSecond());
    }
  }

  @Test
  void shouldMakeAPhotoOfTheAskedSizeAndSplitItsTime() {
    // 0.3 MP at 4:3 is 632x474 (sqrt(0.3e6 * 4 / 3) = 632.5, rounded); decodable JPEG.
    byte[] jpeg = EmbeddingBench.syntheticJpeg(632, 474, 1);
    try (Embedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      assertThat(embedder.preprocessor().decode(jpeg).getWidth()).isEqualTo(632);
      EmbeddingBench.PhotoRow r = EmbeddingBench.photo(embedder, 0.3, 2, 1, 0);
      assertThat(r.width()).isEqualTo(632);
      assertThat(r.height()).isEqualTo(474);
      assertThat(r.decodeMillis()).isPositive();
      assertThat(r.preprocessMillis()).isPositive();
      assertThat(r.share())
          .isEqualTo(
              (r.decodeMillis() + r.preprocessMillis())
                  / (r.decodeMillis() + r.preprocessMillis() + r.onnxMillisPerImage()));
    }
  }
}
