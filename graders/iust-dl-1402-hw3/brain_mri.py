"""Brain MRI slices with and without a tumour (``iust-dl-1402-hw3``, question 4): the offline stand-in
and the loaders graders and the DL-Q4 template share.

Real data: the Kaggle dataset "Brain MRI Images for Brain Tumor Detection" (Navoneel Chakrabarty):
two folders of JPG slices, ``yes/`` (tumour, 155 images) and ``no/`` (98 images), of varying sizes,
some stored greyscale and some RGB.  On disk, under the assignment's data root
(``$DAVAR_DATA/iust-dl-1402-hw3``)::

    public/brain_mri/yes/*.jpg     # what the student sees (bound read-only into the sandbox as
    public/brain_mri/no/*.jpg      # DATA_DIR/brain_mri), the Kaggle layout as downloaded
    hidden/brain_mri/*.jpg         # held-out slices, names WITHOUT the label
    hidden/brain_mri/labels.csv    # columns: file,label  (1 = tumour, 0 = none; never enters the sandbox)

A TA copies the Kaggle ``yes/`` and ``no/`` folders to ``public/brain_mri`` and puts held-out slices
(for example ones moved out of those folders before the students get them), renamed so the name
carries no label, with a ``labels.csv`` in ``hidden/brain_mri``.  Any of .jpg/.jpeg/.png (any case)
is read.

Stand-in: :func:`build_brain_mri` draws both sets offline and deterministically: grey axial "slices"
(a dark background, an elliptical head with a bright skull rim, brain tissue with a smooth texture and
dark ventricles); tumour slices add one bright, blurred blob inside the brain.  Same layout, file
format (JPG, mixed sizes and modes) and class balance as the real set.

The model contract (the template copies :func:`load_image` as it is): every image is read with PIL,
converted to grey ("L"), resized to ``IMAGE_SIZE``×``IMAGE_SIZE`` (bilinear) and scaled to [0, 1]:
``float32 (N, 64, 64, 1)``.  Models output the tumour probability ``(N, 1)`` (sigmoid) or two class
scores ``(N, 2)`` (softmax; index 1 = tumour).

PIL and scipy are imported inside the functions so ``import brain_mri`` is cheap.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path

import conventions
import numpy as np

from davar.datasets import standin

#: Bump when the generator changes: a root built by another version is rebuilt.
BRAIN_MRI_VERSION = "brain_mri-v1"
IMAGE_SIZE = 64
CLASSES = ("no", "yes")              # label 0, label 1 (tumour)
EXTENSIONS = (".jpg", ".jpeg", ".png")

_SEED = 1402
_PUBLIC = {"yes": 155, "no": 98}     # the Kaggle set's counts
_HIDDEN = {"yes": 60, "no": 40}


# --------------------------------------------------------------------------------------------------
# Stand-in generator
# --------------------------------------------------------------------------------------------------


def build_brain_mri(root: Path) -> None:
    """Build the brain MRI stand-in under ``root`` (``…/iust-dl-1402-hw3``), offline.

    Writes ``root/public/brain_mri/{yes,no}/*.jpg`` (253 slices) and ``root/hidden/brain_mri/*.jpg`` +
    ``labels.csv`` (100 slices).  Deterministic; does nothing when it is already built.
    """
    root = Path(root)
    public_dir, hidden_dir = root / "public" / "brain_mri", root / "hidden" / "brain_mri"
    if not standin.needs_build(root, "brain_mri", BRAIN_MRI_VERSION, public_dir, hidden_dir):
        return
    rng = np.random.default_rng(_SEED)
    for cls, count in _PUBLIC.items():
        (public_dir / cls).mkdir()
        prefix = "Y" if cls == "yes" else "N"
        for i in range(count):
            _save(_slice(rng, tumour=cls == "yes"), public_dir / cls / f"{prefix}{i + 1}.jpg", rng)
    labels = [1] * _HIDDEN["yes"] + [0] * _HIDDEN["no"]
    rows = []
    for index, k in enumerate(rng.permutation(len(labels))):
        name = f"{index:04d}.jpg"
        _save(_slice(rng, tumour=bool(labels[k])), hidden_dir / name, rng)
        rows.append((name, labels[k]))
    with open(hidden_dir / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(("file", "label"))
        writer.writerows(rows)
    standin.mark_built(root, "brain_mri", BRAIN_MRI_VERSION)


def _blur(a: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return gaussian_filter(a.astype(np.float32), sigma)


def _slice(rng: np.random.Generator, *, tumour: bool) -> np.ndarray:
    """One grey uint8 slice of a random size (about 170–260 pixels a side)."""
    h, w = (int(v) for v in rng.integers(170, 261, size=2))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = h / 2 + rng.normal(0, h * 0.03), w / 2 + rng.normal(0, w * 0.03)
    ay, ax = h * rng.uniform(0.36, 0.44), w * rng.uniform(0.32, 0.42)
    r = np.sqrt(((yy - cy) / ay) ** 2 + ((xx - cx) / ax) ** 2)          # 1 on the head's outline
    image = np.zeros((h, w), np.float32)
    image[r < 1.0] = 150 + rng.uniform(-15, 15)                          # scalp and skull
    brain = r < 0.88
    texture = _blur(rng.normal(0, 1, size=(h, w)), 3.0)
    texture /= texture.std() + 1e-6
    image[brain] = rng.uniform(80, 105) + 12 * texture[brain]            # grey and white matter
    for side in (-1, 1):                                                 # the two lateral ventricles
        vy, vx = cy + rng.normal(0, 3), cx + side * ax * rng.uniform(0.10, 0.16)
        rv = np.sqrt(((yy - vy) / (ay * rng.uniform(0.18, 0.26))) ** 2 + ((xx - vx) / (ax * 0.07)) ** 2)
        image[rv < 1.0] = rng.uniform(25, 45)
    if tumour:
        radius = min(h, w) * rng.uniform(0.07, 0.14)
        angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0.15, 0.55)
        ty, tx = cy + np.sin(angle) * dist * ay, cx + np.cos(angle) * dist * ax
        rt = np.sqrt(((yy - ty) / (radius * rng.uniform(0.75, 1.25))) ** 2 + ((xx - tx) / radius) ** 2)
        blob = np.clip(1.3 - rt, 0, 1)                                   # soft-edged
        image = image * (1 - blob) + rng.uniform(200, 240) * blob
    image = _blur(image, float(rng.uniform(0.8, 1.6)))
    image += rng.normal(0, rng.uniform(3, 7), size=image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _save(image: np.ndarray, path: Path, rng: np.random.Generator) -> None:
    from PIL import Image

    im = Image.fromarray(image, mode="L")
    if rng.random() < 0.4:                    # the Kaggle set mixes greyscale and RGB JPGs
        im = im.convert("RGB")
    im.save(path, format="JPEG", quality=int(rng.integers(85, 96)))


# --------------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------------


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)


def load_image(path: str | os.PathLike[str], size: int = IMAGE_SIZE) -> np.ndarray:
    """One slice as float32 ``(size, size, 1)`` in [0, 1]: grey, bilinear resize."""
    from PIL import Image

    with Image.open(path) as im:
        grey = im.convert("L").resize((size, size), Image.Resampling.BILINEAR)
    return (np.asarray(grey, dtype=np.float32) / 255.0)[..., None]


def load_images(paths: Iterable[str | os.PathLike[str]], size: int = IMAGE_SIZE) -> np.ndarray:
    arrays = [load_image(p, size) for p in paths]
    return np.stack(arrays) if arrays else np.zeros((0, size, size, 1), np.float32)


def load_public(folder: str | os.PathLike[str], size: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """The Kaggle layout: images of ``folder/no`` (label 0) then ``folder/yes`` (label 1), sorted."""
    paths, labels = [], []
    for label, cls in enumerate(CLASSES):
        found = _images_in(Path(folder) / cls)
        paths += found
        labels += [label] * len(found)
    return load_images(paths, size), np.array(labels, dtype=np.int64)


def load_hidden(folder: str | os.PathLike[str], size: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of the hidden folder, in ``labels.csv`` order."""
    folder = Path(folder)
    with open(folder / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return (load_images((folder / r["file"] for r in rows), size),
            np.array([int(r["label"]) for r in rows], dtype=np.int64))


def predicted_labels(outputs: np.ndarray) -> np.ndarray:
    """Tumour (1) / none (0) from a model's outputs: ``(N, 2)`` class scores (argmax), or ``(N,)`` /
    ``(N, 1)`` for a tumour: probabilities (> 0.5) or, when any value is outside [0, 1], logits (> 0)
    (conventions.py).  Anything else raises ValueError."""
    return conventions.predicted_classes(outputs, len(CLASSES))
