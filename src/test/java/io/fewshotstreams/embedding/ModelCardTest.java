package io.fewshotstreams.embedding;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelCardTest {

  private static ModelCard rgbWith(String from, String to) {
    return ModelCard.parse(Fixtures.cardJson(Fixtures.RGB32).replace(from, to), "test card");
  }

  @Test
  void shouldParseEveryFieldOfTheCard() {
    ModelCard card = ModelCard.parse(Fixtures.cardJson(Fixtures.GRAY28), "gray28");

    assertThat(card.id()).isEqualTo("test-gray28-image-stats");
    assertThat(card.layout()).isEqualTo(ModelCard.Layout.NCHW);
    assertThat(card.channels()).isEqualTo(1);
    assertThat(card.height()).isEqualTo(28);
    assertThat(card.width()).isEqualTo(28);
    assertThat(card.mean()).containsExactly(0.5f);
    assertThat(card.std()).containsExactly(0.5f);
    assertThat(card.background()).isEqualTo(ModelCard.Background.BLACK);
    assertThat(card.inputName()).isEqualTo("image");
    assertThat(card.outputName()).isEqualTo("features");
    assertThat(card.featureSize()).isEqualTo(3);
    assertThat(card.baseClasses()).containsExactly("a", "b", "c");
    assertThat(card.baseMean()).containsExactly(0f, 1f, -1f);
    assertThat(card.trainingAccuracy()).isEqualTo(1.0);
    assertThat(card.training()).containsKey("command");
    assertThat(card.onnxSha256()).hasSize(64);
    assertThat(card.inputShape(5)).containsExactly(5, 1, 28, 28);
  }

  @Test
  void shouldReadNhwcLayoutAndWhiteBackground() {
    ModelCard card = ModelCard.parse(Fixtures.cardJson(Fixtures.RGB32), "rgb32");

    assertThat(card.layout()).isEqualTo(ModelCard.Layout.NHWC);
    assertThat(card.background()).isEqualTo(ModelCard.Background.WHITE);
    assertThat(card.inputShape(2)).containsExactly(2, 32, 32, 3);
    assertThat(card.baseMean()).as("absent in this card").isNull();
    assertThat(card.trainingAccuracy()).isNull();
  }

  @Test
  void shouldLoadCardFromFileAndIgnoreUnknownFields(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("card.json");
    Files.writeString(
        file,
        Fixtures.cardJson(Fixtures.RGB32).replaceFirst("\\{", "{\n  \"futureField\": [1, 2],"));

    assertThat(ModelCard.load(file))
        .isEqualTo(ModelCard.parse(Fixtures.cardJson(Fixtures.RGB32), "x"));
  }

  @Test
  void shouldNotLetCallersChangeTheCardsArrays() {
    ModelCard card = ModelCard.parse(Fixtures.cardJson(Fixtures.RGB32), "rgb32");

    card.mean()[0] = 99f;

    assertThat(card.mean()[0]).isEqualTo(0.5f);
  }

  @Test
  void shouldRefuseChannelsOtherThanOneOrThree() {
    assertThatThrownBy(() -> rgbWith("\"channels\": 3", "\"channels\": 2"))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("'channels'")
        .hasMessageContaining("expected 1 or 3, found 2")
        .hasMessageContaining("test card");
  }

  @Test
  void shouldRefuseMeanWithWrongLength() {
    assertThatThrownBy(() -> rgbWith("\"channels\": 3", "\"channels\": 1"))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("'mean'")
        .hasMessageContaining("expected 1 values, found 3");
  }

  @Test
  void shouldRefuseNonPositiveStd() {
    assertThatThrownBy(() -> rgbWith("2.0\n  ]", "0.0\n  ]"))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("'std'")
        .hasMessageContaining("expected every value > 0, found [0.25, 0.5, 0.0]");
  }

  @Test
  void shouldRefuseUnknownLayout() {
    assertThatThrownBy(() -> rgbWith("\"NHWC\"", "\"NCWH\""))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("'layout'")
        .hasMessageContaining("expected one of [NCHW, NHWC], found \"NCWH\"");
  }

  @Test
  void shouldRefuseNonPositiveSize() {
    assertThatThrownBy(() -> rgbWith("\"height\": 32", "\"height\": 0"))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("expected positive sizes, found 0x32");
  }

  @Test
  void shouldRefuseBaseMeanOfWrongLength() {
    assertThatThrownBy(
            () ->
                ModelCard.parse(
                    Fixtures.cardJson(Fixtures.GRAY28)
                        .replace("[\n    0.0,\n    1.0,\n    -1.0\n  ]", "[0.0]"),
                    "gray card"))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("'baseMean'")
        .hasMessageContaining("expected 3 values, found 1");
  }

  @Test
  void shouldRefuseMissingAndMistypedFields() {
    assertThatThrownBy(() -> rgbWith("\"inputName\": \"pixels\",", ""))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("'inputName'")
        .hasMessageContaining("expected a string, found nothing");
    assertThatThrownBy(() -> rgbWith("\"width\": 32", "\"width\": \"32\""))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("'width'")
        .hasMessageContaining("expected an integer, found \"32\"");
  }

  @Test
  void shouldRefuseMalformedDigestAndUnknownSchemaVersion() {
    assertThatThrownBy(() -> rgbWith("3719288b", "xyz"))
        .hasMessageContaining("'onnxSha256'")
        .hasMessageContaining("expected 64 hex digits");
    assertThatThrownBy(() -> rgbWith("\"schemaVersion\": 1", "\"schemaVersion\": 2"))
        .hasMessageContaining("'schemaVersion'")
        .hasMessageContaining("expected 1, found 2");
  }

  @Test
  void shouldReportInvalidJsonWithItsSource() {
    assertThatThrownBy(() -> ModelCard.parse("{\"id\": ", "broken.json"))
        .isInstanceOf(EmbeddingException.class)
        .hasMessageContaining("broken.json is not valid JSON");
  }
}
