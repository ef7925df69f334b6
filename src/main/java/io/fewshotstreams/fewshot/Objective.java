package io.fewshotstreams.fewshot;

import java.util.Arrays;

/**
 * The fine-tuning objective and its hand-derived gradient, on row buffers allocated once.
 *
 * <p>Notation: {@code x_i} unit features (support {@code i < Ns}, then queries), {@code w_c} weight
 * rows with {@code n_c = |w_c|} and {@code u_c = w_c / n_c}, logits {@code z_ic = s u_c.x_i + b_c},
 * {@code p_i = softmax(z_i)}. The loss is
 *
 * <pre>
 * L = (1/Ns) sum_{i<Ns} -log p_{i,y_i}                       (cross-entropy on the support)
 *   + lambda_H sum_{j query} a_j H(p_j)                      (query entropy, Dhillon et al.)
 *   + lambda_M KL(pbar || pi),  pbar = sum_j a_j p_j         (marginal, TIM: anti-collapse)
 *   + lambda_A sum_c |u_c - u0_c|^2                          (pull of each direction to its prototype)
 * </pre>
 *
 * where {@code a_j = theta_j / sum theta} are the normalised query weights ({@code 1/Nq} unless
 * weights are given: latent inlier scores that keep outliers out of the query terms) and {@code
 * pi} is the target marginal (uniform unless given, where the term is TIM's {@code -H(pbar)} up to
 * the constant {@code log K}; or, with a joint pseudo-count, re-estimated from {@code pbar} at each
 * evaluation and held fixed for its gradient, so that the loss reported is that of the step's
 * target, not one function minimised over all steps).
 *
 * <p>Gradient with respect to the logits, {@code G_ic = dL/dz_ic}:
 *
 * <ul>
 *   <li>cross-entropy: {@code (p_ic - [c = y_i]) / Ns};
 *   <li>entropy: with {@code H_j = -sum_c p_jc log p_jc}, {@code dH_j/dz_jc = -p_jc (log p_jc + H_j)},
 *       scaled by {@code lambda_H a_j};
 *   <li>marginal: with {@code g_c = -dKL/dpbar_c = -(log pbar_c + 1) + log pi_c} and the softmax
 *       Jacobian {@code dp_jc/dz_jk = p_jc ([c = k] - p_jk)}, {@code -dKL/dz_jk = a_j p_jk (g_k -
 *       sum_c g_c p_jc)}, scaled by {@code -lambda_M}.
 * </ul>
 *
 * Then {@code dL/db_c = sum_i G_ic} and {@code dL/du_c = s sum_i G_ic x_i + 2 lambda_A (u_c - u0_c)}.
 * Through the normalisation {@code u = w / |w|}, whose Jacobian is {@code (I - u u^T) / |w|}:
 * {@code dL/dw_c = (dL/du_c - (dL/du_c . u_c) u_c) / n_c}.
 *
 * <p>The logits are computed as axpy loops over a transposed copy of the features and the gradient
 * as axpy loops over feature rows. Every buffer is a separate row array indexed from 0, and eight
 * axpys are fused per pass: that is the shape the JIT vectorises (with offsets into one flat array
 * it cannot rule out overlap and stays scalar, several times slower). The per-example passes
 * (softmax, entropies) run along each class's row too, with per-example accumulators.
 */
final class Objective {
  private static final float TINY = 1e-30f;
  /** Examples per tile of the logits: 100 classes x 512 floats fill 200 KB, within an L2 cache. */
  private static final int TILE = 512;

  final int classes;
  final int dimension;
  final int supportCount;
  final int queryCount;
  final int count;

  private final float scale;
  private final float entropyWeight;
  private final float marginalWeight;
  private final float anchorWeight;
  private final float alpha; // 1: Shannon entropies; else Tsallis alpha-entropies (alpha-TIM)

  private final float[][] rows; // count x dimension, support rows then query rows
  private final float[][] columns; // dimension x count, the transpose of rows
  private final int[] target; // supportCount
  private final float[][] anchor; // classes x dimension, unit rows u0

