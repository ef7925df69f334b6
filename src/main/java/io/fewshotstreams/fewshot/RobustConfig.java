package io.fewshotstreams.fewshot;

import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Settings of {@link RobustTransduction}.
 *
 * @param steps Adam steps of the fine-tuning, >= 0 (0 keeps the prototypes)
 * @param entropyWeight weight of the inlier-weighted query entropy, >= 0
 * @param marginalWeight weight of {@code KL(pbar || pi)}, the pull of the pool's mean prediction
 *     towards the estimated class marginal {@code pi}, >= 0
 * @param priorIterations EM rounds estimating {@code pi} from the prototypes' predictions, >= 0
 *     (0 keeps it uniform, which makes the marginal term TIM's)
 * @param priorCount pseudo-count per class added to the EM estimate of {@code pi}, > 0; larger
 *     keeps it nearer uniform
 * @param priorZ the pool tests as imbalanced when its likelihood ratio of the estimate against
 *     the uniform marginal exceeds the chi-square quantile (K - 1 degrees of freedom) at this
 *     normal deviate, >= 0; 1.645 is the 5% level, 0 flags every pool. It decides the branch at
 *     one shot, and from two shots for every {@code fallback} but 3 ({@code jointZ} and {@code
 *     inductiveZ} do there)
 * @param inlierSharpness slope {@code k} of the latent inlier weight {@code sigmoid(k (score -
 *     threshold))} of a pool image, >= 0; 0 weighs every pool image alike
 * @param acceptShare share of registered-class images the open-set threshold accepts, in (0, 1]
 * @param oneShotThreshold open-set threshold used when no class has two support examples (the
 *     support then says nothing about within-class scores)
 * @param oneShotScale softmax temperature of the returned classifier when no class has two support
 *     examples, > 0
 * @param oneShotPriorScale softmax temperature of the predictions the marginal is estimated from
 *     when no class has two support examples, > 0 (with two or more, {@code scaleFactor} times
 *     the fitted leave-one-out one)
 * @param scaleFactor factor on the (shrunk) leave-one-out temperature after the transductive fit,
 *     and on the fitted one for the gate's predictions, > 0: the fine-tuned centres sit
 *     nearer their images than the leave-one-out prototypes
 * @param minScale lower end of the leave-one-out temperature search, > 0
 * @param maxScale upper end of the leave-one-out temperature search, > minScale
 * @param openZ the pool is taken to hold unregistered images when the share of its images below
 *     the threshold exceeds the share expected of registered ones ({@code 1 - acceptShare}) by
 *     this many standard deviations (one-sided), >= 0: the binomial's at one shot, widened by
 *     {@code 1 + n / rows} in variance when the threshold was read off {@code rows} leave-one-out
 *     scores (see {@code RobustTransduction.openShown}); with few rows the test then fires only
 *     on pools where a large share is unregistered
 * @param fallback what a pool that fails either test (at {@code priorZ} and {@code openZ}) gets,
 *     except that 3 replaces the {@code priorZ} rule from two shots: 0 the inductive fit (the
 *     prototypes at one shot, where inductive fine-tuning changes nothing), 1 the inlier-weighted
 *     transductive fit towards the estimated marginal, 2 the inlier-weighted transductive fit
 *     with Tsallis entropies at {@code fallbackAlpha} and a uniform marginal (alpha-TIM), 3 at
 *     one shot the inlier-weighted transductive fit whose marginal target follows the fit
 *     ("joint", shrunk by {@code jointCount}) and from two shots the band of {@code jointZ} and
 *     {@code inductiveZ}, 4 the joint fit at every shot count
 * @param inductiveScaleFactor factor on the (shrunk) leave-one-out temperature for the inductive
 *     fit, > 0
 * @param oneShotPrototypeScale softmax temperature of the prototypes returned at one shot (a pool
 *     that fails a test with {@code fallback} 0, or a fit that {@code maxChange} rejects), and of
 *     the prototype snapshot ({@link CalibratedPrototypes}), > 0
 * @param alpha alpha of the Tsallis entropies of the transductive branch's fit, > 0; 1 is
 *     Shannon's, TIM's objective exactly
 * @param fallbackAlpha alpha of the Tsallis entropies of the {@code fallback = 2} fit, > 0
 * @param maxChange the transductive fit is kept only when it changes the predicted class of at
 *     most this share of the pool against the inductive fit (the prototypes at one shot), which
 *     replaces it otherwise, in [0, 1]; 1 keeps it always
 * @param biasCorrection 1 divides the predictions the marginal is tested on by the classes' mean
 *     leave-one-out prediction on the (balanced) support set, removing the pull some prototypes
 *     have on every image before testing the pool; 0 does not. Needs two examples of a class.
 * @param temperaturePrior the temperature the leave-one-out one is shrunk towards, > 0: the
 *     leave-one-out temperature of one support set is noisy, and a task whose draw gave a low one
 *     answers with probabilities well below how often it is right (BENCHMARKS.md, "Calibration")
 * @param temperaturePriorWeight weight of {@code temperaturePrior} in pseudo-examples, >= 0:
 *     {@code log T = (n log T_loo + w log temperaturePrior) / (n + w)} over the {@code n}
 *     leave-one-out examples; 0 keeps the fitted temperature. Only the returned probabilities
 *     use it: the gate tests the pool on predictions at {@code scaleFactor} times the fitted
 *     temperature, not shrunk
 * @param jointCount pseudo-images per class of the joint fit's marginal target, {@code (N pbar
 *     + jointCount) / (N + K jointCount)} re-estimated at every step, > 0
 * @param oneShotJointScale softmax temperature of the joint fit returned at one shot, > 0
 * @param passedJointCount 0 fits a pool that passed the gate (with {@code fallback} 3 from two
 *     shots: below the quantile at {@code jointZ}, not open) with TIM's uniform marginal; above
 *     0, from two shots and with {@code alpha} 1, with the joint target of that many pseudo-images
 *     per class (one-shot pools that passed keep the uniform target, and alpha-TIM has no
 *     target), >= 0
 * @param jointZ with {@code fallback} 3, from two shots: a pool that does not test open and
 *     whose likelihood ratio (as for {@code priorZ}) exceeds the chi-square quantile at this
 *     deviate, but not the one at {@code inductiveZ}, gets the joint fit, >= 0
 * @param inductiveZ with {@code fallback} 3, from two shots: beyond the quantile at this deviate
 *     the pool gets the inductive fit, >= {@code jointZ}. With the two equal the band is empty:
 *     a pool passes or gets the inductive fit; both at {@code priorZ} is the rule before the band
 *     (with today's open-set test)
 */
public record RobustConfig(
    int steps,
    float entropyWeight,
    float marginalWeight,
    int priorIterations,
    float priorCount,
    float priorZ,
    float inlierSharpness,
    float acceptShare,
    float oneShotThreshold,
    float oneShotScale,
    float oneShotPriorScale,
    float scaleFactor,
    float minScale,
    float maxScale,
    float openZ,
    float fallback,
    float inductiveScaleFactor,
    float oneShotPrototypeScale,
    float biasCorrection,
    float alpha,
    float fallbackAlpha,
    float maxChange,
    float temperaturePrior,
    float temperaturePriorWeight,
    float jointCount,
    float oneShotJointScale,
    float passedJointCount,
    float jointZ,
    float inductiveZ) {

  private static final List<String> NAMES =
      List.of(
          "steps", "entropyWeight", "marginalWeight", "priorIterations", "priorCount",
          "priorZ", "inlierSharpness", "acceptShare", "oneShotThreshold", "oneShotScale", "oneShotPriorScale", "scaleFactor",
          "minScale", "maxScale", "openZ", "fallback", "inductiveScaleFactor",
          "oneShotPrototypeScale", "biasCorrection", "alpha", "fallbackAlpha",
          "maxChange", "temperaturePrior", "temperaturePriorWeight", "jointCount",
          "oneShotJointScale", "passedJointCount", "jointZ", "inductiveZ");

  /** Checks every field's range. */
  public RobustConfig {
    if (steps < 0 || priorIterations < 0) {
      throw new InvalidInputException(
          "expected steps >= 0 and priorIterations >= 0, found " + steps + " and "
              + priorIterations);
    }
    nonNegative("entropyWeight", entropyWeight);
    nonNegative("marginalWeight", marginalWeight);
    positive("priorCount", priorCount);
    nonNegative("priorZ", priorZ);
    nonNegative("inlierSharpness", inlierSharpness);
    if (!(acceptShare > 0 && acceptShare <= 1)) {
      throw new InvalidInputException("expected acceptShare in (0, 1], found " + acceptShare);
    }
    if (!(oneShotThreshold >= -1 && oneShotThreshold <= 1)) {
      throw new InvalidInputException(
          "expected oneShotThreshold in [-1, 1], found " + oneShotThreshold);
    }
    positive("oneShotScale", oneShotScale);
    positive("oneShotPriorScale", oneShotPriorScale);
    positive("scaleFactor", scaleFactor);
    positive("minScale", minScale);
    positive("maxScale", maxScale);
    nonNegative("openZ", openZ);
    if (!(fallback >= 0 && fallback <= 4 && fallback == Math.rint(fallback))) {
      throw new InvalidInputException("expected fallback 0 to 4, found " + fallback);
    }
    positive("jointCount", jointCount);
    positive("oneShotJointScale", oneShotJointScale);
    nonNegative("passedJointCount", passedJointCount);
    nonNegative("jointZ", jointZ);
    nonNegative("inductiveZ", inductiveZ);
    if (!(jointZ <= inductiveZ)) {
      throw new InvalidInputException(
          "expected jointZ <= inductiveZ, found " + jointZ + " > " + inductiveZ);
    }
    positive("alpha", alpha);
    positive("fallbackAlpha", fallbackAlpha);
    if (!(maxChange >= 0 && maxChange <= 1)) {
      throw new InvalidInputException("expected maxChange in [0, 1], found " + maxChange);
    }
    positive("temperaturePrior", temperaturePrior);
    nonNegative("temperaturePriorWeight", temperaturePriorWeight);
    positive("inductiveScaleFactor", inductiveScaleFactor);
    positive("oneShotPrototypeScale", oneShotPrototypeScale);
    if (biasCorrection != 0 && biasCorrection != 1) {
      throw new InvalidInputException("expected biasCorrection 0 or 1, found " + biasCorrection);
    }
    if (!(maxScale > minScale)) {
      throw new InvalidInputException(
          "expected maxScale > minScale, found " + maxScale + " <= " + minScale);
    }
  }

  /** The defaults; see {@link RobustTransduction} for how they were chosen. */
  public static RobustConfig defaults() {
    return new RobustConfig(
        30, 0.1f, 1f, 10, 5f, 2f, 30f, 0.95f, 0.28f, 4f, 2.5f, 0.8f, 2f, 60f, 3f, 3f, 1f, 4f, 1f, 1f,
        2f, 1f, 8f, 25f, 1.5f, 3f, 10f, 1f, 3f);
  }

  /** The fine-tuning settings: the transductive defaults with these query-term weights. */
  public FineTuneConfig fineTuneConfig() {
    return FineTuneConfig.transductiveDefaults()
        .withSteps(steps)
        .withQueryWeights(entropyWeight, marginalWeight);
  }

  /** A copy with one setting changed, by its component name; for tuning runs. */
  public RobustConfig with(String name, float value) {
    return with(Collections.singletonMap(name, value));
  }

  /**
   * A copy with these settings changed, by component name, checked together: settings whose
   * ranges depend on each other ({@code minScale} and {@code maxScale}, {@code jointZ} and {@code
   * inductiveZ}) can be given in any order.
   */
  public RobustConfig with(Map<String, Float> settings) {
    float[] v = values();
    for (Map.Entry<String, Float> e : settings.entrySet()) {
      String name = e.getKey();
      float value = e.getValue();
      int index = NAMES.indexOf(name);
      if (index < 0) {
        throw new InvalidInputException(
            "expected a setting among " + NAMES + ", found '" + name + "'");
      }
      if ((index == 0 || index == 3) && value != Math.rint(value)) {
        throw new InvalidInputException(
            "expected a whole number for " + name + ", found " + value);
      }
      v[index] = value;
    }
    return new RobustConfig(
        (int) v[0], v[1], v[2], (int) v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11],
        v[12], v[13], v[14], v[15], v[16], v[17], v[18], v[19], v[20], v[21],
        v[22], v[23], v[24], v[25], v[26], v[27], v[28]);
  }

  private float[] values() {
    return new float[] {
      steps, entropyWeight, marginalWeight, priorIterations, priorCount, priorZ, inlierSharpness,
      acceptShare, oneShotThreshold, oneShotScale, oneShotPriorScale, scaleFactor, minScale,
      maxScale, openZ, fallback, inductiveScaleFactor, oneShotPrototypeScale, biasCorrection,
      alpha, fallbackAlpha, maxChange, temperaturePrior, temperaturePriorWeight, jointCount,
      oneShotJointScale, passedJointCount, jointZ, inductiveZ
    };
  }

  @Override
  public String toString() {
    float[] v = values();
    StringBuilder out = new StringBuilder("RobustConfig[");
    for (int i = 0; i < v.length; i++) {
      out.append(i == 0 ? "" : ", ").append(NAMES.get(i)).append('=').append(v[i]);
    }
    return out.append(']').toString();
  }

  private static void positive(String name, float value) {
    if (!(value > 0) || !Float.isFinite(value)) {
      throw new InvalidInputException("expected a finite " + name + " > 0, found " + value);
    }
  }

  private static void nonNegative(String name, float value) {
    if (!(value >= 0) || !Float.isFinite(value)) {
      throw new InvalidInputException("expected a finite " + name + " >= 0, found " + value);
    }
  }
}
