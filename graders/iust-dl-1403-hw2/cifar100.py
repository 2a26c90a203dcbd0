"""CIFAR-100 (``iust-dl-1403-hw2``, question 6): the offline stand-in and the loaders graders and the
Resnext template share.

Real data: the official BINARY version, ``cifar-100-binary.tar.gz`` from
https://www.cs.toronto.edu/~kriz/cifar.html (folder ``cifar-100-binary``).  ``train.bin`` and
``test.bin`` are sequences of 3,074-byte records: the coarse label byte (0–19), the fine label byte
(0–99) and 3,072 bytes of pixels, the red, then the green, then the blue 32×32 plane, row by row (CHW).
The binary version is used, not the pickled Python one, so nothing is ever unpickled.  On disk, under
the assignment's data root (``$DAVAR_DATA/iust-dl-1403-hw2``)::

    public/cifar100/train.bin                 # the 50,000 training records, bound read-only into the
    public/cifar100/fine_label_names.txt      # sandbox as DATA_DIR/cifar100
    public/cifar100/coarse_label_names.txt
    hidden/cifar100/test.bin                  # the 10,000 test records (never enters the sandbox)

A TA extracts the archive, copies ``train.bin`` and the two name files to ``public/cifar100`` and
``test.bin`` to ``hidden/cifar100``.  Graders read the test records outside the sandbox and send only
their images to the student's model.

Stand-in: :func:`build_cifar100` writes the same files in the same format, smaller (30 training and 10
test records per class), drawn offline and deterministically.  Each of the 100 fine classes is one of
ten hues × one of five shapes × a dark or a light background, drawn at a random place and size with
shading and sensor noise, so a small CNN learns it on a CPU in seconds; the coarse label is
``fine // 5`` (20 super-classes of five).

Loaders give ``uint8 (N, 32, 32, 3)`` (HWC) images and ``int64 (N,)`` fine labels.
"""

from __future__ import annotations

import colorsys
import os
from pathlib import Path

import numpy as np

from davar.datasets import shapes, standin

#: Bump when the generator changes: a root built by another version is rebuilt.
CIFAR100_VERSION = "cifar100-v1"
CLASSES = 100
COARSE = 20
SIZE = 32
RECORD = 2 + 3 * SIZE * SIZE
TRAIN_FILE = "train.bin"
TEST_FILE = "test.bin"

_SEED = 100
_TRAIN_PER_CLASS = 30
_TEST_PER_CLASS = 10
_HUES, _SHAPES = 10, 5
_SHAPE_NAMES = ("disc", "square", "triangle", "ring", "cross")


def fine_names() -> list[str]:
    """The stand-in's fine class names, in label order (``hue3_ring_dark``)."""
    return [f"hue{(c // _SHAPES) % _HUES}_{_SHAPE_NAMES[c % _SHAPES]}_{'light' if c >= 50 else 'dark'}"
            for c in range(CLASSES)]


# --------------------------------------------------------------------------------------------------
# Stand-in generator
# --------------------------------------------------------------------------------------------------


def build_cifar100(root: Path) -> None:
    """Build the CIFAR-100 stand-in under ``root`` (``…/iust-dl-1403-hw2``), offline.

    Writes ``root/public/cifar100/train.bin`` (3,000 records) with the two label-name files and
    ``root/hidden/cifar100/test.bin`` (1,000 records).  Deterministic; does nothing when built.
    """
    root = Path(root)
    public_dir, hidden_dir = root / "public" / "cifar100", root / "hidden" / "cifar100"
    if not standin.needs_build(root, "cifar100", CIFAR100_VERSION, public_dir, hidden_dir):
        return
    rng = np.random.default_rng(_SEED)
    write_records(public_dir / TRAIN_FILE, *_draw(rng, _TRAIN_PER_CLASS))
    (public_dir / "fine_label_names.txt").write_text("".join(n + "\n" for n in fine_names()), "ascii")
    (public_dir / "coarse_label_names.txt").write_text(
        "".join(f"group{g}\n" for g in range(COARSE)), "ascii")
    write_records(hidden_dir / TEST_FILE, *_draw(rng, _TEST_PER_CLASS))
    standin.mark_built(root, "cifar100", CIFAR100_VERSION)


def _draw(rng: np.random.Generator, per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` images of every class (uint8, N×32×32×3) and their fine labels, shuffled."""
    labels = rng.permutation(np.repeat(np.arange(CLASSES), per_class)).astype(np.int64)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    images = np.empty((len(labels), SIZE, SIZE, 3), np.uint8)
    for i, c in enumerate(labels):
        hue, shape, light = (c // _SHAPES) % _HUES, c % _SHAPES, c >= 50
        grey = rng.uniform(170, 220) if light else rng.uniform(25, 75)
        background = grey + rng.uniform(-15, 15, size=3)
        angle = rng.uniform(0, 2 * np.pi)
        shade = 1 + rng.uniform(0, 0.3) * (np.cos(angle) * (xx / SIZE - 0.5) + np.sin(angle) * (yy / SIZE - 0.5))
        image = background[None, None, :] * shade[..., None]
        rgb = colorsys.hsv_to_rgb((hue / _HUES + rng.normal(0, 0.01)) % 1.0, rng.uniform(0.8, 1.0),
                                  rng.uniform(0.8, 1.0))
        r = rng.uniform(7, 11)
        cy, cx = rng.uniform(r, SIZE - r, size=2)
        image[shapes.mask(int(shape), yy, xx, cy, cx, r)] = np.array(rgb, np.float32) * 255
        image += rng.normal(0, rng.uniform(3, 8), size=image.shape)
        images[i] = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return images, labels


# --------------------------------------------------------------------------------------------------
# The binary format and the loaders
# --------------------------------------------------------------------------------------------------


def write_records(path: str | os.PathLike[str], images: np.ndarray, labels: np.ndarray) -> None:
    """Write records in the CIFAR-100 binary format (coarse byte, fine byte, CHW pixels); coarse = fine // 5."""
    images, labels = np.asarray(images, np.uint8), np.asarray(labels)
    records = np.empty((len(labels), RECORD), np.uint8)
    records[:, 0] = labels // (CLASSES // COARSE)
    records[:, 1] = labels
    records[:, 2:] = images.transpose(0, 3, 1, 2).reshape(len(labels), -1)
    Path(path).write_bytes(records.tobytes())


def read_records(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """One ``*.bin`` file → (uint8 images (N, 32, 32, 3), int64 fine labels (N,))."""
    raw = np.frombuffer(Path(path).read_bytes(), dtype=np.uint8)
    if raw.size % RECORD:
        raise ValueError(f"{path}: {raw.size} bytes is not a whole number of {RECORD}-byte records")
    records = raw.reshape(-1, RECORD)
    images = records[:, 2:].reshape(-1, 3, SIZE, SIZE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), records[:, 1].astype(np.int64)


def load_train(folder: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """The training records of ``folder`` (``public/cifar100``)."""
    return read_records(Path(folder) / TRAIN_FILE)


def load_test(folder: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """The test records of ``folder`` (``hidden/cifar100``)."""
    return read_records(Path(folder) / TEST_FILE)
