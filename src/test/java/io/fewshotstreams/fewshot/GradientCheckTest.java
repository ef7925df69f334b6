package io.fewshotstreams.fewshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Checks the hand-derived gradient of {@code Objective} against central finite differences of an
 * independent double-precision implementation of the same loss, term by term and combined.
 */
class GradientCheckTest {
  // Small enough to difference every parameter; a scale of 5 keeps the softmax away from saturation.
  private static final int CLASSES = 3;
  private static final int DIMENSION = 6;
  private static final float SCALE = 5f;

  @ParameterizedTest(
      name = "support={0} queries={1} entropy={2} marginal={3} anchor={4} weighted={5} alpha={6}")
  @CsvSource({
    "4, 0, 0, 0, 0, false, 1", // cross-entropy alone
    "0, 7, 1, 0, 0, false, 1", // query entropy alone
    "0, 7, 0, 1, 0, false, 1", // marginal entropy alone
    "0, 0, 0, 0, 1, false, 1", // anchor alone
    "4, 7, 0.7, 1.3, 0.4, false, 1", // all terms together
    "0, 7, 1, 0, 0, true, 1", // query entropy with per-query inlier weights
    "0, 7, 0, 1, 0, true, 1", // KL to a non-uniform marginal, weighted
    "4, 7, 0.7, 1.3, 0.4, true, 1", // all terms, weighted, non-uniform marginal
    "0, 7, 1, 0, 0, false, 2", // Tsallis query entropy alone (alpha-TIM)
    "0, 7, 0, 1, 0, false, 2", // Tsallis marginal entropy alone
    "4, 7, 0.7, 1.3, 0.4, false, 7", // all terms, alpha 7
    "0, 7, 0, 1, 0, false, 0.5", // alpha below 1
  })
  void shouldMatchFiniteDifferences(
      int supportCount, int queryCount, float entropy, float marginal, float anchorWeight,
      boolean weighted, float alpha) {
    Random random = new Random(11);
    float[][] support = randomUnitRows(random, supportCount);
    int[] target = new int[supportCount];
    for (int i = 0; i < supportCount; i++) {
      target[i] = i % CLASSES;
    }
    float[][] queries = randomUnitRows(random, queryCount);
    float[][] anchor = randomUnitRows(random, CLASSES);
    // Non-unit weights and a non-zero bias exercise the normalisation Jacobian and the bias path.
    float[][] w = new float[CLASSES][DIMENSION];
    float[] b = new float[CLASSES];
    for (int c = 0; c < CLASSES; c++) {
      b[c] = (float) random.nextGaussian() * 0.3f;
      for (int k = 0; k < DIMENSION; k++) {
        w[c][k] = (float) random.nextGaussian();
      }
    }
    // Weights from near 0 (an outlier) to 1, and a skewed marginal, when weighted.
    float[] weights = null;
    float[] prior = null;
    if (weighted) {
      weights = new float[queryCount];
      for (int j = 0; j < queryCount; j++) {
        weights[j] = 0.05f + 0.95f * random.nextFloat();
      }
      prior = new float[] {0.5f, 0.3f, 0.2f};
    }
    Objective objective =
        new Objective(
            support, target, queries, anchor, SCALE, entropy, marginal, anchorWeight, weights,
            prior, alpha, 0f);
    float[][] gw = new float[CLASSES][DIMENSION];
    float[] gb = new float[CLASSES];
    float loss = objective.evaluate(w, b, gw, gb);

    Reference reference =
        new Reference(
            support, target, queries, anchor, entropy, marginal, anchorWeight, weights, prior,
            alpha);
    double[] params = flatten(w, b);
    assertThat((double) loss).isCloseTo(reference.loss(params), within(1e-5));

    // Central differences in double: truncation error ~eps^2, rounding ~1e-16/eps, both far below 1e-4.
    double eps = 1e-5;
    double[] numeric = new double[params.length];
    for (int p = 0; p < params.length; p++) {
      double saved = params[p];
      params[p] = saved + eps;
      double up = reference.loss(params);
      params[p] = saved - eps;
      double down = reference.loss(params);
      params[p] = saved;
      numeric[p] = (up - down) / (2 * eps);
    }
    double[] analytic = flatten(gw, gb);
    double diff = 0;
    double norm = 0;
    for (int p = 0; p < params.length; p++) {
      diff += (analytic[p] - numeric[p]) * (analytic[p] - numeric[p]);
      norm += numeric[p] * numeric[p];
    }
    assertThat(norm).as("the term must have a gradient to check").isGreaterThan(1e-6);
    // Float arithmetic in the objective: a relative error near 1e-6 is expected, 1e-4 is a bug.
    assertThat(Math.sqrt(diff / norm)).isLessThan(1e-4);
  }

