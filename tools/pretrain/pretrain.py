#!/usr/bin/env python3
"""Pretrain the default fewshot-streams backbone on the Fashion-MNIST base classes.

Trains a small CNN as an ordinary supervised classifier on the base classes
{0 T-shirt/top, 1 Trouser, 3 Dress, 5 Sandal, 8 Bag} (train split only), drops the
final fully-connected layer and exports the remaining feature extractor to ONNX,
together with the model card described in the project's model-card format.

After training it measures what matters for few-shot use: 5-way 1-shot and 5-shot
accuracy of the prototype classifier on the NOVEL classes {2, 4, 6, 7, 9}, using
novel images of the train split only (the test split is never used for choosing).

Reproduce the committed model:
    python3 tools/pretrain/pretrain.py --out src/main/resources/backbone
"""

import argparse
import gzip
import hashlib
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
BASE_CLASSES = [0, 1, 3, 5, 8]
NOVEL_CLASSES = [2, 4, 6, 7, 9]
MEAN = 0.2860
STD = 0.3530
DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"


# ---------------------------------------------------------------- data

def read_idx(path):
    """Reads a gzipped IDX file into a numpy array (uint8 images or labels)."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(data_dir, prefix + "-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, prefix + "-labels-idx1-ubyte.gz")).astype(np.int64)
    return images, labels


def normalise(images_u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28], (x/255 - mean)/std as the model card states."""
    x = images_u8.astype(np.float32) / 255.0
    return torch.from_numpy((x - MEAN) / STD).unsqueeze(1)


# ---------------------------------------------------------------- models

