#!/usr/bin/python3
"""How much is the pool's class marginal worth, and can it be estimated from the pool?

TIM's gain on balanced pools rests on its uniform-marginal term; on skewed pools the same term
costs points. This script measures, on embeddings written by `embed`, what transductive
fine-tuning gains when it is told each pool's true class proportions (an oracle no service has),
and what it gains with proportions estimated from the unlabelled pool itself.

It re-implements the project's fine-tuning in PyTorch (cosine classifier at scale 15, full-batch
Adam, 30 steps at 0.01; cross-entropy on the support, 0.1 x the query entropy, and the marginal
term at weight 1), so read its figures as a model of the Java methods, not as their own figures;
`evaluate` gives those.

Methods, each on the same episodes (paired differences with 95% intervals):
  proto       the support prototypes
  inductive   fine-tuned on the support only
  tim         + query entropy - entropy of the mean query prediction (uniform marginal)
  oracle      + KL(mean query prediction || the pool's true class proportions)
  em@T        + KL(... || the EM estimate of Saerens et al. 2002 from the prototypes'
              predictions at temperature T)
  skm@T       + KL(... || the proportions of a soft k-means on the pool, started at the prototypes)
  joint@a     + KL(... || (N x mean prediction + a) / (N + K a)), re-estimated at every step:
              the marginal fitted with the classifier, shrunk towards uniform by a per class

Usage (embeddings of the novel classes, as in BENCHMARKS.md):
  java -jar target/fewshot-streams.jar embed --fashion-mnist train --classes novel --out train-novel.jsonl
  /usr/bin/python3 tools/research/marginal.py train-novel.jsonl --shots 1 --pool dirichlet --episodes 150
"""
import argparse
import json

import numpy as np
import torch

WAYS = 5
QUERIES_PER_CLASS = 15
SCALE = 15.0


