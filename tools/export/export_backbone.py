"""Exports an image backbone to ONNX plus the model card the service reads.

Input: a torchvision architecture name with a local weights file (a state dict saved by
torch.save), or a TorchScript file, or nothing but the architecture (random weights, said so in
the card). Nothing is downloaded: torchvision is never asked for pretrained weights.

Output, in --out:
  model.onnx            opset 13, input "image" [N, 3, H, W] with a dynamic batch axis, output
                        "features" [N, D]: the classifier head removed, features at the pooled layer
                        (or at --layer, flattened)
  model-card.json       everything the service needs: input size, mean/std, the resize policy and
                        interpolation from the model's own evaluation transforms, the sha-256
  golden-features.json  with --golden: PyTorch's features for those images, preprocessed by
                        torchvision/PIL exactly as the card says, for the Java side to compare

Examples (from the repository root, Debian's Python with python3-torch and python3-torchvision):
  /usr/bin/python3 tools/export/export_backbone.py --arch resnet18 --weights resnet18.pth \\
      --out backbones/resnet18
  /usr/bin/python3 tools/export/export_backbone.py --arch resnet18 --out /tmp/resnet18-random
  /usr/bin/python3 tools/export/export_backbone.py --torchscript model.pt --input-size 224 \\
      --resize-size 256 --mean 0.485 0.456 0.406 --std 0.229 0.224 0.225 --out backbones/mine
"""

import argparse
import hashlib
import json
import math
import os
import sys

import torch
import torchvision
from PIL import Image, ImageOps
from torchvision import transforms as T
from torchvision.transforms import functional as F

OPSET = 13
HEAD_NAMES = ("fc", "classifier", "heads", "head")
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
PIL_FILTERS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}