def conv_bn(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a (1x1 projected) shortcut."""

    def __init__(self, cin, cout):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(cout)
        self.short = None
        if cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        s = x if self.short is None else self.short(x)
        y = F.relu(self.b1(self.c1(x)), inplace=True)
        y = self.b2(self.c2(y))
        return F.relu(y + s, inplace=True)


def parse_readout(spec):
    """"3:3,4:1" -> [(3, 3), (4, 1)]: (1-based stage, pooling grid) pairs."""
    out = []
    for part in spec.split(","):
        st, grid = part.split(":")
        out.append((int(st), int(grid)))
    return out


def grid_pool(m, size, grid):
    """Average-pools a [N,C,size,size] map onto a grid x grid layout and flattens it to [N, C*grid*grid].

    Uses a fixed kernel and stride equal to adaptive pooling (e.g. 7 -> 3 is kernel 3, stride 2)
    so that the ONNX graph contains a plain AveragePool.
    """
    s = size
    if grid == 1:
        return m.mean(dim=(2, 3))
    if grid == s:
        return m.flatten(1)
    k = -(-s // grid)
    stride = (s - k) // (grid - 1)
    if (s - k) % (grid - 1) != 0:
        raise ValueError("cannot pool a %dx%d map onto a %dx%d grid with one kernel" % (
            s, s, grid, grid))
    return F.avg_pool2d(m, k, stride).flatten(1)


STAGE_SIZES = [28, 14, 7, 3]


class Backbone(nn.Module):
    """Feature extractor: image [N,1,28,28] -> features [N,d] (non-negative, after ReLU).

    arch "cnn4": conv blocks, max-pool before every block but the first (28 -> 14 -> 7 -> 3).
    arch "res":  stem conv, then one residual block per stage with max-pool before each stage
                 (28 -> 14 -> 7 -> 3); widths from --widths (stem width first).
    The readout concatenates average-pooled stage outputs: "4:1" is global average pooling of
    stage 4, "3:3" pools stage 3 (7x7) onto a 3x3 grid and keeps the layout, which carries
    where on the garment a pattern sits.
    """

    def __init__(self, arch, widths, readout):
        super().__init__()
        self.stages = nn.ModuleList()
        if arch == "cnn4":
            cin = 1
            for w in widths:
                self.stages.append(conv_bn(cin, w))
                cin = w
        elif arch == "res":
            self.stages.append(conv_bn(1, widths[0]))
            cin = widths[0]
            for w in widths[1:]:
                self.stages.append(ResBlock(cin, w))
                cin = w
        else:
            raise ValueError("unknown arch %r, expected cnn4 or res" % arch)
        self.widths = widths
        self.readout = parse_readout(readout)
        self.feature_size = self.size_of(self.readout)

    def size_of(self, readout):
        return sum(self.widths[st - 1] * g * g for st, g in readout)

    def maps(self, x):
        out = []
        for i, stage in enumerate(self.stages):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = stage(x)
            out.append(x)
        return out

    @staticmethod
    def read(maps, readout):
        return torch.cat([grid_pool(maps[st - 1], STAGE_SIZES[st - 1], g)
                          for st, g in readout], dim=1)

    def forward(self, x):
        return self.read(self.maps(x), self.readout)


class Projected(nn.Module):
    """Backbone followed by a fixed linear projection: (f - centre) @ basis, basis [d, k]."""

    def __init__(self, backbone, centre, basis):
        super().__init__()
        self.backbone = backbone
        self.register_buffer("centre", centre.clone())
        self.register_buffer("basis", basis.clone())
        self.feature_size = basis.shape[1]

    def forward(self, x):
        return (self.backbone(x) - self.centre) @ self.basis


def fit_pca(backbone, x_base, k, samples, seed):
    """Top-k principal directions of the backbone's features of (a sample of) base images."""
    rng = np.random.RandomState(seed)
    pick = np.sort(rng.choice(x_base.shape[0], min(samples, x_base.shape[0]), replace=False))
    f = features_of(backbone, x_base[pick]).double()
    centre = f.mean(0)
    f = f - centre
    # Eigen-decompose the n x n Gram matrix rather than the d x d covariance: n is a few
    # thousand while d can be several thousand more, and the directions are the same.
    vals, vecs = torch.linalg.eigh(f @ f.T)
    order = torch.argsort(vals, descending=True)[:k]
    kept = float(vals[order].sum() / vals.clamp(min=0).sum())
    basis = f.T @ vecs[:, order] / vals[order].sqrt()
    return centre.float(), basis.float(), kept


class Classifier(nn.Module):
    """Backbone plus the base-class head (on the train readout) and optional rotation head."""

    def __init__(self, backbone, n_classes, train_readout, rotation_head):
        super().__init__()
        self.backbone = backbone
        self.train_readout = parse_readout(train_readout)
        d = backbone.size_of(self.train_readout)
        self.fc = nn.Linear(d, n_classes)
        self.rot = nn.Linear(d, 4) if rotation_head else None

    def forward(self, x):
        f = Backbone.read(self.backbone.maps(x), self.train_readout)
        return f, self.fc(f), (self.rot(f) if self.rot is not None else None)


# ---------------------------------------------------------------- augmentation

def augment(x, gen, shift, flip, erase):
    """Batch augmentation on normalised images [B,1,28,28]; background value is the normalised 0."""
    b = x.shape[0]
    bg = -MEAN / STD
    if shift > 0:
        xp = F.pad(x, (shift, shift, shift, shift), value=bg)
        dy = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
        dx = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
        ar = torch.arange(28)
        rows = (dy[:, None] + ar[None, :])
        cols = (dx[:, None] + ar[None, :])
        x = xp[torch.arange(b)[:, None, None], 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)
    if flip:
        m = torch.rand(b, generator=gen) < 0.5
        x = torch.where(m[:, None, None, None], x.flip(-1), x)
    if erase > 0:
        m = torch.rand(b, generator=gen) < erase
        h = torch.randint(6, 15, (b,), generator=gen)
        w = torch.randint(6, 15, (b,), generator=gen)
        y0 = (torch.rand(b, generator=gen) * (28 - h + 1)).long()
        x0 = (torch.rand(b, generator=gen) * (28 - w + 1)).long()
        ar = torch.arange(28)
        rin = (ar[None, :] >= y0[:, None]) & (ar[None, :] < (y0 + h)[:, None])
        cin = (ar[None, :] >= x0[:, None]) & (ar[None, :] < (x0 + w)[:, None])
        box = (rin[:, :, None] & cin[:, None, :]) & m[:, None, None]
        x = torch.where(box[:, None], torch.full_like(x, bg), x)
    return x


def rotate_batch(x, k):
    """Rotates each image by k[i]*90 degrees."""
    out = x.clone()
    for r in (1, 2, 3):
        m = k == r
        if m.any():
            out[m] = torch.rot90(x[m], r, dims=(2, 3))
    return out


# ---------------------------------------------------------------- training

def train(args, x_train, y_train, log):
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    rng = np.random.RandomState(args.seed)
    backbone = Backbone(args.arch, args.widths, args.readout)
    model = Classifier(backbone, len(BASE_CLASSES), args.train_readout or args.readout,
                       args.rot_weight > 0)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=args.wd)
    n = x_train.shape[0]
    steps_per_epoch = n // args.batch
    total = steps_per_epoch * args.epochs
    warm = steps_per_epoch // 2
    step = 0
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = rng.permutation(n)
        tot_loss = tot_acc = 0.0
        for i in range(steps_per_epoch):
            lr = args.lr * (step + 1) / warm if step < warm else \
                0.5 * args.lr * (1 + math.cos(math.pi * (step - warm) / (total - warm)))
            for g in opt.param_groups:
                g["lr"] = lr
            idx = torch.from_numpy(perm[i * args.batch:(i + 1) * args.batch])
            xb = augment(x_train[idx], gen, args.shift, args.flip, args.erase)
            yb = y_train[idx]
            if args.rot_weight > 0:
                k = torch.randint(1, 4, (xb.shape[0],), generator=gen)
                xr = rotate_batch(xb, k)
                _, logits, rlog = model(torch.cat([xb, xr]))
                b = xb.shape[0]
                loss = F.cross_entropy(logits[:b], yb, label_smoothing=args.smooth)
                rot_target = torch.cat([torch.zeros(b, dtype=torch.long), k])
                loss = loss + args.rot_weight * F.cross_entropy(rlog, rot_target)
                logits = logits[:b]
            else:
                _, logits, _ = model(xb)
                loss = F.cross_entropy(logits, yb, label_smoothing=args.smooth)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            tot_loss += loss.item()
            tot_acc += (logits.argmax(1) == yb).float().mean().item()
        log("epoch %d/%d loss %.4f train-acc %.4f lr %.4f elapsed %.0fs" % (
            epoch + 1, args.epochs, tot_loss / steps_per_epoch, tot_acc / steps_per_epoch, lr,
            time.time() - t0))
    return model, time.time() - t0