  private static float[][] randomUnitRows(Random random, int count) {
    float[][] rows = new float[count][DIMENSION];
    for (int i = 0; i < count; i++) {
      for (int k = 0; k < DIMENSION; k++) {
        rows[i][k] = (float) random.nextGaussian();
      }
      rows[i] = Vectors.normalize(rows[i]);
    }
    return rows;
  }

  private static double[] flatten(float[][] w, float[] b) {
    double[] out = new double[CLASSES * DIMENSION + CLASSES];
    for (int c = 0; c < CLASSES; c++) {
      for (int k = 0; k < DIMENSION; k++) {
        out[c * DIMENSION + k] = w[c][k];
      }
      out[CLASSES * DIMENSION + c] = b[c];
    }
    return out;
  }

  /** The loss written directly from its definition, in double. */
  private record Reference(
      float[][] support, int[] target, float[][] queries, float[][] anchor, double entropy,
      double marginal, double anchorWeight, float[] weights, float[] prior, double alpha) {

    double loss(double[] params) {
      double[][] u = new double[CLASSES][DIMENSION];
      for (int c = 0; c < CLASSES; c++) {
        double norm = 0;
        for (int k = 0; k < DIMENSION; k++) {
          norm += params[c * DIMENSION + k] * params[c * DIMENSION + k];
        }
        norm = Math.sqrt(norm);
        for (int k = 0; k < DIMENSION; k++) {
          u[c][k] = params[c * DIMENSION + k] / norm;
        }
      }
      double loss = 0;
      for (int i = 0; i < support.length; i++) {
        loss -= Math.log(softmax(u, params, support[i])[target[i]]) / support.length;
      }
      double total = 0;
      for (int j = 0; j < queries.length; j++) {
        total += weights == null ? 1 : weights[j];
      }
      double[] mean = new double[CLASSES];
      for (int j = 0; j < queries.length; j++) {
        double a = (weights == null ? 1 : weights[j]) / total;
        double[] p = softmax(u, params, queries[j]);
        loss += entropy * a * entropy(p, alpha);
        for (int c = 0; c < CLASSES; c++) {
          mean[c] += a * p[c];
        }
      }
      if (queries.length > 0 && alpha != 1) {
        loss -= marginal * entropy(mean, alpha);
      } else if (queries.length > 0) {
        // KL(mean || prior); with a uniform prior, -H(mean) up to the constant log K.
        for (int c = 0; c < CLASSES; c++) {
          double logPrior = prior == null ? 0 : Math.log(prior[c]);
          loss += marginal * mean[c] * (Math.log(mean[c]) - logPrior);
        }
      }
      for (int c = 0; c < CLASSES; c++) {
        for (int k = 0; k < DIMENSION; k++) {
          loss += anchorWeight * (u[c][k] - anchor[c][k]) * (u[c][k] - anchor[c][k]);
        }
      }
      return loss;
    }

    /** Shannon's entropy at alpha 1, else Tsallis' {@code (1 - sum p^alpha) / (alpha - 1)}. */
    private static double entropy(double[] p, double alpha) {
      double h = alpha == 1 ? 0 : 1 / (alpha - 1);
      for (double pc : p) {
        h -= alpha == 1 ? pc * Math.log(pc) : Math.pow(pc, alpha) / (alpha - 1);
      }
      return h;
    }

    private static double[] softmax(double[][] u, double[] params, float[] x) {
      double[] z = new double[CLASSES];
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < CLASSES; c++) {
        for (int k = 0; k < DIMENSION; k++) {
          z[c] += SCALE * u[c][k] * x[k];
        }
        z[c] += params[CLASSES * DIMENSION + c];
        max = Math.max(max, z[c]);
      }
      double sum = 0;
      for (int c = 0; c < CLASSES; c++) {
        z[c] = Math.exp(z[c] - max);
        sum += z[c];
      }
      for (int c = 0; c < CLASSES; c++) {
        z[c] /= sum;
      }
      return z;
    }
  }
}