class TinyCnn(torch.nn.Module):
    """A few-kilobyte network for tests: two strided convolutions, average pooling, a head."""

    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, stride=2, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(8, 16, 3, stride=2, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(16, 16, 3, stride=2, padding=1),
        )
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(16, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


class Flattened(torch.nn.Module):
    """Features of a named layer, flattened to [N, D]."""

    def __init__(self, extractor, node):
        super().__init__()
        self.extractor = extractor
        self.node = node

    def forward(self, x):
        return torch.flatten(self.extractor(x)[self.node], 1)


def eval_transforms(arch):
    """resize size, crop size, mean, std and interpolation of the architecture's first weights
    enum entry. Only the transforms' constants are read; no weights are fetched."""
    if arch == "tiny-cnn":
        return None
    try:
        weights = torchvision.models.get_model_weights(arch)
    except (ValueError, KeyError):
        return None
    t = list(weights)[0].transforms()
    return {
        "resize_size": t.resize_size[0] if t.resize_size else None,
        "crop_size": t.crop_size[0],
        "mean": list(t.mean),
        "std": list(t.std),
        "interpolation": t.interpolation.value,
        "weights_enum": str(list(weights)[0]),
    }


def load_state_dict(path):
    state = torch.load(path, map_location="cpu")
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(state, dict) and key in state and isinstance(state[key], dict):
            state = state[key]
    if not isinstance(state, dict):
        sys.exit(f"expected a state dict in {path}, found {type(state).__name__}; for a whole"
                 " pickled model save its state_dict(), or export it with --torchscript")
    # Checkpoints from DataParallel prefix every key with "module.".
    return {k[7:] if k.startswith("module.") else k: v for k, v in state.items()}


def build_model(args):
    if args.torchscript:
        if args.layer:
            sys.exit("--layer needs a torchvision architecture; a TorchScript module is exported"
                     " as it is and must already return [N, D] features")
        return torch.jit.load(args.torchscript, map_location="cpu").eval(), "torchscript"
    torch.manual_seed(args.seed)
    if args.arch == "tiny-cnn":
        model = TinyCnn()
    else:
        # weights=None: architecture only. Pretrained weights come from --weights, never the net.
        model = torchvision.models.get_model(args.arch, weights=None)
    if args.weights:
        model.load_state_dict(load_state_dict(args.weights))
        provenance = "weights file " + os.path.basename(args.weights)
    else:
        provenance = "random"
    model.eval()
    if args.layer:
        from torchvision.models.feature_extraction import create_feature_extractor
        model = Flattened(create_feature_extractor(model, return_nodes=[args.layer]), args.layer)
    else:
        heads = [name for name, _ in model.named_children() if name in HEAD_NAMES]
        if not heads:
            sys.exit(f"found no classifier head among {HEAD_NAMES} in {args.arch};"
                     " name the feature layer with --layer")
        setattr(model, heads[-1], torch.nn.Identity())
    return model.eval(), provenance


def resize_spec(args, transforms):
    """The card's resize object and the input size, from the flags or the eval transforms."""
    policy = args.policy
    interpolation = args.interpolation or (transforms or {}).get("interpolation", "bilinear")
    if interpolation not in PIL_FILTERS:
        sys.exit(f"expected interpolation bilinear or bicubic, found {interpolation}")
    height = args.input_size[0] if args.input_size else (transforms or {}).get("crop_size")
    width = args.input_size[-1] if args.input_size else height
    if height is None:
        sys.exit("give --input-size: the architecture has no evaluation transforms to read it from")
    resize = {"policy": policy, "interpolation": interpolation}
    if policy == "shorter-side":
        size = args.resize_size or (transforms or {}).get("resize_size")
        if size is None:
            size = int(math.floor(max(height, width) / 0.875))  # torchvision's usual 256 for 224
        resize["size"] = size
    elif policy == "letterbox":
        resize["padColor"] = args.pad_color
    return resize, height, width


def prepare(path, card):
    """The input tensor for one image, made with PIL and torchvision as the card says."""
    img = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    h, w = card["height"], card["width"]
    resize = card["resize"]
    pil_filter = PIL_FILTERS[resize["interpolation"]]
    interp = T.InterpolationMode(resize["interpolation"])
    if resize["policy"] == "stretch":
        img = img.resize((w, h), pil_filter)
    elif resize["policy"] == "shorter-side":
        img = T.Resize(resize["size"], interpolation=interp)(img)
        img = T.CenterCrop((h, w))(img)
    else:  # letterbox: fit inside, keep the aspect ratio, centre on the pad colour
        scale = min(w / img.width, h / img.height)
        fw = min(w, max(1, int(math.floor(img.width * scale + 0.5))))
        fh = min(h, max(1, int(math.floor(img.height * scale + 0.5))))
        canvas = Image.new("RGB", (w, h), tuple(resize["padColor"]))
        canvas.paste(img.resize((fw, fh), pil_filter), ((w - fw) // 2, (h - fh) // 2))
        img = canvas
    pixels = F.pil_to_tensor(img)  # uint8 [3, H, W]
    x = F.normalize(F.convert_image_dtype(pixels, torch.float), card["mean"], card["std"])
    return x, hashlib.sha256(pixels.numpy().tobytes()).hexdigest()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--arch", help="torchvision architecture (resnet18, mobilenet_v3_large,"
                     " vit_b_16, ...) or tiny-cnn (a few-KB test network)")
    src.add_argument("--torchscript", help="a TorchScript file whose forward returns [N, D]")
    p.add_argument("--weights", help="state dict (.pth) for --arch; without it: random weights")
    p.add_argument("--layer", help="take features at this graph node (torchvision feature"
                   " extraction names, e.g. layer4 or avgpool), flattened; default: the input of"
                   " the classifier head")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--id", help="backbone id in the card (default: from the architecture)")
    p.add_argument("--policy", default="shorter-side",
                   choices=["stretch", "shorter-side", "letterbox"])
    p.add_argument("--interpolation", choices=["bilinear", "bicubic"],
                   help="default: the eval transforms', else bilinear")
    p.add_argument("--input-size", type=int, nargs="+", metavar="N",
                   help="H [W] of the network input (default: the eval transforms' crop)")
    p.add_argument("--resize-size", type=int,
                   help="shorter-side: the shorter side before the crop (default: eval transforms')")
    p.add_argument("--pad-color", type=int, nargs=3, default=[0, 0, 0], metavar=("R", "G", "B"))
    p.add_argument("--mean", type=float, nargs=3, help="default: eval transforms', else ImageNet")
    p.add_argument("--std", type=float, nargs=3, help="default: eval transforms', else ImageNet")
    p.add_argument("--golden", nargs="*", default=[], metavar="IMAGE",
                   help="images whose PyTorch features go to golden-features.json")
    p.add_argument("--seed", type=int, default=0, help="seed of random weights")
    p.add_argument("--onnx-file", default="model.onnx")
    args = p.parse_args()

    transforms = eval_transforms(args.arch) if args.arch else None
    model, provenance = build_model(args)
    resize, height, width = resize_spec(args, transforms)
    mean = args.mean or (transforms or {}).get("mean") or IMAGENET_MEAN
    std = args.std or (transforms or {}).get("std") or IMAGENET_STD
    name = args.arch or os.path.splitext(os.path.basename(args.torchscript))[0]

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, args.onnx_file)
    example = torch.zeros(2, 3, height, width)
    with torch.no_grad():
        feature_size = model(example).shape[1]
        torch.onnx.export(model, example, onnx_path, input_names=["image"],
                          output_names=["features"],
                          dynamic_axes={"image": {0: "batch"}, "features": {0: "batch"}},
                          opset_version=OPSET, do_constant_folding=True)
    with open(onnx_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()

    random = provenance == "random"
    card = {
        "schemaVersion": 1,
        "id": args.id or (name + ("-random" if random else "")),
        "description": (f"{name}, classifier head removed, features at "
                        f"{args.layer or 'the pooled layer'}; "
                        + ("RANDOM WEIGHTS (seed %d): not trained, for tests and speed"
                           " measurements only" % args.seed if random else provenance)),
        "onnxFile": args.onnx_file,
        "onnxSha256": digest,
        "inputName": "image",
        "layout": "NCHW",
        "channels": 3,
        "height": height,
        "width": width,
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "background": "black",
        "resize": resize,
        "outputName": "features",
        "featureSize": int(feature_size),
        "training": {
            "weights": "random" if random else provenance,
            "seed": args.seed if random else None,
            "source": args.torchscript and os.path.basename(args.torchscript) or args.arch,
            "layer": args.layer or "pooled (head removed)",
            "evalTransforms": transforms["weights_enum"] if transforms else
            "none known: flags and defaults",
            "exporter": "tools/export/export_backbone.py",
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "opset": OPSET,
        },
    }
    with open(os.path.join(args.out, "model-card.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")

    if args.golden:
        names, sums, tensors = [], [], []
        for path in args.golden:
            x, pixel_sha = prepare(path, card)
            names.append(os.path.basename(path))
            sums.append(pixel_sha)
            tensors.append(x)
        with torch.no_grad():
            features = model(torch.stack(tensors)).tolist()
        golden = {
            "card": "model-card.json",
            "images": names,
            "pixelsSha256": sums,
            "features": [[round(v, 7) for v in row] for row in features],
        }
        with open(os.path.join(args.out, "golden-features.json"), "w") as f:
            json.dump(golden, f)
            f.write("\n")

    print(f"{onnx_path}: {os.path.getsize(onnx_path)} bytes, features [N, {feature_size}],"
          f" input 3x{height}x{width}, resize {resize}, weights {provenance}")


if __name__ == "__main__":
    main()
