"""Dental caries segmentation (``iust-dl-1403-hw2``, question 8): the offline stand-in and the loaders
graders and the HW2_SS template share.

The handout's data is a set of grey dental X-rays with a binary caries mask each; it warns that some
training masks are wrong.  On disk, under the assignment's data root (``$DAVAR_DATA/iust-dl-1403-hw2``)::

    public/dental/train/images/0000.png   # grey training X-rays      } bound read-only into the
    public/dental/train/masks/0000.png    # their masks, SOME WRONG   } sandbox as DATA_DIR/dental
    public/dental/test/images/0000.png    # grey test X-rays, no masks }
    hidden/dental/train/masks/0000.png    # the training images' correct masks (never enter the sandbox)
    hidden/dental/test/masks/0000.png     # the test images' masks

A mask is an 8-bit PNG of the image's size, 0 (background) or 255 (caries).  Real data: a TA copies the
course's training images and masks to ``public/dental/train`` and the test images to
``public/dental/test/images``, and puts the test masks (and, where the TA has them, corrected training
masks; else a copy of the given ones) under ``hidden/dental``, file for file.

Stand-in: :func:`build_dental` draws 64×64 "X-rays" offline and deterministically: a dark, noisy jaw with
a row of bright teeth (rounded bars), some holding caries, darker blobs inside a tooth, which the mask
marks.  A share (``CORRUPT_SHARE``) of the PUBLIC training masks is corrupted (emptied, shifted or
inverted), as the handout warns; the hidden copies are correct.  Dice is computed against the hidden
masks, so a model that learnt the corrupted masks is not rewarded for them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from davar.datasets import standin

#: Bump when the generator changes: a root built by another version is rebuilt.
DENTAL_VERSION = "dental-v1"
SIZE = 64
CORRUPT_SHARE = 0.15
SPLITS = ("train", "test")

_SEED = 8
_COUNTS = {"train": 120, "test": 40}


# --------------------------------------------------------------------------------------------------
# Stand-in generator
# --------------------------------------------------------------------------------------------------


def build_dental(root: Path) -> None:
    """Build the dental stand-in under ``root`` (``…/iust-dl-1403-hw2``), offline.

    Writes 120 training images with their masks (18 of them corrupted; 17 differ from the truth, an empty
    mask emptied stays right) and 40 test images under
    ``root/public/dental``, and every correct mask under ``root/hidden/dental``.  Deterministic; does
    nothing when built.
    """
    root = Path(root)
    public_dir, hidden_dir = root / "public" / "dental", root / "hidden" / "dental"
    if not standin.needs_build(root, "dental", DENTAL_VERSION, public_dir, hidden_dir):
        return
    rng = np.random.default_rng(_SEED)
    for split in SPLITS:
        count = _COUNTS[split]
        corrupt = set(rng.choice(count, size=round(CORRUPT_SHARE * count), replace=False).tolist()) \
            if split == "train" else set()
        for index in range(count):
            image, mask = _draw(rng)
            name = f"{index:04d}.png"
            _save(image, public_dir / split / "images" / name)
            _save(mask * 255, hidden_dir / split / "masks" / name)
            if split == "train":
                given = _corrupt(mask, rng) if index in corrupt else mask
                _save(given * 255, public_dir / split / "masks" / name)
    standin.mark_built(root, "dental", DENTAL_VERSION)


def _draw(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One uint8 (64, 64) X-ray and its uint8 0/1 caries mask."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    image = rng.uniform(30, 60) + 15 * np.exp(-((yy - SIZE / 2) ** 2) / (2 * 18.0 ** 2))
    teeth = np.zeros((SIZE, SIZE), bool)
    mask = np.zeros((SIZE, SIZE), bool)
    width = SIZE / 4
    for k in range(4):
        cx = width * (k + 0.5) + rng.uniform(-2, 2)
        half_w, top, bottom = rng.uniform(5, 7), rng.uniform(6, 14), rng.uniform(50, 58)
        tooth = (np.abs(xx - cx) <= half_w * (1 - 0.3 * ((yy - top) / (bottom - top)) ** 2)) \
            & (yy >= top) & (yy <= bottom)
        teeth |= tooth
        if rng.random() < 0.6:                                       # a carious lesion in this tooth
            r = rng.uniform(2.5, 5.0)
            cy = rng.uniform(top + r + 1, top + 22)
            lesion = ((yy - cy) / r) ** 2 + ((xx - cx - rng.uniform(-2, 2)) / (r * rng.uniform(0.7, 1.2))) ** 2 <= 1
            mask |= lesion & tooth
    brightness = rng.uniform(150, 200)
    image = np.where(teeth, brightness + 10 * np.sin(yy / 5.0), image)
    image = np.where(mask, brightness * rng.uniform(0.45, 0.6), image)
    image += rng.normal(0, rng.uniform(6, 12), size=image.shape)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), mask.astype(np.uint8)


def _corrupt(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A wrong copy of ``mask``: emptied, shifted off the lesions, or inverted."""
    kind = int(rng.integers(3))
    if kind == 0:
        return np.zeros_like(mask)
    if kind == 1:
        return np.roll(mask, shift=(int(rng.integers(12, 20)), int(rng.integers(12, 20))), axis=(0, 1))
    return (1 - mask).astype(np.uint8)


def _save(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(image, np.uint8), mode="L").save(path, format="PNG", compress_level=1)


# --------------------------------------------------------------------------------------------------
# Loaders
# --------------------------------------------------------------------------------------------------


def _read(paths: list[Path]) -> np.ndarray:
    from PIL import Image

    arrays = []
    for p in paths:
        with Image.open(p) as im:
            arrays.append(np.asarray(im.convert("L"), dtype=np.uint8))
    return np.stack(arrays) if arrays else np.zeros((0, SIZE, SIZE), np.uint8)


def names(folder: str | os.PathLike[str], split: str) -> list[str]:
    """Sorted image file names of a split of a public ``dental`` folder."""
    return sorted(p.name for p in (Path(folder) / split / "images").glob("*.png"))


def load_images(folder: str | os.PathLike[str], split: str) -> np.ndarray:
    """uint8 ``(N, 64, 64)`` grey images of ``split`` of a public ``dental`` folder, in name order."""
    return _read([Path(folder) / split / "images" / n for n in names(folder, split)])


def load_masks(folder: str | os.PathLike[str], split: str, files: list[str]) -> np.ndarray:
    """bool ``(N, 64, 64)`` masks of ``split`` (``folder``: a public or a hidden ``dental``) for ``files``."""
    return _read([Path(folder) / split / "masks" / n for n in files]) > 127


def dice(predicted: np.ndarray, truth: np.ndarray, *, eps: float = 1e-7) -> float:
    """Dice over the whole set (2·|P∩T| / (|P| + |T|)) of two boolean ``(N, H, W)`` stacks."""
    p, t = np.asarray(predicted, bool), np.asarray(truth, bool)
    return float((2 * np.logical_and(p, t).sum() + eps) / (p.sum() + t.sum() + eps))
