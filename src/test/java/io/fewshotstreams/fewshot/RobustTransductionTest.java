package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

class RobustTransductionTest {

  /** Unit vectors near {@code centre}; noise 0.1 per coordinate in 32-d, so clusters overlap little. */
  private static float[][] around(float[] centre, int count, Random random) {
    float[][] out = new float[count][];
    for (int i = 0; i < count; i++) {
      float[] v = new float[centre.length];
      for (int k = 0; k < v.length; k++) {
        v[k] = centre[k] + (float) (0.1 * random.nextGaussian());
      }
      out[i] = Vectors.normalize(v);
    }
    return out;
  }

  private static float[] axis(int k) {
    float[] v = new float[32];
    v[k] = 1;
    return v;
  }

  @Test
  void shouldAcceptImagesOfRegisteredClassesAndRejectThoseOfAnotherClass() {
    Random random = new Random(5);
    float[][] a = around(axis(0), 5, random);
    float[][] b = around(axis(1), 5, random);
    float[][] support = new float[10][];
    int[] classIndex = new int[10];
    for (int i = 0; i < 5; i++) {
      support[i] = a[i];
      support[5 + i] = b[i];
      classIndex[5 + i] = 1;
    }
    SupportSet set = new SupportSet(java.util.List.of("a", "b"), support, classIndex);
    // Pool: 20 of a, 4 of b (imbalanced), 10 of an unregistered class on axis 2.
    float[][] knownA = around(axis(0), 20, random);
    float[][] knownB = around(axis(1), 4, random);
    float[][] outliers = around(axis(2), 10, random);
    float[][] pool = new float[34][];
    System.arraycopy(knownA, 0, pool, 0, 20);
    System.arraycopy(knownB, 0, pool, 20, 4);
    System.arraycopy(outliers, 0, pool, 24, 10);

    OpenSetClassifier fitted = new RobustTransduction().fitOpenSet(set, pool);

    int accepted = 0;
    int right = 0;
    for (int j = 0; j < 24; j++) {
      accepted += fitted.accepts(pool[j]) ? 1 : 0;
      right += fitted.classifier().predict(pool[j]) == (j < 20 ? 0 : 1) ? 1 : 0;
    }
    int rejected = 0;
    for (int j = 24; j < 34; j++) {
      rejected += fitted.accepts(pool[j]) ? 0 : 1;
    }
    // Own-class cosines are about 0.85 and cosines to another axis about 0, so a threshold read
    // off the support's leave-one-out cosines (5% of them below it) accepts nearly all knowns
    // (22 of 24 allows for the 5%) and no outlier; the imbalance must not move b's queries to a.
    assertThat(accepted).as("registered-class images accepted").isGreaterThanOrEqualTo(22);
    assertThat(rejected).as("unregistered images rejected").isEqualTo(10);
    assertThat(right).as("the rare class b is not swallowed by the frequent class a").isEqualTo(24);
  }

  @Test
  void shouldKeepTheFallbackWhenTheTransductiveFitChangesMoreThanAllowed() {
    // Overlapping classes: the transductive fit moves some pool images to other classes.
    TestData.Episode e = TestData.clustered(3, 5, 5, 15, 64, 0.3, 0.8);
    CosineClassifier transductive = Methods.auto().fit(e.support(), e.queries());
    CosineClassifier inductive = Methods.inductive().fit(e.support(), e.queries());
    int changed = 0;
    for (float[] x : e.queries()) {
      changed += transductive.predict(x) == inductive.predict(x) ? 0 : 1;
    }
    assertThat(changed).as("pool images the transductive fit moves").isPositive();
    RobustConfig uniform = RobustConfig.defaults().with("passedJointCount", 0);
    RobustConfig strict = uniform.with("maxChange", 0);
    RobustTransduction method = new RobustTransduction(strict);
    assertThat(method.gate(e.support(), e.queries()).branch()).isEqualTo(Methods.TRANSDUCTIVE);

    // The experimental check (maxChange < 1): a fit that moves more than the allowed share of
    // the pool is replaced by the inductive one (catches the check being skipped).
    assertThat(method.fitOpenSet(e.support(), e.queries()).classifier().weights())
        .isDeepEqualTo(inductive.weights());
    assertThat(method.fitOpenSet(e.support(), e.queries()).fit())
        .as("the fit reported is the one kept")
        .isEqualTo(Methods.INDUCTIVE);
    assertThat(
            new RobustTransduction(uniform).fitOpenSet(e.support(), e.queries()).classifier()
                .weights())
        .isDeepEqualTo(transductive.weights());
  }


