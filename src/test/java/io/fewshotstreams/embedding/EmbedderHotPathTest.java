package io.fewshotstreams.embedding;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A structural guard, not a timing: the embedder's input tensor lives in a direct buffer per
 * thread that is allocated once and reused, so a change that allocates native memory per call
 * again fails here.
 */
class EmbedderHotPathTest {

  @Test
  void shouldReuseOneDirectInputBufferAcrossCalls() {
    try (OnnxEmbedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      BufferedImage image = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
      // The largest chunk first (32, the query path's default batch): later calls fit in it.
      embedder.embedImages(Collections.nCopies(32, image));
      long allocated = embedder.inputBufferAllocations();
      for (int i = 0; i < 100; i++) {
        embedder.embedImages(List.of(image));
        embedder.embedImages(Collections.nCopies(1 + i % 32, image));
        embedder.embedPreprocessed(new float[embedder.card().inputElements()], 1);
      }
      assertThat(embedder.inputBufferAllocations())
          .as("300 calls of at most 32 images after one of 32")
          .isEqualTo(allocated);
    }
  }

  @Test
  void shouldGiveTheSameFeaturesFromTheReusedBufferAsFromAFreshEmbedder() {
    BufferedImage bright = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
    bright.getRaster().setSample(14, 14, 0, 255);
    BufferedImage dark = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
    try (OnnxEmbedder embedder = OnnxEmbedder.open(Backbone.bundled(), EmbedderOptions.DEFAULT)) {
      float[] first = embedder.embedImages(List.of(bright))[0];
      embedder.embedImages(Collections.nCopies(8, dark));
      // What the previous, larger call left in the buffer must not leak into this one.
      assertThat(embedder.embedImages(List.of(bright))[0]).containsExactly(first);
    }
  }
}