@torch.no_grad()
def features_of(backbone, x, batch=1000):
    backbone.eval()
    return torch.cat([backbone(x[i:i + batch]) for i in range(0, x.shape[0], batch)])


@torch.no_grad()
def logits_of(model, x, batch=1000):
    model.eval()
    return torch.cat([model(x[i:i + batch])[1] for i in range(0, x.shape[0], batch)])


# ---------------------------------------------------------------- few-shot evaluation

def episodes_accuracy(feats, labels, shots, episodes, queries, seed, centre=None):
    """5-way prototype accuracy: mean and 95% half-interval over seeded episodes.

    Features are L2-normalised (after subtracting centre, if given); prototype =
    normalize(mean of normalised support features); prediction = argmax cosine.
    """
    f = feats if centre is None else feats - centre
    f = F.normalize(f, dim=1)
    classes = sorted(set(labels.tolist()))
    by_class = [np.nonzero(labels == c)[0] for c in classes]
    rng = np.random.RandomState(seed)
    accs = []
    for _ in range(episodes):
        protos, qf, qy = [], [], []
        for ci, pool in enumerate(by_class):
            pick = rng.choice(pool, shots + queries, replace=False)
            protos.append(F.normalize(f[pick[:shots]].mean(0), dim=0))
            qf.append(f[pick[shots:]])
            qy.append(np.full(queries, ci))
        pred = (torch.cat(qf) @ torch.stack(protos).T).argmax(1).numpy()
        accs.append(float((pred == np.concatenate(qy)).mean()))
    accs = np.array(accs)
    return float(accs.mean()), float(1.96 * accs.std(ddof=1) / math.sqrt(len(accs)))