  @Test
  void shouldGiveTheSameClassifierForTheSameInput() {
    TestData.Episode e = TestData.clustered(3, 5, 5, 15, 64, 0.5, 0.6);
    RobustTransduction method = new RobustTransduction();

    OpenSetClassifier first = method.fitOpenSet(e.support(), e.queries());
    OpenSetClassifier second = method.fitOpenSet(e.support(), e.queries());

    assertThat(second.classifier()).isEqualTo(first.classifier());
    assertThat(second.threshold()).isEqualTo(first.threshold());
  }

  /** {@code shots} support examples per class of clusters on the first {@code classes} axes. */
  private static SupportSet axes(int classes, int shots, Random random) {
    float[][] support = new float[classes * shots][];
    int[] classIndex = new int[classes * shots];
    java.util.List<String> labels = new java.util.ArrayList<>();
    for (int c = 0; c < classes; c++) {
      labels.add("class-" + c);
      float[][] examples = around(axis(c), shots, random);
      for (int i = 0; i < shots; i++) {
        support[c * shots + i] = examples[i];
        classIndex[c * shots + i] = c;
      }
    }
    return new SupportSet(labels, support, classIndex);
  }

  /** {@code counts[c]} pool images of class c, then {@code outliers} on the axis after them. */
  private static float[][] pool(int[] counts, int outliers, Random random) {
    java.util.List<float[]> out = new java.util.ArrayList<>();
    for (int c = 0; c < counts.length; c++) {
      out.addAll(java.util.Arrays.asList(around(axis(c), counts[c], random)));
    }
    out.addAll(java.util.Arrays.asList(around(axis(counts.length), outliers, random)));
    return out.toArray(new float[0][]);
  }

  @Test
  void shouldFitTimsObjectiveOnABalancedClosedPool() {
    Random random = new Random(11);
    SupportSet set = axes(3, 5, random);
    float[][] pool = pool(new int[] {15, 15, 15}, 0, random);
    RobustTransduction method = new RobustTransduction();

    RobustTransduction.Gate gate = method.gate(set, pool);
    OpenSetClassifier fitted = method.fitOpenSet(set, pool);

    // A pool that fits TIM's assumptions gets TIM's objective (catches false alarms of either
    // test, or a changed objective); only the temperature differs. From two shots its marginal's
    // target follows the fit, shrunk by passedJointCount pseudo-images per class; at 0 the fit
    // is exactly auto's.
    assertThat(gate.imbalanced()).as("15/15/15 tested as imbalanced").isFalse();
    assertThat(gate.open()).as("a pool of registered images tested as open").isFalse();
    assertThat(gate.branch()).isEqualTo(Methods.TRANSDUCTIVE);
    float[][] auto = Methods.auto().fit(set, pool).weights();
    assertThat(
            new RobustTransduction(RobustConfig.defaults().with("passedJointCount", 0))
                .fitOpenSet(set, pool).classifier().weights())
        .isDeepEqualTo(auto);
    CosineClassifier followed =
        FineTuner.fineTune(
                Methods.prototypeClassifier(set, FineTuneConfig.DEFAULT_SCALE), set, pool, null,
                null, 1f, RobustConfig.defaults().passedJointCount(),
                FineTuneConfig.transductiveDefaults())
            .classifier();
    assertThat(fitted.classifier().weights()).isDeepEqualTo(followed.weights());
    assertThat(java.util.Arrays.deepEquals(followed.weights(), auto))
        .as("the joint target changed nothing")
        .isFalse();
  }

  @Test
  void shouldFitInductivelyWhenThePoolIsSkewed() {
    Random random = new Random(12);
    SupportSet set = axes(3, 5, random);
    float[][] pool = pool(new int[] {40, 3, 2}, 0, random);
    RobustTransduction method = new RobustTransduction();

    RobustTransduction.Gate gate = method.gate(set, pool);
    OpenSetClassifier fitted = method.fitOpenSet(set, pool);

    // 40/3/2 of well-separated classes is far beyond the chi-square quantile at inductiveZ (and
    // at priorZ); TIM's uniform marginal would pull the frequent class's images into the rare
    // ones.
    assertThat(gate.imbalanced()).as("40/3/2 tested as imbalanced").isTrue();
    assertThat(gate.branch()).isEqualTo(Methods.INDUCTIVE);
    assertThat(fitted.classifier().weights())
        .isDeepEqualTo(Methods.inductive().fit(set, pool).weights());
    assertThat(fitted.fit()).isEqualTo(Methods.INDUCTIVE);
  }

