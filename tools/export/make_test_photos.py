"""Writes the small test photographs under src/test/resources/photos/.

They are synthetic scenes (gradients, discs, bars and a little deterministic texture), drawn with
PIL so that no third-party picture and no licence is involved. The set covers what real cameras
and scanners produce and what the preprocessing policies must handle:

  landscape-160x120.jpg   4:3 landscape, the common camera shape
  portrait-120x160.png    3:4 portrait (PNG: decoded identically by every decoder)
  panorama-300x100.png    3:1, far from square: the letterbox and the crop differ most
  small-64x48.png         smaller than a tiny model's resize size: the filters enlarge
  square-200x200.png      1:1
  rotated-exif6.png       portrait-120x160 stored on its side (160x120 pixels) with EXIF
                          orientation 6 in an eXIf chunk: upright, it equals portrait-120x160.png
  upright-128x160.jpg     4:5 portrait JPEG, 128 and 160 both multiples of the 16-pixel JPEG block
  rotated-exif6.jpg       upright-128x160.jpg's content stored on its side in a JPEG with EXIF
                          orientation 6, as a phone held upright writes it
  cmyk-160x120.jpg        landscape-160x120.jpg's pixels as an Adobe CMYK JPEG (print and scan
                          workflows); its upright RGB twin is landscape-160x120.jpg

Run from the repository root with Debian's Python (PIL 9.4):
    /usr/bin/python3 tools/export/make_test_photos.py
The output is deterministic for a given PIL and libjpeg.
"""

import math
import os

from PIL import Image, ImageDraw

OUT = os.path.join("src", "test", "resources", "photos")
ORIENTATION = 0x0112


def scene(width, height, seed):
    """A smooth colourful scene with a few hard edges, so that the filters have work to do."""
    img = Image.new("RGB", (width, height))
    px = img.load()
    for y in range(height):
        for x in range(width):
            u, v = x / max(1, width - 1), y / max(1, height - 1)
            # Low-amplitude deterministic texture: keeps the files small but not flat.
            t = int(12 * math.sin((x * 0.9 + y * 0.4 + seed) * 0.7))
            px[x, y] = (
                max(0, min(255, int(40 + 200 * u) + t)),
                max(0, min(255, int(220 - 150 * v) - t)),
                max(0, min(255, int(60 + 120 * (1 - u) * v) + t // 2)),
            )
    draw = ImageDraw.Draw(img)
    r = min(width, height) // 4
    cx, cy = width * (0.3 + 0.1 * (seed % 3)), height * 0.45
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(230, 40 + 30 * seed % 200, 50))
    draw.rectangle([width * 0.6, height * 0.2, width * 0.6 + max(3, width // 12), height * 0.85],
                   fill=(20, 20, 30))
    draw.line([0, height - 1, width - 1, height // 3], fill=(250, 250, 250), width=2)
    return img


def exif_orientation(value):
    exif = Image.Exif()
    exif[ORIENTATION] = value
    return exif.tobytes()


def main():
    os.makedirs(OUT, exist_ok=True)
    jpeg = dict(quality=85, subsampling=2, optimize=True)

    landscape = scene(160, 120, 1)
    landscape.save(os.path.join(OUT, "landscape-160x120.jpg"), **jpeg)
    portrait = scene(120, 160, 2)
    portrait.save(os.path.join(OUT, "portrait-120x160.png"), optimize=True)
    scene(300, 100, 3).save(os.path.join(OUT, "panorama-300x100.png"), optimize=True)
    scene(64, 48, 4).save(os.path.join(OUT, "small-64x48.png"), optimize=True)
    scene(200, 200, 5).save(os.path.join(OUT, "square-200x200.png"), optimize=True)

    # Orientation 6: the display turns the stored pixels 90 degrees clockwise, so the stored
    # pixels are the upright picture turned 90 degrees counter-clockwise (PIL's ROTATE_90).
    portrait.transpose(Image.Transpose.ROTATE_90).save(
        os.path.join(OUT, "rotated-exif6.png"), exif=exif_orientation(6), optimize=True)

    # 160 and 128 are multiples of the 16-pixel JPEG block, so the two encodings have the same
    # block grid over the same content.
    upright = scene(128, 160, 6)
    upright.save(os.path.join(OUT, "upright-128x160.jpg"), **jpeg)
    upright.transpose(Image.Transpose.ROTATE_90).save(
        os.path.join(OUT, "rotated-exif6.jpg"), exif=exif_orientation(6), **jpeg)

    # PIL writes CMYK JPEGs with an Adobe marker; read back, the naive conversion gives the RGB.
    Image.open(os.path.join(OUT, "landscape-160x120.jpg")).convert("RGB").convert("CMYK").save(
        os.path.join(OUT, "cmyk-160x120.jpg"), quality=95)

    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)), "bytes")


if __name__ == "__main__":
    main()
