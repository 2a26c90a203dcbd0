"""Handwritten digits 1–4 (``iust-dl-1403-hw2``, question 5): the offline stand-in and the loaders.

The handout's dataset is a folder of 64×64 colour photos of handwritten digits 1–4 with no label
file: the label is the last ``_``-separated part of each file name (``<anything>_<label>.png``).
On disk, under the assignment's data root (``$DAVAR_DATA/iust-dl-1403-hw2``)::

    public/digits/*.png          # what the student sees (bound read-only into the sandbox as
                                 # DATA_DIR/digits); names end in "_<label>", e.g. 00017_3.png
    hidden/digits/*.png          # held-out images, names WITHOUT the label
    hidden/digits/labels.csv     # columns: file,label   (never enters the sandbox)

Real data: a TA copies the course's PNG folder to ``$DAVAR_DATA/iust-dl-1403-hw2/public/digits``
keeping the course's file names (the label must stay the last ``_`` field of the stem), and puts a
held-out set of images, renamed so the name carries no label, with a ``labels.csv`` (``file,label``)
in ``$DAVAR_DATA/iust-dl-1403-hw2/hidden/digits``.  Graders only use the functions below, so the
grader code is the same for real and stand-in data.

Stand-in: :func:`build_digits14` draws both sets offline and deterministically from scikit-learn's
bundled handwritten digits (``load_digits``: real handwriting, 8×8, values 0–16), smoothly upscaled
to 64×64 and rendered in random ink/paper colours with small shifts, scale changes, rotations and
sensor noise.  The hidden set is made from source digits disjoint from the public ones.

The 80/20 split (:func:`split_public`) is ``train_test_split(sorted paths, labels, test_size=0.2,
random_state=42)``, exactly the call the template notebook makes, so grader and notebook agree on
which images are "train" and which are "test".

Heavy imports (PIL, scikit-learn) happen inside the functions so ``import digits14`` is cheap.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from davar.datasets import standin

#: Bump when the generator changes: a root built by another version is rebuilt.
DIGITS14_VERSION = "digits14-v1"
DIGITS14_CLASSES = (1, 2, 3, 4)
IMAGE_SIZE = 64

_SEED = 1403
_HIDDEN_SHARE = 0.2          # share of source digits held out for the hidden set
_PUBLIC_VARIANTS = 2         # rendered variants per public source digit
_HIDDEN_VARIANTS = 2         # rendered variants per hidden source digit


# --------------------------------------------------------------------------------------------------
# Stand-in generator
# --------------------------------------------------------------------------------------------------


def build_digits14(root: Path) -> None:
    """Build the digits 1–4 stand-in under ``root`` (``…/iust-dl-1403-hw2``), offline.

    Writes ``root/public/digits/{index:05d}_{label}.png`` (about 1,150 images) and
    ``root/hidden/digits/{index:05d}.png`` + ``labels.csv`` (about 290 images, from held-out source
    digits).  Deterministic; does nothing when it is already built (see :mod:`davar.datasets.standin`).
    """
    root = Path(root)
    public_dir, hidden_dir = root / "public" / "digits", root / "hidden" / "digits"
    if not standin.needs_build(root, "digits", DIGITS14_VERSION, public_dir, hidden_dir):
        return
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    keep = np.isin(digits.target, DIGITS14_CLASSES)
    sources = (digits.images[keep] / 16.0).astype(np.float32)     # (n, 8, 8) in [0, 1]
    targets = digits.target[keep].astype(np.int64)

    pub_idx, hid_idx = train_test_split(
        np.arange(len(targets)), test_size=_HIDDEN_SHARE, random_state=_SEED, stratify=targets
    )
    # load_digits holds a few exact duplicates; keep a duplicate of a public digit out of hidden.
    public_keys = {sources[i].tobytes() for i in pub_idx}
    hid_idx = np.array([i for i in hid_idx if sources[i].tobytes() not in public_keys])

    rng = np.random.default_rng(_SEED)
    public = _render_set(sources, targets, np.sort(pub_idx), _PUBLIC_VARIANTS, rng)
    hidden = _render_set(sources, targets, np.sort(hid_idx), _HIDDEN_VARIANTS, rng)

    for index, (image, label) in enumerate(public):
        _save_png(image, public_dir / f"{index:05d}_{label}.png")
    rows = []
    for index, (image, label) in enumerate(hidden):
        name = f"{index:05d}.png"
        _save_png(image, hidden_dir / name)
        rows.append((name, label))
    with open(hidden_dir / "labels.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(("file", "label"))
        writer.writerows(rows)
    standin.mark_built(root, "digits", DIGITS14_VERSION)


def _render_set(
    sources: np.ndarray, targets: np.ndarray, indices: np.ndarray, variants: int,
    rng: np.random.Generator,
) -> list[tuple[np.ndarray, int]]:
    """Render ``variants`` images per source digit, returned in a shuffled order."""
    items = [(_render(sources[i], rng), int(targets[i])) for i in indices for _ in range(variants)]
    order = rng.permutation(len(items))
    return [items[k] for k in order]


def _render(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One 64×64 RGB uint8 "photo" of an 8×8 digit (values in [0, 1])."""
    from PIL import Image, ImageFilter

    size = IMAGE_SIZE
    # Smooth upscale: 8×8 → 24×24 bilinear, then to the drawn size bicubic, then a light blur.
    glyph = Image.fromarray((digit * 255).astype(np.uint8), mode="L")
    glyph = glyph.resize((24, 24), Image.Resampling.BILINEAR)
    scale = rng.uniform(0.62, 0.9)
    w = round(size * scale * rng.uniform(0.9, 1.1))
    h = round(size * scale * rng.uniform(0.9, 1.1))
    glyph = glyph.resize((w, h), Image.Resampling.BICUBIC)
    glyph = glyph.rotate(rng.uniform(-12, 12), resample=Image.Resampling.BILINEAR, expand=True)
    canvas = Image.new("L", (size, size), 0)
    dx = int(rng.integers(-5, 6)) + (size - glyph.width) // 2
    dy = int(rng.integers(-5, 6)) + (size - glyph.height) // 2
    canvas.paste(glyph, (dx, dy))
    canvas = canvas.filter(ImageFilter.GaussianBlur(radius=float(rng.uniform(0.4, 1.2))))
    ink = np.asarray(canvas, dtype=np.float32)[..., None] / 255.0           # (64, 64, 1)

    paper = rng.uniform(150, 255, size=3)
    pen = rng.uniform(0, 110, size=3)
    if rng.random() < 0.2:                      # light ink on a dark surface (chalk, marker)
        paper, pen = 255 - paper, 255 - pen
    # Uneven lighting: a linear gradient across the paper.
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1) - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    light = 1.0 + rng.uniform(0.0, 0.25) * (np.cos(angle) * xx + np.sin(angle) * yy)
    background = paper[None, None, :] * light[..., None]
    image = background * (1 - ink) + pen[None, None, :] * ink
    image += rng.normal(0.0, rng.uniform(2.0, 9.0), size=image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _save_png(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(image, mode="RGB").save(path, format="PNG", optimize=False, compress_level=1)


# --------------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------------


def label_from_name(path: str | os.PathLike[str]) -> int:
    """The label a file name carries: ``…/00017_3.png`` → 3 (last ``_`` field of the stem)."""
    return int(Path(path).stem.split("_")[-1])


def list_labelled(folder: str | os.PathLike[str]) -> tuple[list[Path], np.ndarray]:
    """Sorted PNG paths of a labelled folder and the int labels parsed from their names."""
    paths = sorted(Path(folder).glob("*.png"))
    labels = np.array([label_from_name(p) for p in paths], dtype=np.int64)
    return paths, labels


def load_images(paths: Iterable[str | os.PathLike[str]]) -> np.ndarray:
    """Images as uint8 ``(N, 64, 64, 3)`` RGB, exactly as ``PIL.Image.open(p).convert("RGB")``."""
    from PIL import Image

    arrays = []
    for p in paths:
        with Image.open(p) as im:
            arrays.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
    if not arrays:
        return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    return np.stack(arrays)


def split_public(
    folder: str | os.PathLike[str], *, test_size: float = 0.2, random_state: int = 42
) -> tuple[list[Path], list[Path], np.ndarray, np.ndarray]:
    """``(train_paths, test_paths, train_labels, test_labels)`` as the template notebook splits.

    ``train_test_split(paths, labels, test_size=test_size, random_state=random_state)`` on the
    sorted path list — the notebook's exact call, so both sides get the same partition.
    """
    from sklearn.model_selection import train_test_split

    paths, labels = list_labelled(folder)
    train_paths, test_paths, train_labels, test_labels = train_test_split(
        paths, labels, test_size=test_size, random_state=random_state
    )
    return list(train_paths), list(test_paths), np.asarray(train_labels), np.asarray(test_labels)


def load_hidden(folder: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of a hidden folder, in ``labels.csv`` order."""
    folder = Path(folder)
    names: list[str] = []
    labels: list[int] = []
    with open(folder / "labels.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            names.append(row["file"])
            labels.append(int(row["label"]))
    return load_images(folder / n for n in names), np.array(labels, dtype=np.int64)


__all__: Sequence[str] = (
    "DIGITS14_CLASSES",
    "DIGITS14_VERSION",
    "build_digits14",
    "label_from_name",
    "list_labelled",
    "load_hidden",
    "load_images",
    "split_public",
)
