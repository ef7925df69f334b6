#!/usr/bin/python3
"""Do features centred on the episode's mean rescue a fit that estimates the class proportions?

The first round's soft k-means on the pool (`marginal.py`, `soft_kmeans`) fell below the
prototypes: the backbone's features share one direction, so the soft assignments are nearly
uniform and drag every centre to the pool mean. Many transductive methods first centre the
features on the mean of the support and the pool and normalise them again. This script asks,
with the PyTorch model of `marginal.py`, whether that preprocessing makes a fit that estimates the
proportions (a soft k-means started at the prototypes, with and without an estimated prior, at
temperatures 10 and 20) hold the rule's two 5-shot rows, and what it does to the prototypes, the
inductive fit and TIM.

Each method on the same episodes as `gate.py` (the uncentred rows are `gate.py`'s); balanced pools
against TIM, Dirichlet(2) pools against inductive, both uncentred; search, then check episodes.

Usage (train-split embeddings, as in BENCHMARKS.md):
  /usr/bin/python3 tools/research/centre.py train-novel.jsonl --episodes 400 --check-episodes 300
"""
import torch

import gate as g
import marginal as m

TEMPERATURES = (10, 20)


def soft_kmeans_scores(s, sy, q, temperature, prior):
    """The pool's scores under `marginal.py`'s soft k-means; with `prior`, the class proportions
    are estimated with the centres."""
    centres, pi = m.soft_kmeans_fit(s, sy, q, temperature, prior)
    return temperature * q @ centres.T + torch.log(pi)


def records(x, labels, classes, shots, pool, episodes, seed):
    out = []
    for s, sy, q, qy, scores in g.episodes_with_fits(x, labels, classes, shots, pool, episodes, seed):
        mean = torch.cat([s, q]).mean(0)
        cs, cq = m.normalise(s - mean), m.normalise(q - mean)
        centred = g.fit_scores(cs, sy, cq)
        scores["centred prototypes"] = cq @ m.prototypes(cs, sy).T
        scores["centred inductive"] = centred["inductive"]
        scores["centred tim"] = centred["tim"]
        for t in TEMPERATURES:
            scores[f"centred k-means {t}"] = soft_kmeans_scores(cs, sy, cq, t, prior=True)
            scores[f"centred k-means {t}, no prior"] = soft_kmeans_scores(cs, sy, cq, t, prior=False)
        out.append({"accuracy": g.accuracies(scores, qy)})
    return out


def main():
    args, search, check = g.search_and_check(records, __doc__.split("\n")[0])
    g.print_every_fit(args, search, check, 30)


if __name__ == "__main__":
    main()