  @Test
  void shouldFitAlphaTimWhenThePoolIsSkewedAndThatFallbackIsChosen() {
    Random random = new Random(12);
    SupportSet set = axes(3, 5, random);
    float[][] pool = pool(new int[] {40, 3, 2}, 0, random);
    RobustTransduction shannon = new RobustTransduction(RobustConfig.defaults().with("fallback", 2)
        .with("fallbackAlpha", 1));
    RobustTransduction tsallis = new RobustTransduction(RobustConfig.defaults().with("fallback", 2)
        .with("fallbackAlpha", 5));

    // The experimental alpha-TIM branch (fallback 2): a flagged pool gets the Tsallis fit; at
    // alpha 1 it is the Shannon objective, so alpha must reach the fit (catches an ignored alpha).
    assertThat(tsallis.gate(set, pool).branch()).isEqualTo(RobustTransduction.ALPHA);
    assertThat(
            java.util.Arrays.deepEquals(
                tsallis.fitOpenSet(set, pool).classifier().weights(),
                shannon.fitOpenSet(set, pool).classifier().weights()))
        .as("the alpha 5 fit equals the alpha 1 fit")
        .isFalse();
  }

  @Test
  void shouldFitTowardsThePoolsOwnMarginalWhenTheJointFallbackIsChosen() {
    Random random = new Random(12);
    SupportSet set = axes(3, 5, random);
    float[][] pool = pool(new int[] {40, 3, 2}, 0, random);
    RobustTransduction joint = new RobustTransduction(RobustConfig.defaults().with("fallback", 4));
    RobustTransduction.Gate gate = joint.gate(set, pool);
    CosineClassifier prototypes = Methods.prototypeClassifier(set, FineTuneConfig.DEFAULT_SCALE);
    FineTuneConfig cfg = RobustConfig.defaults().fineTuneConfig();
    CosineClassifier tim =
        FineTuner.fineTune(prototypes, set, pool, gate.weights(), null, cfg).classifier();
    CosineClassifier followed = jointFit(set, pool, gate.weights());

    // The joint branch (fallback 4 for every flagged pool; 3, the default, at one shot and in the
    // band from two shots) fits with the marginal's target following the fit's own mean
    // prediction: the frequent class keeps more of the pool than under TIM's uniform target,
    // which pulls its images towards the rare classes. Equal shares mean the joint target never
    // reached the objective.
    assertThat(gate.branch()).isEqualTo(RobustTransduction.JOINT);
    assertThat(joint.fitOpenSet(set, pool).classifier().weights())
        .isDeepEqualTo(followed.weights());
    double followedShare = meanProbability(followed, pool, 0);
    double timShare = meanProbability(tim, pool, 0);
    assertThat(followedShare)
        .as("the frequent class's mean probability, joint target against TIM's %.4f", timShare)
        .isGreaterThan(timShare + 0.02);
  }

