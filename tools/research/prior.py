#!/usr/bin/python3
"""Does correcting a fit's predictions by the pool's estimated class marginal hold both 5-shot rows?

A label-shift correction (Saerens et al. 2002) needs no fit of the pool: the classifier's
posteriors, which assume the support set's uniform marginal, are multiplied by an EM estimate of
the pool's marginal and normalised again. A snapshot could carry it as a per-class bias, log pi.
This script asks, with the PyTorch model of `marginal.py`, whether that correction of the
inductive fit (for the pools the gate's statistic flags) or of the joint fit at a = 1.5 (for the
band) gains what the fits alone lose.

Corrections: `ind+em{T}/{a}` and `a1.5+em{T}/{a}` add log pi to the logits at scale 15, where pi
is the EM marginal from the fit's own predictions at temperature T (8 or 15), shrunk towards
uniform by a pseudo-images per class (0, 2 or 5). Each is scored given to every pool, then behind
the gate's bands (its statistic, the EM ratio from the prototypes at temperature 8; below the
low edge TIM or a = 10, between the edges the band's fit, above the top fit) with the edges that
maximise the worse of the two rows' z-scores on the search episodes, scored again unchanged on
the check episodes, as in `gate.py`.

Usage (train-split embeddings, as in BENCHMARKS.md):
  /usr/bin/python3 tools/research/prior.py train-novel.jsonl --episodes 400 --check-episodes 300
"""
import itertools

import numpy as np
import torch

import gate as g
import marginal as m

K = m.WAYS
TEMPERATURES = (8, 15)
SHRINKS = (0, 2, 5)


def corrected(logits, temperature, shrink):
    """Logits at scale 15 plus the log of the pool's EM marginal, shrunk towards uniform."""
    n = logits.shape[0]
    pi = (n * m.saerens(logits, temperature) + shrink) / (n + K * shrink)
    return m.SCALE * logits + torch.log(pi)


def records(x, labels, classes, shots, pool, episodes, seed):
    out = []
    for s, sy, q, qy, scores in g.episodes_with_fits(x, labels, classes, shots, pool, episodes, seed):
        for t, a in itertools.product(TEMPERATURES, SHRINKS):
            for fit, short in (("inductive", "ind"), ("a1.5", "a1.5")):
                scores[f"{short}+em{t}/{a}"] = corrected(scores[fit], t, a)
        out.append({
            "accuracy": g.accuracies(scores, qy),
            "statistic": g.em_ratio(q @ m.prototypes(s, sy).T, 8),
        })
    return out


def statistic(rows):
    return np.array([r["statistic"] for r in rows])


def main():
    args, search, check = g.search_and_check(records, __doc__.split("\n")[0])
    g.print_every_fit(args, search, check, 14)
    names = list(search["balanced"][0]["accuracy"])

    print("behind the bands (edges searched on the search episodes): search | check")
    for top in ["inductive"] + [n for n in names if n.startswith("ind+")]:
        for band in ["a1.5"] + [n for n in names if n.startswith("a1.5+")]:
            _, _, _, (b, d), (cb, cd) = g.best_bands(search, check, statistic, band, top)
            print(f"  above: {top:12s} band: {band:12s} {g.text(b):>14s} {g.text(d):>14s} |"
                  f" {g.text(cb):>14s} {g.text(cd):>14s}")


if __name__ == "__main__":
    main()