def load(path):
    xs, labels, names = [], [], {}
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            xs.append(record["embedding"])
            labels.append(names.setdefault(record["label"], len(names)))
    x = np.asarray(xs, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.asarray(labels), len(names)


def pool_counts(rng, pool, alpha):
    total = WAYS * QUERIES_PER_CLASS
    if pool == "balanced":
        return np.full(WAYS, QUERIES_PER_CLASS)
    p = rng.dirichlet([alpha] * WAYS)
    counts = np.maximum(np.floor(p * total).astype(int), 1)  # at least one per class
    while counts.sum() < total:
        counts[rng.choice(WAYS, p=p)] += 1
    while counts.sum() > total:
        counts[rng.choice(np.where(counts > 1)[0])] -= 1
    return counts


def episode(rng, x, labels, classes, shots, pool, alpha):
    chosen = rng.choice(classes, WAYS, replace=False)
    counts = pool_counts(rng, pool, alpha)
    support, query, query_labels = [], [], []
    for k, c in enumerate(chosen):
        idx = rng.choice(np.where(labels == c)[0], shots + counts[k], replace=False)
        support.extend(idx[:shots])
        query.extend(idx[shots:])
        query_labels.extend([k] * counts[k])
    return (
        torch.tensor(x[support]),
        torch.arange(WAYS).repeat_interleave(shots),
        torch.tensor(x[query]),
        torch.tensor(query_labels),
    )


def normalise(t):
    return t / t.norm(dim=1, keepdim=True)


def prototypes(s, sy):
    return normalise(torch.stack([s[sy == k].mean(0) for k in range(WAYS)]))


def fine_tune(s, sy, q, query_terms, marginal=None, steps=30, lr=0.01):
    """marginal: None for TIM's uniform term, a tensor for a fixed target, a callable of the
    detached mean prediction for a target re-estimated at every step."""
    w = prototypes(s, sy).clone().requires_grad_(True)
    opt = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        wn = normalise(w)
        loss = torch.nn.functional.cross_entropy(SCALE * s @ wn.T, sy)
        if query_terms:
            p = torch.softmax(SCALE * q @ wn.T, 1)
            loss = loss - 0.1 * (p * torch.log(p + 1e-12)).sum(1).mean()
            mean = p.mean(0)
            if marginal is None:
                loss = loss + (mean * torch.log(mean + 1e-12)).sum()
            else:
                target = marginal(mean.detach()) if callable(marginal) else marginal
                loss = loss + (mean * (torch.log(mean + 1e-12) - torch.log(target))).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return normalise(w.detach())


def saerens(logits, temperature, iterations=50):
    """EM estimate of the class proportions (Saerens et al. 2002) from uniform-prior posteriors."""
    posterior = torch.softmax(temperature * logits, 1)
    pi = torch.full((WAYS,), 1.0 / WAYS)
    for _ in range(iterations):
        w = posterior * pi
        pi = (w / w.sum(1, keepdim=True)).mean(0)
    return pi


def soft_kmeans_fit(s, sy, q, temperature, prior=True, iterations=20):
    """A soft k-means on the pool started at the prototypes, the support fixed to its class: the
    centres and the class proportions, estimated with them (`prior`) or held uniform."""
    centres = prototypes(s, sy)
    pi = torch.full((WAYS,), 1.0 / WAYS)
    for _ in range(iterations):
        r = torch.softmax(temperature * q @ centres.T + torch.log(pi), 1)
        if prior:
            pi = r.mean(0)
        centres = normalise(
            torch.stack([s[sy == k].sum(0) + (r[:, k:k + 1] * q).sum(0) for k in range(WAYS)]))
    return centres, pi


def soft_kmeans(s, sy, q, temperature, iterations=20):
    """Class proportions of a soft k-means on the pool, the support fixed to its class."""
    return soft_kmeans_fit(s, sy, q, temperature, iterations=iterations)[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("embeddings", help="a JSONL file written by `embed`")
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--pool", choices=["balanced", "dirichlet"], default="balanced")
    parser.add_argument("--alpha", type=float, default=2.0, help="Dirichlet concentration")
    parser.add_argument("--episodes", type=int, default=150)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, labels, class_count = load(args.embeddings)
    if class_count < WAYS:
        parser.error(f"expected at least {WAYS} classes in {args.embeddings}, found {class_count}")
    rng = np.random.default_rng(args.seed)
    acc, l1 = {}, {}
    for _ in range(args.episodes):
        s, sy, q, qy = episode(rng, x, labels, np.arange(class_count), args.shots, args.pool,
                               args.alpha)
        n = len(qy)
        truth = torch.bincount(qy, minlength=WAYS).float() / n
        p = prototypes(s, sy)
        estimates = {f"em@{t}": saerens(q @ p.T, t) for t in (4, 8, 15)}
        estimates.update({f"skm@{t}": soft_kmeans(s, sy, q, t) for t in (10, 20)})
        result = {
            "proto": p,
            "inductive": fine_tune(s, sy, q, query_terms=False),
            "tim": fine_tune(s, sy, q, query_terms=True),
            "oracle": fine_tune(s, sy, q, query_terms=True, marginal=truth),
        }
        l1.setdefault("uniform", []).append((truth - 1.0 / WAYS).abs().sum().item())
        for name, pi in estimates.items():
            l1.setdefault(name, []).append((pi - truth).abs().sum().item())
            result[name] = fine_tune(s, sy, q, True, marginal=pi.clamp_min(1e-3))
        for a in (1.0, 2.0, 5.0):
            result[f"joint@{a:g}"] = fine_tune(
                s, sy, q, True, marginal=lambda mean, a=a: (n * mean + a) / (n + WAYS * a))
        for name, w in result.items():
            acc.setdefault(name, []).append(((q @ w.T).argmax(1) == qy).float().mean().item())
    print(f"{args.shots} shot(s), {args.pool} pools"
          + (f" (alpha {args.alpha:g})" if args.pool == "dirichlet" else "")
          + f", {args.episodes} episodes, seed {args.seed}; accuracy % and paired differences")
    base = {k: 100 * np.asarray(v) for k, v in acc.items()}
    print(f"{'method':12s} {'accuracy':>9s} {'- inductive':>16s} {'- tim':>16s}")
    for name, v in base.items():
        cells = []
        for ref in ("inductive", "tim"):
            d = v - base[ref]
            cells.append(f"{d.mean():+6.2f} ± {1.96 * d.std(ddof=1) / np.sqrt(len(d)):.2f}")
        print(f"{name:12s} {v.mean():9.2f} {cells[0]:>16s} {cells[1]:>16s}")
    print("L1 distance of each estimate to the pool's true proportions ('uniform' is TIM's)")
    for name, v in l1.items():
        print(f"  {name:10s} {np.mean(v):.3f}")


if __name__ == "__main__":
    main()
