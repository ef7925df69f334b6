package io.fewshotstreams.streaming;

import static org.assertj.core.api.Assertions.assertThat;

import io.fewshotstreams.dataset.SampleImage;
import io.fewshotstreams.dataset.SampleImages;
import io.fewshotstreams.embedding.Embedder;
import io.fewshotstreams.evaluation.Summary;
import io.fewshotstreams.events.EventType;
import io.fewshotstreams.events.ModelSnapshot;
import io.fewshotstreams.events.Prediction;
import io.fewshotstreams.fewshot.CosineClassifier;
import io.fewshotstreams.fewshot.FeatureTransform;
import io.fewshotstreams.fewshot.Methods;
import io.fewshotstreams.fewshot.SupportSet;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The acceptance scenario against any broker: register the five novel classes of the
 * bundled samples (5 shots each) through the support topic, stream the other 275 images as
 * queries, and compare the predictions read from the predictions topic with the same classifier
 * computed offline on the same images.
 */
final class AccuracyScenario {
  static final String TASK = "novel-fashion";
  static final int SHOTS = 5;

  private AccuracyScenario() {}

  static void run(String bootstrap, Embedder embedder, Path stateDir) {
    SampleImages.Split split = SampleImages.split(SHOTS);
    List<SampleImage> support = split.support();
    List<SampleImage> queries = split.queries();

    // Offline: the prototype classifier on the same images, as `evaluate` computes it.
    FeatureTransform transform = FeatureTransform.none();
    List<String> supportLabels = support.stream().map(SampleImage::label).toList();
    float[][] supportFeatures =
        embedder.embedBatch(support.stream().map(SampleImage::png).toList());
    for (int i = 0; i < supportFeatures.length; i++) {
      supportFeatures[i] = transform.apply(supportFeatures[i]);
    }
    CosineClassifier offline =
        Methods.prototypes().fit(SupportSet.of(supportLabels, supportFeatures), new float[0][]);
    Map<String, String> offlineLabel = new HashMap<>();
    int offlineCorrect = 0;
    for (SampleImage q : queries) {
      String label = offline.predictLabel(transform.apply(embedder.embed(q.png())));
      offlineLabel.put(q.name(), label);
      offlineCorrect += label.equals(q.label()) ? 1 : 0;
    }

    // Online: through the topics. Prototypes only, so both sides use the same classifier.
    try (LiveService live =
        new LiveService(
            bootstrap,
            embedder,
            stateDir,
            Map.of(FewShotConfig.FINETUNE_METHOD_CONFIG, Methods.PROTOTYPES))) {
      for (SampleImage s : support) {
        live.addImage(TASK, s.label(), s.name(), s.png());
      }
      live.await(
          live.config.modelsTopic(),
          v -> live.codec.readSnapshot(v).supportExamples() == support.size(),
          1,
          Duration.ofSeconds(60));
      for (SampleImage q : queries) {
        live.queryImage(TASK, q.name(), q.png());
      }
      List<byte[]> answers =
          live.await(live.config.predictionsTopic(), v -> true, queries.size(), Duration.ofSeconds(120));
      Map<String, String> truth = new HashMap<>();
      queries.forEach(q -> truth.put(q.name(), q.label()));
      int onlineCorrect = 0;
      int agree = 0;
      for (byte[] answer : answers) {
        assertThat(live.codec.violations(EventType.PREDICTION, answer)).isEmpty();
        Prediction p = live.codec.readPrediction(answer);
        assertThat(p.method()).isEqualTo(ModelSnapshot.PROTOTYPES);
        onlineCorrect += p.label().equals(truth.get(p.queryId())) ? 1 : 0;
        agree += p.label().equals(offlineLabel.get(p.queryId())) ? 1 : 0;
      }
      double[] interval = Summary.wilsonInterval(offlineCorrect, queries.size());
      System.out.printf(
          "novel classes, %d-shot, %d queries: online accuracy %.4f, offline %.4f"
              + " (95%% interval %.4f to %.4f), %d of %d labels agree%n",
          SHOTS,
          queries.size(),
          (double) onlineCorrect / queries.size(),
          (double) offlineCorrect / queries.size(),
          interval[0],
          interval[1],
          agree,
          queries.size());
      // Batched and single ONNX calls differ by ~1e-6, which can flip a near-tie or two.
      assertThat(agree).isGreaterThanOrEqualTo(queries.size() - 2);
      assertThat((double) onlineCorrect / queries.size()).isBetween(interval[0], interval[1]);
    }
  }
}
