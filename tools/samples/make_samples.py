"""Writes the sample images that the `demo` command streams: Fashion-MNIST novel classes, and a few
images of one class that the demo never registers.

For each novel class (the classes the bundled backbone never saw: Pullover, Coat, Shirt, Sneaker,
Ankle boot) it takes the first PER_CLASS images of that class in the order of the TEST split file
and writes each as a 28x28 8-bit grayscale PNG named after its index in the test split:

  src/main/resources/samples/fashion-mnist-novel/<class name>/<test index>.png
  src/main/resources/samples/fashion-mnist-novel/index.tsv   (label, path, testIndex)
  src/main/resources/samples/fashion-mnist-novel/NOTICE      (attribution)

It also takes the first UNREGISTERED_COUNT images of UNREGISTERED (Bag, a base class) and
writes them the same way, in their own folder, for the demo and tests to stream as images of a
class no task registered:

  src/main/resources/samples/fashion-mnist-unregistered/Bag/<test index>.png
  src/main/resources/samples/fashion-mnist-unregistered/index.tsv   (label, path, testIndex)
  src/main/resources/samples/fashion-mnist-unregistered/NOTICE

The manifest exists because a classpath folder inside a jar cannot be listed. The output folder is
replaced as a whole, so the result depends only on the dataset files (and the PIL/zlib versions,
which decide the exact PNG bytes but never the pixels).

Run from anywhere with a Python that has numpy and PIL (on Debian, /usr/bin/python3):
    /usr/bin/python3 tools/samples/make_samples.py [DATASET_DIR]
DATASET_DIR defaults to /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist).
"""

import argparse
import gzip
import os
import shutil
import struct

import numpy as np
from PIL import Image

# Class names by label value, spelled as in io.fewshotstreams.dataset.FashionMnist.CLASS_NAMES.
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
NOVEL = [2, 4, 6, 7, 9]
PER_CLASS = 60
UNREGISTERED = 8
UNREGISTERED_COUNT = 30
UNREGISTERED_FOLDER = "Bag"

REPO_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT_DIR = os.path.join(REPO_ROOT, "src", "main", "resources", "samples", "fashion-mnist-novel")
UNREGISTERED_DIR = os.path.join(
    REPO_ROOT, "src", "main", "resources", "samples", "fashion-mnist-unregistered")

NOTICE = """\
Sample images from Fashion-MNIST (test split), Copyright (c) 2017 Zalando SE,
https://github.com/zalandoresearch/fashion-mnist, used under the MIT License.
Written by tools/samples/make_samples.py; file names are indices into the test split.
"""


def open_idx(dataset_dir, stem):
    gz = os.path.join(dataset_dir, stem + ".gz")
    if os.path.isfile(gz):
        return gzip.open(gz, "rb")
    return open(os.path.join(dataset_dir, stem), "rb")


def read_test_split(dataset_dir):
    with open_idx(dataset_dir, "t10k-labels-idx1-ubyte") as f:
        magic, count = struct.unpack(">II", f.read(8))
        assert magic == 0x801, "not an IDX label file: magic 0x%08x" % magic
        labels = np.frombuffer(f.read(count), dtype=np.uint8)
    with open_idx(dataset_dir, "t10k-images-idx3-ubyte") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, "not an IDX image file: magic 0x%08x" % magic
        assert n == count, "%d images but %d labels" % (n, count)
        images = np.frombuffer(f.read(n * rows * cols), dtype=np.uint8).reshape(n, rows, cols)
    return images, labels


def write_folder(out, images, labels, classes):
    """Writes the first images of each (label value, count, folder name) into out, replaced whole."""
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    rows = []
    for value, count, folder in classes:
        name = CLASS_NAMES[value]
        os.makedirs(os.path.join(out, folder))
        indices = np.flatnonzero(labels == value)[:count]
        assert len(indices) == count, "only %d images of %s" % (len(indices), name)
        for index in indices:
            rel = "%s/%d.png" % (folder, index)
            Image.fromarray(images[index], mode="L").save(
                os.path.join(out, rel), format="PNG", optimize=True)
            rows.append((name, rel, int(index)))
    with open(os.path.join(out, "index.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("label\tpath\ttestIndex\n")
        for name, rel, index in rows:
            f.write("%s\t%s\t%d\n" % (name, rel, index))
    with open(os.path.join(out, "NOTICE"), "w", encoding="utf-8", newline="\n") as f:
        f.write(NOTICE)
    total = sum(os.path.getsize(os.path.join(out, rel)) for _, rel, _ in rows)
    print("wrote %d images (%d bytes of PNG) and index.tsv to %s" % (len(rows), total, out))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset_dir", nargs="?", default="/usr/share/datasets/fashion-mnist",
                        help="folder of the Fashion-MNIST IDX files (plain or .gz)")
    parser.add_argument("--out", default=OUT_DIR, help="output folder (default: %(default)s)")
    parser.add_argument("--unregistered-out", default=UNREGISTERED_DIR,
                        help="output folder of the unregistered class (default: %(default)s)")
    args = parser.parse_args()

    images, labels = read_test_split(args.dataset_dir)
    write_folder(args.unregistered_out, images, labels,
                 [(UNREGISTERED, UNREGISTERED_COUNT, UNREGISTERED_FOLDER)])
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    rows = []
    for value in NOVEL:
        name = CLASS_NAMES[value]
        os.makedirs(os.path.join(args.out, name))
        indices = np.flatnonzero(labels == value)[:PER_CLASS]
        assert len(indices) == PER_CLASS, "only %d images of %s" % (len(indices), name)
        for index in indices:
            rel = "%s/%d.png" % (name, index)
            Image.fromarray(images[index], mode="L").save(
                os.path.join(args.out, rel), format="PNG", optimize=True)
            rows.append((name, rel, int(index)))
    with open(os.path.join(args.out, "index.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("label\tpath\ttestIndex\n")
        for name, rel, index in rows:
            f.write("%s\t%s\t%d\n" % (name, rel, index))
    with open(os.path.join(args.out, "NOTICE"), "w", encoding="utf-8", newline="\n") as f:
        f.write(NOTICE)
    total = sum(os.path.getsize(os.path.join(args.out, rel)) for _, rel, _ in rows)
    print("wrote %d images (%d bytes of PNG) and index.tsv to %s" % (len(rows), total, args.out))


if __name__ == "__main__":
    main()
