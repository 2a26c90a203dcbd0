"""CIFAR-10 (``iust-dl-1402-hw3``, question 7): the offline stand-in and the loaders graders and the
Q7 template share.

Real data: the official BINARY version, ``cifar-10-binary.tar.gz`` from
https://www.cs.toronto.edu/~kriz/cifar.html (folder ``cifar-10-batches-bin``).  Each ``*.bin`` file is
a sequence of 3,073-byte records: one label byte (0–9) and 3,072 bytes of pixels, the red, then the
green, then the blue 32×32 plane, row by row (CHW).  The binary version is used, not the pickled
Python one, so nothing is ever unpickled.  On disk, under the assignment's data root
(``$DAVAR_DATA/iust-dl-1402-hw3``)::

    public/cifar10/data_batch_1.bin … data_batch_5.bin   # training data (10,000 records each), bound
    public/cifar10/batches.meta.txt                      # read-only into the sandbox as DATA_DIR/cifar10
    hidden/cifar10/test_batch.bin                        # the 10,000 test records (never enters the sandbox)

A TA extracts the archive and copies the five data batches and ``batches.meta.txt`` to
``public/cifar10`` and ``test_batch.bin`` to ``hidden/cifar10``.  Graders read the test batch outside
the sandbox and send only its images to the student's model.

Stand-in: :func:`build_cifar10` writes the same files in the same format, smaller (400 records per
data batch, 1,000 test records), drawn offline and deterministically: each class is a coloured shape
(its own hue and one of five shapes) at a random place and size on a dull, noisy, shaded background,
so a small CNN learns it on a CPU in seconds.

Loaders give ``uint8 (N, 32, 32, 3)`` (HWC) images and ``int64 (N,)`` labels; models take the images
scaled to [0, 1] (``float32``) and output 10 class scores ``(N, 10)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from davar.datasets import native, shapes, standin

#: Bump when the generator changes: a root built by another version is rebuilt.
CIFAR10_VERSION = "cifar10-v2"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SIZE = 32
RECORD = 1 + 3 * SIZE * SIZE
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"

_SEED = 10
_PER_BATCH = 400
_TEST = 1000
_PUBLIC_TEST = 1000  # the test split keras's and torchvision's loaders get: never the hidden set
_REPEAT = 25         # keras's loader reads exactly 10,000 records from each training batch: 400 × 25


# --------------------------------------------------------------------------------------------------
# Stand-in generator
# --------------------------------------------------------------------------------------------------


def build_cifar10(root: Path) -> None:
    """Build the CIFAR-10 stand-in under ``root`` (``…/iust-dl-1402-hw3``), offline.

    Writes ``root/public/cifar10/data_batch_{1..5}.bin`` + ``batches.meta.txt`` (2,000 records) and
    ``root/hidden/cifar10/test_batch.bin`` (1,000 records).  Deterministic; does nothing when built.

    ``root/public/downloads/cifar10/cifar-10-python.tar.gz`` is what ``keras.datasets.cifar10.load_data()``
    and torchvision's ``CIFAR10(download=True)`` fetch (:mod:`davar.datasets.native`): the same training
    records, each 25 times in a row (keras's loader reads exactly 10,000 records from each of the five
    batches; a notebook using it trains on 50,000 images an epoch), and a test batch of 1,000 records drawn
    apart (another seed), so that the loaders' test split is never the hidden set.
    """
    root = Path(root)
    public_dir, hidden_dir = root / "public" / "cifar10", root / "hidden" / "cifar10"
    downloads_dir = root / "public" / native.FOLDER / "cifar10"
    if not standin.needs_build(root, "cifar10", CIFAR10_VERSION, public_dir, hidden_dir, downloads_dir):
        return
    rng = np.random.default_rng(_SEED)
    train = []
    for name in TRAIN_FILES:
        train.append(_draw(rng, _PER_BATCH))
        write_batch(public_dir / name, *train[-1])
    (public_dir / "batches.meta.txt").write_text("".join(c + "\n" for c in CLASSES) + "\n", "ascii")
    write_batch(hidden_dir / TEST_FILE, *_draw(rng, _TEST))
    native.write_cifar10_python(downloads_dir / "cifar-10-python.tar.gz", classes=CLASSES,
                                train=(np.concatenate([np.repeat(x, _REPEAT, axis=0) for x, _ in train]),
                                       np.concatenate([np.repeat(y, _REPEAT) for _, y in train])),
                                test=_draw(np.random.default_rng(_SEED + 1), _PUBLIC_TEST))
    native.mark_standin(downloads_dir)
    standin.mark_built(root, "cifar10", CIFAR10_VERSION)


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    import colorsys

    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v), dtype=np.float32) * 255


def _draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n images (uint8, N×32×32×3) and balanced, shuffled labels."""
    labels = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    images = np.empty((n, SIZE, SIZE, 3), np.uint8)
    for i, c in enumerate(labels):
        grey = rng.uniform(60, 170)
        background = grey + rng.uniform(-25, 25, size=3)
        angle = rng.uniform(0, 2 * np.pi)
        shade = 1 + rng.uniform(0, 0.3) * (np.cos(angle) * (xx / SIZE - 0.5) + np.sin(angle) * (yy / SIZE - 0.5))
        image = background[None, None, :] * shade[..., None]
        colour = _hsv_to_rgb(c / len(CLASSES) + rng.normal(0, 0.015), rng.uniform(0.7, 1.0), rng.uniform(0.75, 1.0))
        r = rng.uniform(6, 11)
        cy, cx = rng.uniform(r, SIZE - r, size=2)
        mask = shapes.mask(int(c) % 5, yy, xx, cy, cx, r)
        image[mask] = colour
        image += rng.normal(0, rng.uniform(4, 12), size=image.shape)
        images[i] = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return images, labels


# --------------------------------------------------------------------------------------------------
# The binary format and the loaders
# --------------------------------------------------------------------------------------------------


def write_batch(path: str | os.PathLike[str], images: np.ndarray, labels: np.ndarray) -> None:
    """Write records in the CIFAR-10 binary format (label byte + CHW pixels)."""
    images, labels = np.asarray(images, np.uint8), np.asarray(labels)
    records = np.empty((len(labels), RECORD), np.uint8)
    records[:, 0] = labels
    records[:, 1:] = images.transpose(0, 3, 1, 2).reshape(len(labels), -1)
    Path(path).write_bytes(records.tobytes())


def read_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """One ``*.bin`` file → (uint8 images (N, 32, 32, 3), int64 labels (N,))."""
    raw = np.frombuffer(Path(path).read_bytes(), dtype=np.uint8)
    if raw.size % RECORD:
        raise ValueError(f"{path}: {raw.size} bytes is not a whole number of {RECORD}-byte records")
    records = raw.reshape(-1, RECORD)
    images = records[:, 1:].reshape(-1, 3, SIZE, SIZE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), records[:, 0].astype(np.int64)


def read_batches(paths: Iterable[str | os.PathLike[str]]) -> tuple[np.ndarray, np.ndarray]:
    parts = [read_batch(p) for p in paths]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def load_train(folder: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """The five training batches of ``folder`` (``public/cifar10``), in order."""
    return read_batches(Path(folder) / name for name in TRAIN_FILES)


def load_test(folder: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """The test batch of ``folder`` (``hidden/cifar10``)."""
    return read_batch(Path(folder) / TEST_FILE)