  private final float[][] unit; // classes x dimension
  private final float[] norms; // classes
  private final float[][] logits; // classes x count
  private final float[][] probs; // classes x count
  private final float[][] logProbs; // classes x count
  private final float[][] grad; // classes x count, dL/dz
  private final float[][] gradUnit; // classes x dimension
  private final float[] marginal; // classes
  private final float[] marginalGrad; // classes
  private final float[] rowMax; // count, per example: max logit, log-sum-exp, query entropy
  private final float[] rowSum; // count, per example: sum of exps, its inverse, sum_c g_c p_c
  private final float[] powerSum; // count, per query: sum_c e_c p_c (alpha != 1)
  private final float[] entropyScale; // count, lambda_H a_j at query j (from supportCount)
  private final float[] marginalScale; // count, -lambda_M a_j at query j (from supportCount)
  private final float[] queryWeight; // queryCount, theta_j / sum theta
  private final float[] logPrior; // classes, log pi_c of the marginal's target
  private final double poolWeight; // sum theta_j over the (capped) pool: N of the joint target
  private final float jointCount; // > 0: pi re-estimated from pbar at each evaluation
  private final float[][] scaledGrad; // classes x count, s * dL/dz

  Objective(
      float[][] support,
      int[] supportClass,
      float[][] queries,
      float[][] anchorRows,
      float scale,
      float entropyWeight,
      float marginalWeight,
      float anchorWeight) {
    this(support, supportClass, queries, anchorRows, scale, entropyWeight, marginalWeight,
        anchorWeight, null, null, 1f, 0f);
  }

  /**
   * @param weights per query, its weight {@code theta_j >= 0} in the query terms (null: all 1)
   * @param prior the target marginal {@code pi} of the marginal term (null: uniform)
   * @param alpha 1 for Shannon's entropies; otherwise both query terms use Tsallis' alpha-entropy
   *     {@code H_a(p) = (1 - sum_c p_c^a) / (a - 1)} (alpha-TIM), which needs a uniform target
   * @param jointCount 0 for a fixed target; above 0 the target follows the fit: at each evaluation
   *     {@code pi = (N pbar + a) / (N + K a)} with {@code a = jointCount}, the pool's own mean
   *     prediction over its {@code N = sum theta_j} images (its size when the weights are 1; the
   *     weights' scale matters here, as nowhere else) plus {@code a} pseudo-images per class, then
   *     held fixed for that evaluation's gradient. An alternation in the manner of EM: the
   *     marginal is estimated with the classifier instead of before it, and shrunk towards uniform
   *     by {@code a}; as {@code a} grows the term becomes TIM's, at {@code a} near 0 it vanishes.
   *     Needs no fixed prior and Shannon's entropies
   */
  Objective(
      float[][] support,
      int[] supportClass,
      float[][] queries,
      float[][] anchorRows,
      float scale,
      float entropyWeight,
      float marginalWeight,
      float anchorWeight,
      float[] weights,
      float[] prior,
      float alpha,
      float jointCount) {
    if (!(alpha > 0) || !Float.isFinite(alpha) || (alpha != 1f && prior != null)) {
      throw new InvalidInputException(
          "expected alpha > 0, and a uniform target marginal unless alpha is 1, found alpha "
              + alpha
              + (prior == null ? "" : " with a target marginal"));
    }
    if (!(jointCount >= 0) || !Float.isFinite(jointCount)) {
      throw new InvalidInputException(
          "expected a finite jointPriorCount >= 0 (0: none), found " + jointCount);
    }
    if (jointCount > 0 && (prior != null || alpha != 1f)) {
      throw new InvalidInputException(
          "expected no fixed prior and alpha 1 with a joint one, found "
              + (prior == null ? "none" : "a fixed prior") + " and alpha " + alpha);
    }
    this.jointCount = jointCount;
    this.alpha = alpha;
    this.classes = anchorRows.length;
    this.dimension = anchorRows[0].length;
    this.supportCount = support.length;
    this.queryCount = queries.length;
    this.count = supportCount + queryCount;
    this.scale = scale;
    this.entropyWeight = queryCount == 0 ? 0 : entropyWeight;
    this.marginalWeight = queryCount == 0 ? 0 : marginalWeight;
    this.anchorWeight = anchorWeight;
    rows = new float[count][];
    columns = new float[dimension][count];
    for (int i = 0; i < count; i++) {
      rows[i] = (i < supportCount ? support[i] : queries[i - supportCount]).clone();
      for (int k = 0; k < dimension; k++) {
        columns[k][i] = rows[i][k];
      }
    }
    target = supportClass.clone();
    anchor = new float[classes][];
    for (int c = 0; c < classes; c++) {
      anchor[c] = anchorRows[c].clone();
    }
    unit = new float[classes][dimension];
    norms = new float[classes];
    logits = new float[classes][count];
    probs = new float[classes][count];
    logProbs = new float[classes][count];
    grad = new float[classes][count];
    gradUnit = new float[classes][dimension];
    marginal = new float[classes];
    marginalGrad = new float[classes];
    rowMax = new float[count];
    rowSum = new float[count];
    powerSum = new float[count];
    scaledGrad = new float[classes][count];
    queryWeight = new float[queryCount];
    double total = 0;
    for (int j = 0; j < queryCount; j++) {
      total += weights == null ? 1 : weights[j];
    }
    poolWeight = total;
    for (int j = 0; j < queryCount; j++) {
      queryWeight[j] = total > 0 ? (float) ((weights == null ? 1 : weights[j]) / total) : 0f;
    }
    entropyScale = new float[count];
    marginalScale = new float[count];
    for (int j = 0; j < queryCount; j++) {
      entropyScale[supportCount + j] = this.entropyWeight * queryWeight[j];
      marginalScale[supportCount + j] = -this.marginalWeight * queryWeight[j];
    }
    logPrior = new float[classes];
    for (int c = 0; c < classes; c++) {
      logPrior[c] = prior == null ? 0f : (float) Math.log(Math.max(prior[c], TINY));
    }
  }