def evaluate(backbone, model, data, args, log):
    x_base_train, x_base_test, y_base_test, x_novel, y_novel = data
    base_mean = features_of(backbone, x_base_train).mean(0)
    extra = args.extra_readouts if isinstance(backbone, Backbone) else None
    for spec in extra.split(";") if extra else []:
        saved = backbone.readout
        backbone.readout = parse_readout(spec)
        nf = features_of(backbone, x_novel)
        backbone.readout = saved
        accs = [episodes_accuracy(nf, y_novel, s, args.episodes, args.queries, args.eval_seed)
                for s in (1, 5)]
        log("readout %-12s d=%5d 1-shot %.2f%% +- %.2f, 5-shot %.2f%% +- %.2f" % (
            spec, nf.shape[1], 100 * accs[0][0], 100 * accs[0][1], 100 * accs[1][0],
            100 * accs[1][1]))
    test_acc = None
    if model is not None:
        test_acc = float((logits_of(model, x_base_test).argmax(1) == y_base_test).float().mean())
    nf = features_of(backbone, x_novel)
    results = {"baseTestAccuracy": test_acc}
    for centred in (False, True):
        for shots in (1, 5):
            m, h = episodes_accuracy(nf, y_novel, shots, args.episodes, args.queries,
                                     args.eval_seed, base_mean if centred else None)
            key = "novelTrain%dShot%s" % (shots, "Centred" if centred else "")
            results[key] = {"mean": round(m, 4), "ci95": round(h, 4)}
    if test_acc is not None:
        log("base test accuracy %.4f" % test_acc)
    for k, v in results.items():
        if k != "baseTestAccuracy":
            log("%-24s %.2f%% +- %.2f" % (k, 100 * v["mean"], 100 * v["ci95"]))
    return base_mean, results


# ---------------------------------------------------------------- export