  @Test
  void shouldRefuseJointSettingsOutOfRangeAndKeepAlphaTimWorking() {
    RobustConfig defaults = RobustConfig.defaults();
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> defaults.with("fallback", 5))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("fallback");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> defaults.with("jointCount", 0))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("jointCount");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> defaults.with("passedJointCount", -1))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("passedJointCount");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> defaults.with("jointZ", 4))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("jointZ <= inductiveZ");
    // Checked together, a pair that bounds each other can be raised in one step.
    RobustConfig raised = defaults.with(java.util.Map.of("jointZ", 4f, "inductiveZ", 5f));
    assertThat(raised.jointZ()).isEqualTo(4f);
    assertThat(raised.inductiveZ()).isEqualTo(5f);
    Random random = new Random(11);
    SupportSet set = axes(3, 5, random);
    float[][] pool = pool(new int[] {15, 15, 15}, 0, random);
    CosineClassifier prototypes = Methods.prototypeClassifier(set, FineTuneConfig.DEFAULT_SCALE);
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                FineTuner.fineTune(
                    prototypes, set, pool, null, null, 1f, -1f,
                    FineTuneConfig.transductiveDefaults()))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("jointPriorCount");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                FineTuner.fineTune(
                    prototypes, set, pool, null, new float[] {0.5f, 0.25f, 0.25f}, 1f, 1f,
                    FineTuneConfig.transductiveDefaults()))
        .isInstanceOf(InvalidInputException.class)
        .hasMessageContaining("fixed prior");
    // alpha-TIM has no marginal target: a pool that passed is fitted with Tsallis entropies,
    // and the joint target's default does not stand in its way.
    RobustTransduction tsallis = new RobustTransduction(defaults.with("alpha", 2));
    assertThat(tsallis.gate(set, pool).branch()).isEqualTo(Methods.TRANSDUCTIVE);
    assertThat(tsallis.fitOpenSet(set, pool).classifier().weights())
        .isDeepEqualTo(
            FineTuner.fineTune(
                    prototypes, set, pool, null, null, 2f, 0f, FineTuneConfig.transductiveDefaults())
                .classifier()
                .weights());
  }

  /** The joint fit with the default settings: the fit the {@code joint} branch must return. */
  private static CosineClassifier jointFit(SupportSet set, float[][] pool, float[] weights) {
    return FineTuner.fineTune(
            Methods.prototypeClassifier(set, FineTuneConfig.DEFAULT_SCALE), set, pool, weights,
            null, 1f, RobustConfig.defaults().jointCount(),
            RobustConfig.defaults().fineTuneConfig())
        .classifier();
  }

  private static double meanProbability(CosineClassifier classifier, float[][] pool, int c) {
    double sum = 0;
    for (float[] x : pool) {
      sum += classifier.probabilities(x)[c];
    }
    return sum / pool.length;
  }

  @Test
  void shouldNotFitOnAPoolHoldingUnregisteredImages() {
    Random random = new Random(13);
    SupportSet set = axes(3, 5, random);
    // 20 of 65 images on a fourth axis: cosine about 0 to every prototype, all below threshold.
    float[][] pool = pool(new int[] {15, 15, 15}, 20, random);

    RobustTransduction.Gate gate = new RobustTransduction().gate(set, pool);

    assertThat(gate.open()).as("20 of 65 below the threshold tested as open").isTrue();
    assertThat(gate.branch()).isEqualTo(Methods.INDUCTIVE);
  }

  @Test
  void shouldFitJointlyAtOneShotWhenThePoolFailsATest() {
    Random random = new Random(14);
    SupportSet set = axes(3, 1, random);
    float[][] pool = pool(new int[] {40, 3, 2}, 0, random);

    RobustTransduction.Gate gate = new RobustTransduction().gate(set, pool);
    OpenSetClassifier fitted = new RobustTransduction().fitOpenSet(set, pool);

    // Inductive fine-tuning of one example per class changes nothing but the confidence, so a
    // flagged one-shot pool gets the joint fit, at its own one-shot temperature; with fallback 0
    // it keeps the prototypes.
    assertThat(gate.branch()).isEqualTo(RobustTransduction.JOINT);
    CosineClassifier followed = jointFit(set, pool, gate.weights());
    assertThat(fitted.classifier().weights()).isDeepEqualTo(followed.weights());
    assertThat(fitted.classifier().scale()).isEqualTo(RobustConfig.defaults().oneShotJointScale());
    CosineClassifier tim =
        FineTuner.fineTune(
                Methods.prototypeClassifier(set, FineTuneConfig.DEFAULT_SCALE), set, pool,
                gate.weights(), null, RobustConfig.defaults().fineTuneConfig())
            .classifier();
    assertThat(meanProbability(followed, pool, 0))
        .as("the frequent class's mean probability, joint target against TIM's %.4f",
            meanProbability(tim, pool, 0))
        .isGreaterThan(meanProbability(tim, pool, 0) + 0.02);

    RobustTransduction before = new RobustTransduction(RobustConfig.defaults().with("fallback", 0));
    assertThat(before.gate(set, pool).branch()).isEqualTo(Methods.PROTOTYPES);
    OpenSetClassifier kept = before.fitOpenSet(set, pool);
    assertThat(kept.classifier().weights()).isDeepEqualTo(set.prototypes());
    assertThat(kept.classifier().scale()).isEqualTo(RobustConfig.defaults().oneShotPrototypeScale());
  }

  @Test
  void shouldFlagTheOpenSetOnlyBeyondTheBinomialQuantile() {
    RobustTransduction method = new RobustTransduction(RobustConfig.defaults().with("openZ", 3));
    // A fixed threshold (one shot, no leave-one-out rows): 75 images, 5% expected below: mean
    // 3.75, sd sqrt(75 * 0.05 * 0.95) = 1.887, so 3 sd above the mean is 9.41: 9 below is
    // chance, 10 is not.
    assertThat(method.openShown(9, 75, 0)).isFalse();
    assertThat(method.openShown(10, 75, 0)).isTrue();
    assertThat(method.openShown(0, 0, 0)).as("an empty pool").isFalse();
    // A threshold read off 25 leave-one-out scores is a sample quantile itself: the variance
    // grows by 1 + 75 / 25, the sd doubles to 3.775, and 3 sd above the mean is 15.07. A plain
    // binomial test would call 10 to 15 open (catches the support's own sampling error ignored).
    assertThat(method.openShown(15, 75, 25)).isFalse();
    assertThat(method.openShown(16, 75, 25)).isTrue();
  }

  @Test
  void shouldFitJointlyFromTwoShotsWhenThePoolIsMildlySkewed() {
    Random random = new Random(15);
    SupportSet set = axes(3, 5, random);
    // 24/14/7 of well-separated classes: twice the log-likelihood ratio is about 9, between the
    // chi-square quantiles (2 degrees of freedom) at jointZ 1 (3.6) and inductiveZ 3 (13.5).
    float[][] pool = pool(new int[] {24, 14, 7}, 0, random);
    RobustTransduction method = new RobustTransduction();

    RobustTransduction.Gate gate = method.gate(set, pool);

    // Between the two quantiles a pool gets the joint fit, whose target follows the pool's own
    // marginal; the inductive fit is kept for pools beyond inductiveZ (40/3/2 above). With the
    // two quantiles at priorZ's 2, the band is empty and the pool gets the inductive fit, as
    // before the band existed (catches the band ignored, or its ends swapped).
    assertThat(gate.open()).isFalse();
    assertThat(gate.branch()).isEqualTo(RobustTransduction.JOINT);
    assertThat(method.fitOpenSet(set, pool).fit()).as("the fit the classifier reports").isEqualTo(
        RobustTransduction.JOINT);
    CosineClassifier followed = jointFit(set, pool, gate.weights());
    assertThat(method.fitOpenSet(set, pool).classifier().weights())
        .isDeepEqualTo(followed.weights());
    RobustTransduction noBand =
        new RobustTransduction(RobustConfig.defaults().with("jointZ", 2).with("inductiveZ", 2));
    assertThat(noBand.gate(set, pool).branch()).isEqualTo(Methods.INDUCTIVE);
    RobustTransduction widerPass =
        new RobustTransduction(RobustConfig.defaults().with("jointZ", 3));
    assertThat(widerPass.gate(set, pool).branch()).isEqualTo(Methods.TRANSDUCTIVE);
  }

  @Test
  void shouldAnswerAtTheLeaveOneOutTemperatureShrunkTowardsThePrior() {
    Random random = new Random(12);
    SupportSet set = axes(3, 5, random);
    float[][] pool = pool(new int[] {40, 3, 2}, 0, random);
    RobustConfig defaults = RobustConfig.defaults();
    float loo =
        SupportStatistics.fitTemperature(
            SupportStatistics.leaveOneOutCosines(set), defaults.minScale(), defaults.maxScale());
    double expected =
        Math.exp(
            (15 * Math.log(loo) + defaults.temperaturePriorWeight()
                    * Math.log(defaults.temperaturePrior()))
                / (15 + defaults.temperaturePriorWeight()));

    RobustTransduction method = new RobustTransduction();
    RobustTransduction unshrunk =
        new RobustTransduction(defaults.with("temperaturePriorWeight", 0));

    // Well-separated clusters give a leave-one-out temperature far above the prior's 8.
    assertThat(loo).isGreaterThan(20f);
    assertThat(method.gate(set, pool).branch()).isEqualTo(Methods.INDUCTIVE);
    assertThat((double) method.fitOpenSet(set, pool).classifier().scale())
        .isCloseTo(expected, org.assertj.core.api.Assertions.within(1e-3));
    assertThat(unshrunk.fitOpenSet(set, pool).classifier().scale()).isEqualTo(loo);
    // Only the answer's temperature moves: the gate tests at scaleFactor times the fitted one.
    RobustTransduction.Gate gate = method.gate(set, pool);
    assertThat((double) gate.temperature())
        .isCloseTo(expected, org.assertj.core.api.Assertions.within(1e-3));
    assertThat(gate.priorTemperature()).isEqualTo(defaults.scaleFactor() * loo);
    assertThat(gate.priorTemperature()).isEqualTo(unshrunk.gate(set, pool).priorTemperature());
    assertThat(method.fitOpenSet(set, pool).classifier().weights())
        .isDeepEqualTo(unshrunk.fitOpenSet(set, pool).classifier().weights());
  }
}