  /**
   * Evaluates the loss at {@code (w, b)} and, when {@code gradW} is not null, writes its gradient
   * into {@code gradW} (classes x dimension) and {@code gradB} (classes).
   */
  float evaluate(float[][] w, float[] b, float[][] gradW, float[] gradB) {
    final int n = count;
    final int d = dimension;
    for (int c = 0; c < classes; c++) {
      float[] wc = w[c];
      float[] uc = unit[c];
      double sq = 0;
      for (int k = 0; k < d; k++) {
        sq += (double) wc[k] * wc[k];
      }
      float norm = (float) Math.sqrt(sq);
      norms[c] = norm;
      float inv = 1f / norm;
      for (int k = 0; k < d; k++) {
        uc[k] = wc[k] * inv;
      }
    }
    // Logits z_c = s U_c X^T + b_c, by tiles of examples: within a tile, feature blocks outside and
    // classes inside, so a block of columns stays in L1 for every class and the tile's logits of
    // all classes stay in L2 (at 100 ways and 2,000 examples the whole matrix does not).
    for (int from = 0; from < n; from += TILE) {
      int to = Math.min(n, from + TILE);
      for (int c = 0; c < classes; c++) {
        Arrays.fill(logits[c], from, to, b[c]);
      }
      int k = 0;
      for (; k + 7 < d; k += 8) {
        float[] x0 = columns[k];
        float[] x1 = columns[k + 1];
        float[] x2 = columns[k + 2];
        float[] x3 = columns[k + 3];
        float[] x4 = columns[k + 4];
        float[] x5 = columns[k + 5];
        float[] x6 = columns[k + 6];
        float[] x7 = columns[k + 7];
        for (int c = 0; c < classes; c++) {
          float[] uc = unit[c];
          axpy8(
              scale * uc[k], x0, scale * uc[k + 1], x1, scale * uc[k + 2], x2, scale * uc[k + 3],
              x3, scale * uc[k + 4], x4, scale * uc[k + 5], x5, scale * uc[k + 6], x6,
              scale * uc[k + 7], x7, logits[c], from, to);
        }
      }
      for (; k + 3 < d; k += 4) {
        float[] x0 = columns[k];
        float[] x1 = columns[k + 1];
        float[] x2 = columns[k + 2];
        float[] x3 = columns[k + 3];
        for (int c = 0; c < classes; c++) {
          float[] uc = unit[c];
          axpy4(
              scale * uc[k], x0, scale * uc[k + 1], x1, scale * uc[k + 2], x2, scale * uc[k + 3],
              x3, logits[c], from, to);
        }
      }
      for (; k < d; k++) {
        for (int c = 0; c < classes; c++) {
          axpy(scale * unit[c][k], columns[k], logits[c], from, to);
        }
      }
    }
    // Softmax per example, with log-probabilities from the log-sum-exp. Every pass runs along a
    // class's row with per-example accumulators (max, sum, entropy), so the loads are contiguous
    // and the loops without Math.exp vectorise; each accumulator still sums its classes in class
    // order, so the results are those of a loop over classes per example, bit for bit.
    float[] max = rowMax;
    float[] sum = rowSum;
    Arrays.fill(max, 0, n, Float.NEGATIVE_INFINITY);
    for (int c = 0; c < classes; c++) {
      float[] lc = logits[c];
      for (int i = 0; i < n; i++) {
        max[i] = Math.max(max[i], lc[i]);
      }
    }
    Arrays.fill(sum, 0, n, 0f);
    for (int c = 0; c < classes; c++) {
      float[] lc = logits[c];
      float[] pc = probs[c];
      for (int i = 0; i < n; i++) {
        float e = (float) Math.exp(lc[i] - max[i]);
        pc[i] = e;
        sum[i] += e;
      }
    }
    // From here max holds log sum_c exp(z_ic) and sum its inverse.
    for (int i = 0; i < n; i++) {
      float s = sum[i];
      max[i] = max[i] + (float) Math.log(s);
      sum[i] = 1f / s;
    }
    for (int c = 0; c < classes; c++) {
      float[] lc = logits[c];
      float[] pc = probs[c];
      float[] lpc = logProbs[c];
      for (int i = 0; i < n; i++) {
        pc[i] *= sum[i];
        lpc[i] = lc[i] - max[i];
      }
    }
    double loss = 0;
    // Cross-entropy on the support (absent only when a gradient check isolates the other terms).
    final int ns = supportCount;
    float invSupport = ns == 0 ? 0f : 1f / ns;
    for (int c = 0; c < classes; c++) {
      float[] pc = probs[c];
      float[] gc = grad[c];
      for (int i = 0; i < ns; i++) {
        gc[i] = pc[i] * invSupport;
      }
    }
    for (int i = 0; i < ns; i++) {
      int y = target[i];
      loss -= logProbs[y][i];
      grad[y][i] = (probs[y][i] - 1f) * invSupport;
    }
    loss *= invSupport;
    if (queryCount > 0) {
      // Marginal distribution of the query predictions.
      for (int c = 0; c < classes; c++) {
        float[] pc = probs[c];
        float m = 0;
        for (int j = ns; j < n; j++) {
          m += queryWeight[j - ns] * pc[j];
        }
        marginal[c] = m;
      }
      if (jointCount > 0) {
        double norm = poolWeight + classes * (double) jointCount;
        for (int c = 0; c < classes; c++) {
          logPrior[c] = (float) Math.log((poolWeight * marginal[c] + jointCount) / norm);
        }
      }
      // -KL(pbar || pi) = H(pbar) + sum_c pbar_c log pi_c; with a uniform pi, H(pbar) - log K.
      // With alpha != 1: H_a(pbar), whose gradient -a/(a-1) pbar_c^(a-1) grows only as a power
      // as a class's share shrinks, where Shannon's -log pbar_c - 1 grows without bound.
      double marginalEntropy = alpha == 1f ? 0 : 1.0 / (alpha - 1);
      for (int c = 0; c < classes; c++) {
        float m = Math.max(marginal[c], TINY);
        float logM = (float) Math.log(m);
        if (alpha == 1f) {
          marginalEntropy -= m * (logM - logPrior[c]);
          marginalGrad[c] = -(logM + 1f) + logPrior[c];
        } else {
          float power = (float) Math.exp((alpha - 1) * logM); // m^(a-1)
          marginalEntropy -= m * power / (alpha - 1);
          marginalGrad[c] = -alpha / (alpha - 1) * power;
        }
      }
      // Per query j (indices from ns): h its entropy, gp = sum_c g_c p_jc.
      float[] h = rowMax;
      float[] gp = rowSum;
      Arrays.fill(h, ns, n, 0f);
      Arrays.fill(gp, ns, n, 0f);
      double entropySum = 0;
      if (alpha == 1f) {
        for (int c = 0; c < classes; c++) {
          float[] pc = probs[c];
          float[] lpc = logProbs[c];
          float g = marginalGrad[c];
          for (int j = ns; j < n; j++) {
            float p = pc[j];
            h[j] -= p * lpc[j];
            gp[j] += g * p;
          }
        }
        for (int j = ns; j < n; j++) {
          entropySum += queryWeight[j - ns] * h[j];
        }
        for (int c = 0; c < classes; c++) {
          float[] pc = probs[c];
          float[] lpc = logProbs[c];
          float[] gc = grad[c];
          float g = marginalGrad[c];
          for (int j = ns; j < n; j++) {
            float p = pc[j];
            gc[j] =
                entropyScale[j] * (-p * (lpc[j] + h[j])) + marginalScale[j] * p * (g - gp[j]);
          }
        }
      } else {
        // H_a(p_j) = (1 - sum_c p_jc^a) / (a - 1) and, through the softmax, dH_a/dz_jc =
        // p_jc (e_jc - sum_k e_jk p_jk) with e_jc = -a/(a-1) p_jc^(a-1), kept in the gradient
        // buffer meanwhile; h first holds sum_c p_jc^a.
        float coefficient = -alpha / (alpha - 1);
        float[] ep = powerSum;
        for (int c = 0; c < classes; c++) {
          float[] pc = probs[c];
          float[] lpc = logProbs[c];
          float[] gc = grad[c];
          float g = marginalGrad[c];
          for (int j = ns; j < n; j++) {
            float p = pc[j];
            float power = (float) Math.exp((alpha - 1) * lpc[j]);
            h[j] += p * power;
            gc[j] = coefficient * power;
            gp[j] += g * p;
          }
        }
        for (int j = ns; j < n; j++) {
          float s = h[j];
          h[j] = (1 - s) / (alpha - 1);
          ep[j] = coefficient * s;
          entropySum += queryWeight[j - ns] * h[j];
        }
        for (int c = 0; c < classes; c++) {
          float[] pc = probs[c];
          float[] gc = grad[c];
          float g = marginalGrad[c];
          for (int j = ns; j < n; j++) {
            float p = pc[j];
            gc[j] = entropyScale[j] * p * (gc[j] - ep[j]) + marginalScale[j] * p * (g - gp[j]);
          }
        }
      }
      loss += entropyWeight * entropySum - marginalWeight * marginalEntropy;
    }
    if (anchorWeight != 0) {
      double anchorLoss = 0;
      for (int c = 0; c < classes; c++) {
        float[] uc = unit[c];
        float[] ac = anchor[c];
        for (int j = 0; j < d; j++) {
          float diff = uc[j] - ac[j];
          anchorLoss += diff * diff;
        }
      }
      loss += anchorWeight * anchorLoss;
    }
    if (gradW == null) {
      return (float) loss;
    }
    // dL/du_c = s sum_i G_ic x_i (+ anchor), then projection through the normalisation. Row
    // blocks outside, classes inside, for the same reuse as the logits.
    float twiceAnchor = 2f * anchorWeight;
    for (int c = 0; c < classes; c++) {
      float[] uc = unit[c];
      float[] ac = anchor[c];
      float[] gu = gradUnit[c];
      float[] gc = grad[c];
      float[] sc = scaledGrad[c];
      for (int j = 0; j < d; j++) {
        gu[j] = twiceAnchor * (uc[j] - ac[j]);
      }
      float bias = 0;
      for (int i = 0; i < n; i++) {
        bias += gc[i];
        sc[i] = scale * gc[i];
      }
      gradB[c] = bias;
    }
    int i = 0;
    for (; i + 7 < n; i += 8) {
      float[] x0 = rows[i];
      float[] x1 = rows[i + 1];
      float[] x2 = rows[i + 2];
      float[] x3 = rows[i + 3];
      float[] x4 = rows[i + 4];
      float[] x5 = rows[i + 5];
      float[] x6 = rows[i + 6];
      float[] x7 = rows[i + 7];
      for (int c = 0; c < classes; c++) {
        float[] sc = scaledGrad[c];
        axpy8(
            sc[i], x0, sc[i + 1], x1, sc[i + 2], x2, sc[i + 3], x3, sc[i + 4], x4, sc[i + 5], x5,
            sc[i + 6], x6, sc[i + 7], x7, gradUnit[c], 0, d);
      }
    }
    for (; i + 3 < n; i += 4) {
      float[] x0 = rows[i];
      float[] x1 = rows[i + 1];
      float[] x2 = rows[i + 2];
      float[] x3 = rows[i + 3];
      for (int c = 0; c < classes; c++) {
        float[] sc = scaledGrad[c];
        axpy4(sc[i], x0, sc[i + 1], x1, sc[i + 2], x2, sc[i + 3], x3, gradUnit[c], 0, d);
      }
    }
    for (; i < n; i++) {
      for (int c = 0; c < classes; c++) {
        axpy(scaledGrad[c][i], rows[i], gradUnit[c], 0, d);
      }
    }
    for (int c = 0; c < classes; c++) {
      float[] uc = unit[c];
      float[] gu = gradUnit[c];
      float radial = Vectors.dotUnchecked(gu, 0, uc, 0, d);
      float inv = 1f / norms[c];
      float[] gw = gradW[c];
      for (int j = 0; j < d; j++) {
        gw[j] = (gu[j] - radial * uc[j]) * inv;
      }
    }
    return (float) loss;
  }