def export(backbone, base_mean, test_acc, results, args, train_seconds, out_dir, log):
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, "backbone.onnx")
    backbone.eval()
    dummy = torch.zeros(2, 1, 28, 28)
    torch.onnx.export(backbone, dummy, onnx_path, input_names=["image"],
                      output_names=["features"], opset_version=13,
                      dynamic_axes={"image": {0: "N"}, "features": {0: "N"}},
                      do_constant_folding=True)
    with open(onnx_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    arch_text = "%s widths=%s, readout %s (stage:grid average pooling), classifier on %s%s" % (
        args.arch, "-".join(map(str, args.widths)), args.readout,
        args.train_readout or args.readout,
        ", PCA to %d dimensions (%d base images)" % (args.pca, args.pca_samples) if args.pca else "")
    card = {
        "schemaVersion": 1,
        "id": args.model_id,
        "description": ("CNN feature extractor trained as a supervised classifier on the five "
                        "Fashion-MNIST base classes (train split); final fully-connected layer "
                        "dropped; features are average-pooled ReLU activations (readout %s)%s." % (
                            args.readout,
                            ", projected onto their top %d principal directions over base-class "
                            "images" % args.pca if args.pca else "")),
        "onnxFile": "backbone.onnx",
        "onnxSha256": sha,
        "inputName": "image",
        "layout": "NCHW",
        "channels": 1,
        "height": 28,
        "width": 28,
        "mean": [MEAN],
        "std": [STD],
        "background": "black",
        "outputName": "features",
        "featureSize": backbone.feature_size,
        "baseClasses": [CLASS_NAMES[c] for c in BASE_CLASSES],
        "baseMean": [round(float(v), 6) for v in base_mean],
        "trainingAccuracy": round(test_acc, 4),
        "training": {
            "dataset": "Fashion-MNIST, train split, base classes only",
            "seed": args.seed,
            "epochs": args.epochs,
            "batchSize": args.batch,
            "optimizer": "SGD nesterov momentum 0.9, weight decay %g, lr %g, "
                         "half-epoch linear warm-up then cosine decay" % (args.wd, args.lr),
            "architecture": arch_text,
            "augmentation": "random shift +-%d px%s%s" % (
                args.shift, ", horizontal flip p=0.5" if args.flip else "",
                (", random erasing p=%g (6-14 px boxes)" % args.erase) if args.erase > 0 else ""),
            "labelSmoothing": args.smooth,
            "auxiliaryLosses": (["rotation prediction (4 rotations, weight %g)" % args.rot_weight]
                                if args.rot_weight > 0 else []),
            "trainingSeconds": round(train_seconds, 1),
            "torchVersion": torch.__version__,
            "fewShotEvaluation": {
                "protocol": ("5-way prototype classifier on novel classes (Pullover, Coat, Shirt, "
                             "Sneaker, Ankle boot), train-split images (first %d per class), %d seeded "
                             "episodes (seed %d), %d queries per class" % (
                                 args.eval_pool, args.episodes, args.eval_seed, args.queries)),
                **{k: v for k, v in results.items() if k != "baseTestAccuracy"},
            },
            "command": args.command,
        },
    }
    with open(os.path.join(out_dir, "model-card.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    if args.scratch:
        os.makedirs(args.scratch, exist_ok=True)
        trunk = backbone.backbone if isinstance(backbone, Projected) else backbone
        torch.save(trunk.state_dict(), os.path.join(args.scratch, "backbone.pt"))
    log("wrote %s (%d bytes, sha256 %s) and model-card.json" % (
        onnx_path, os.path.getsize(onnx_path), sha))


def write_golden(model, images, path, log, count=4):
    """Exported features of the first test images, which the Java tests compare with ONNX Runtime."""
    feats = features_of(model, normalise(images[:count]))
    golden = {"source": "Fashion-MNIST test split (t10k-images-idx3-ubyte.gz), images 0-%d" % (count - 1),
              "indices": list(range(count)),
              "features": [[round(float(a), 6) for a in v] for v in feats]}
    with open(path, "w") as f:
        json.dump(golden, f)
        f.write("\n")
    log("wrote golden features of %d test images to %s" % (count, path))


def write_features(backbone, images, labels, split, out_path, per_class):
    """JSON Lines of raw (not normalised) features of novel-class images of one split."""
    idx = []
    for c in NOVEL_CLASSES:
        idx.extend(np.nonzero(labels == c)[0][:per_class].tolist())
    idx.sort()
    feats = features_of(backbone, normalise(images[idx]))
    with open(out_path, "w") as f:
        for i, v in zip(idx, feats):
            f.write(json.dumps({"path": "fmnist:%s:%d" % (split, i),
                                "label": CLASS_NAMES[labels[i]],
                                "embedding": [round(float(a), 6) for a in v]}) + "\n")


# ---------------------------------------------------------------- main

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=DEFAULT_DATA, help="folder with the gzipped IDX files")
    p.add_argument("--out", default=None, help="folder for backbone.onnx and model-card.json")
    p.add_argument("--model-id", default="fmnist-base5-res-v3")
    p.add_argument("--arch", default="res", choices=["cnn4", "res"])
    p.add_argument("--widths", default="32,64,128,256",
                   type=lambda s: [int(v) for v in s.split(",")])
    p.add_argument("--readout", default="3:3,4:1",
                   help="exported features: stage:grid pairs, e.g. 4:1 = global pool of stage 4")
    p.add_argument("--train-readout", default="3:1,4:1",
                   help="features the base classifier is trained on (default: --readout)")
    p.add_argument("--pca", type=int, default=256,
                   help="project the exported features onto their top-K principal directions "
                        "over base-class images (0 = no projection)")
    p.add_argument("--pca-samples", type=int, default=3000,
                   help="base images the principal directions are estimated from")
    p.add_argument("--golden", default=None,
                   help="also write the exported features of the first test images here (JSON), "
                        "for the Java embedder's golden test")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--wd", type=float, default=5e-4)
    p.add_argument("--smooth", type=float, default=0.1, help="label smoothing")
    p.add_argument("--shift", type=int, default=2, help="max random shift in pixels")
    p.add_argument("--flip", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--erase", type=float, default=0.0, help="random-erasing probability")
    p.add_argument("--rot-weight", type=float, default=0.5,
                   help="weight of the rotation-prediction loss (0 = off)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--train-limit", type=int, default=0,
                   help="use only the first N base images per class (0 = all), for quick trials")
    p.add_argument("--episodes", type=int, default=400)
    p.add_argument("--queries", type=int, default=15)
    p.add_argument("--eval-pool", type=int, default=2000,
                   help="novel train-split images per class that episodes are drawn from")
    p.add_argument("--extra-readouts", default="",
                   help="other readouts to report few-shot accuracy for, separated by ';'")
    p.add_argument("--eval-seed", type=int, default=2024)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--features-dir", default=None,
                   help="also write novel-class features (JSON Lines) and the base mean here")
    p.add_argument("--features-version", default="1")
    p.add_argument("--scratch", default=None, help="folder to keep the PyTorch weights in")
    p.add_argument("--eval-only", default=None, metavar="ONNX_DIR",
                   help="evaluate weights saved with --scratch in this folder instead of training")
    args = p.parse_args()
    # the command that reproduces this model: output folder plus every non-default training option
    model_keys = ["data", "model_id", "arch", "widths", "readout", "train_readout", "epochs",
                  "batch", "lr", "wd", "smooth", "shift", "flip", "erase", "rot_weight", "seed",
                  "train_limit", "threads", "pca", "pca_samples"]
    parts = ["python3 tools/pretrain/pretrain.py", "--out", str(args.out)]
    for k in model_keys:
        v, d = getattr(args, k), p.get_default(k)
        if k == "widths":
            d = [int(a) for a in d.split(",")]
        if v != d:
            flag = "--" + k.replace("_", "-")
            if isinstance(v, bool):
                parts.append(flag if v else "--no-" + k.replace("_", "-"))
            else:
                parts += [flag, ",".join(map(str, v)) if isinstance(v, list) else str(v)]
    args.command = " ".join(parts)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    def log(msg):
        print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)

    tr_img, tr_lab = load_split(args.data, "train")
    te_img, te_lab = load_split(args.data, "test")
    base_map = {c: i for i, c in enumerate(BASE_CLASSES)}
    btr = np.isin(tr_lab, BASE_CLASSES)
    bte = np.isin(te_lab, BASE_CLASSES)
    x_base_train = normalise(tr_img[btr])
    y_base_train = torch.tensor([base_map[c] for c in tr_lab[btr]])
    x_base_test = normalise(te_img[bte])
    y_base_test = torch.tensor([base_map[c] for c in te_lab[bte]])
    ntr = np.concatenate([np.nonzero(tr_lab == c)[0][:args.eval_pool] for c in NOVEL_CLASSES])
    ntr.sort()
    x_novel = normalise(tr_img[ntr])
    y_novel = tr_lab[ntr]

    x_fit, y_fit = x_base_train, y_base_train
    if args.train_limit:
        keep = np.concatenate([np.nonzero(y_base_train.numpy() == c)[0][:args.train_limit]
                               for c in range(len(BASE_CLASSES))])
        keep.sort()
        x_fit, y_fit = x_base_train[keep], y_base_train[keep]
    data = (x_fit, x_base_test, y_base_test, x_novel, y_novel)

    if args.eval_only:
        backbone = Backbone(args.arch, args.widths, args.readout)
        backbone.load_state_dict(torch.load(os.path.join(args.eval_only, "backbone.pt")))
        evaluate(backbone, None, data, args, log)
        return

    log("training %s widths=%s readout=%s train-readout=%s on %d base images" % (
        args.arch, args.widths, args.readout, args.train_readout, x_fit.shape[0]))
    model, seconds = train(args, x_fit, y_fit, log)
    log("training took %.0f s" % seconds)
    t1 = time.time()
    base_mean, results = evaluate(model.backbone, model, data, args, log)
    exported = model.backbone
    if args.pca:
        centre, basis, kept = fit_pca(model.backbone, x_fit, args.pca, args.pca_samples, args.seed)
        log("PCA %d -> %d keeps %.1f%% of the base-feature variance" % (
            model.backbone.feature_size, args.pca, 100 * kept))
        exported = Projected(model.backbone, centre, basis)
        base_mean, results = evaluate(exported, model, data, args, log)
        results["pcaVarianceKept"] = round(kept, 4)
    log("evaluation took %.0f s" % (time.time() - t1))
    print("RESULT " + json.dumps({"args": {k: v for k, v in vars(args).items()},
                                  "trainSeconds": round(seconds, 1), **results}), flush=True)
    if args.out:
        export(exported, base_mean, results["baseTestAccuracy"], results, args, seconds,
               args.out, log)
    if args.golden:
        write_golden(exported, te_img, args.golden, log)
    if args.features_dir:
        os.makedirs(args.features_dir, exist_ok=True)
        v = args.features_version
        write_features(exported, tr_img, tr_lab, "train",
                       os.path.join(args.features_dir, "novel-train-v%s.jsonl" % v), 1000)
        write_features(exported, te_img, te_lab, "test",
                       os.path.join(args.features_dir, "novel-test-v%s.jsonl" % v), 1000)
        with open(os.path.join(args.features_dir, "base-mean-v%s.json" % v), "w") as f:
            json.dump({"baseMean": [round(float(a), 6) for a in base_mean]}, f)
            f.write("\n")
        log("wrote features version %s to %s" % (v, args.features_dir))


if __name__ == "__main__":
    main()
