#!/usr/bin/python3
"""Can a per-task temperature bring the one-shot ECE of the transductive fit under 0.05?

At one shot `robust` answers after TIM's fit at a fixed temperature (4, chosen on the train
split); there are no leave-one-out pairs to fit one per task. Its pooled ECE on balanced pools is
0.067 on the test split, and its reliability diagram is S-shaped: too sure between 0.4 and 0.6,
not sure enough above 0.67. No single temperature fixes an S. A mix of tasks of different
difficulty answered at one temperature gives such an S, so this script asks whether a statistic
of the support or the pool predicts a task's difficulty well enough to set its temperature:
T = T0 exp(b z), z the statistic standardised over the search episodes. Candidates:

  support_cos      mean cosine between support examples of different classes
  prototype_margin mean margin (top-1 minus top-2 cosine) of the pool to the prototypes
  fitted_margin    the same to the fitted class weights
  fitted_max       mean top-1 cosine of the pool to the fitted class weights
  weights_cos      mean cosine between the fitted class weights

T multiplies the cosines, so a larger one makes a task surer. (T0, b) are searched on the search
episodes twice: for the smallest pooled ECE, and for the smallest task gap (per episode |mean top
probability - accuracy|, then the mean, printed with its 95% interval); both are then scored on
the check episodes. The fit is the PyTorch model of `marginal.py` (TIM with its uniform marginal,
30 steps) on every pool, balanced and Dirichlet(2); open pools are not modelled.

Usage (train-split embeddings, as in BENCHMARKS.md):
  /usr/bin/python3 tools/research/one_shot_temperature.py train-novel.jsonl --shots 1 --episodes 300 --check-episodes 300
"""
import numpy as np
import torch

import gate
import marginal as m

BINS = 15
T0 = [3, 3.5, 4, 4.5, 5, 6]
SLOPES = np.linspace(-1, 1, 21)


def records(x, labels, classes, shots, pool, episodes, seed):
    rng = np.random.default_rng(seed)
    pairs = torch.triu_indices(m.WAYS, m.WAYS, 1)
    out = []
    for _ in range(episodes):
        s, sy, q, qy = m.episode(rng, x, labels, classes, shots, pool, 2.0)
        w = m.fine_tune(s, sy, q, True)
        cos = q @ w.T
        fitted = cos.topk(2, 1).values
        proto = (q @ m.prototypes(s, sy).T).topk(2, 1).values
        between = (s @ s.T)[sy[:, None] != sy[None, :]]
        out.append({
            "cos": cos,
            "labels": qy,
            "statistic": {
                "support_cos": float(between.mean()),
                "prototype_margin": float((proto[:, 0] - proto[:, 1]).mean()),
                "fitted_margin": float((fitted[:, 0] - fitted[:, 1]).mean()),
                "fitted_max": float(fitted[:, 0].mean()),
                "weights_cos": float((w @ w.T)[pairs[0], pairs[1]].mean()),
            },
        })
    return out


def calibration(rows, temperatures):
    """Pooled ECE (15 equal-width bins) and the task gaps, at one temperature per episode."""
    confidence, correct, gaps = [], [], []
    for r, t in zip(rows, temperatures):
        p = torch.softmax(float(t) * r["cos"], 1)
        c = p.max(1).values.numpy()
        k = (p.argmax(1) == r["labels"]).numpy().astype(float)
        confidence.append(c)
        correct.append(k)
        gaps.append(abs(c.mean() - k.mean()))
    confidence, correct = np.concatenate(confidence), np.concatenate(correct)
    bins = np.minimum((confidence * BINS).astype(int), BINS - 1)
    ece = sum(abs(confidence[bins == b].mean() - correct[bins == b].mean()) * (bins == b).sum()
              for b in range(BINS) if (bins == b).any()) / len(confidence)
    return ece, np.array(gaps)


def text(ece, gaps):
    mean, half = gate.interval(gaps)
    return f"{ece:.3f} / {mean:.3f} ± {half:.3f}"


def main():
    args, search, check = gate.search_and_check(records, __doc__.split("\n")[0])
    print(f"{args.shots} shot(s); search {args.episodes} episodes per pool, seed {args.seed};"
          f" check {args.check_episodes}, seed {args.check_seed}; pooled ECE / task gap")
    for pool in ("balanced", "dirichlet"):
        s, c = search[pool], check[pool]
        accuracy = np.array([float((r["cos"].argmax(1) == r["labels"]).float().mean()) for r in s])
        print(f"{pool}: mean accuracy {accuracy.mean():.3f}")
        for t in T0:
            print(f"  fixed T = {t}: search {text(*calibration(s, [t] * len(s)))},"
                  f" check {text(*calibration(c, [t] * len(c)))}")
        for name in s[0]["statistic"]:
            v = gate.column(s, "statistic", name)
            mean, sd = v.mean(), v.std()
            vc = gate.column(c, "statistic", name)
            print(f"  {name}: correlation with a task's accuracy {np.corrcoef(v, accuracy)[0, 1]:+.3f}")
            for criterion, index in (("ECE", 0), ("task gap", 1)):
                (e, g), t0, b = min(
                    ((calibration(s, t0 * np.exp(b * (v - mean) / sd)), t0, b)
                     for t0 in T0 for b in SLOPES),
                    key=lambda r: r[0][0] if index == 0 else r[0][1].mean())
                print(f"    by {criterion}: T0 = {t0}, b = {b:+.1f}: search {text(e, g)},"
                      f" check {text(*calibration(c, t0 * np.exp(b * (vc - mean) / sd)))}")


if __name__ == "__main__":
    main()