  /** {@code y += a x} over {@code [from, to)}. */
  private static void axpy(float a, float[] x, float[] y, int from, int to) {
    for (int i = from; i < to; i++) {
      y[i] += a * x[i];
    }
  }

  /** Four fused axpys over {@code [from, to)}, so {@code y} is loaded and stored once per four. */
  private static void axpy4(
      float a0, float[] x0, float a1, float[] x1, float a2, float[] x2, float a3, float[] x3,
      float[] y, int from, int to) {
    for (int i = from; i < to; i++) {
      y[i] += a0 * x0[i] + a1 * x1[i] + a2 * x2[i] + a3 * x3[i];
    }
  }

  /**
   * Two {@link #axpy4} passes fused: {@code y} is loaded and stored once per eight products, and
   * each element is rounded exactly as by the two passes in turn.
   */
  private static void axpy8(
      float a0, float[] x0, float a1, float[] x1, float a2, float[] x2, float a3, float[] x3,
      float a4, float[] x4, float a5, float[] x5, float a6, float[] x6, float a7, float[] x7,
      float[] y, int from, int to) {
    for (int i = from; i < to; i++) {
      float first = y[i] + (a0 * x0[i] + a1 * x1[i] + a2 * x2[i] + a3 * x3[i]);
      y[i] = first + (a4 * x4[i] + a5 * x5[i] + a6 * x6[i] + a7 * x7[i]);
    }
  }
}
