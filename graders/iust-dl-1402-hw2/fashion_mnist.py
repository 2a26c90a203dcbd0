"""FashionMNIST (``iust-dl-1402-hw2``, question 5): the offline stand-in and the IDX loaders.

The real dataset is Zalando's four gzipped IDX files (28×28 grey images, 10 classes).  On disk,
under the assignment's data root (``$DAVAR_DATA/iust-dl-1402-hw2``)::

    public/fashion_mnist/train-images-idx3-ubyte.gz   # what the student sees (bound read-only
    public/fashion_mnist/train-labels-idx1-ubyte.gz   # into the sandbox as DATA_DIR/fashion_mnist)
    hidden/fashion_mnist/t10k-images-idx3-ubyte.gz    # the official test set: never enters the
    hidden/fashion_mnist/t10k-labels-idx1-ubyte.gz    # sandbox; graders predict its images through
                                                      # the bridge and score against its labels

Real data: a TA copies the two ``train-*`` files, unchanged, into ``public/fashion_mnist/`` and the
two ``t10k-*`` files into ``hidden/fashion_mnist/``.  Students split their validation set off the
public training images (the template takes the last ones); the hidden test images are the official
test set.  Graders only use the functions below, so the grader code is the same for real and
stand-in data.

Stand-in: :func:`build_fashion_mnist` writes the same four files offline and deterministically, with
synthetic 28×28 grey "garments" of 10 classes (:data:`CLASSES`, in FashionMNIST's order): each class
is a left–right symmetric silhouette made of a few rectangles and ellipses, drawn at a random place
(±2 px), width and height (±15 %) and brightness, with a random stripe texture and light pixel noise.
3,000 training images and 1,000 hidden ones.  One training label in five is replaced by another,
random class (annotation noise; the hidden labels are clean).  It is designed for question 5's
experiments on a CPU in seconds:

- a small MLP trained with SGD on the training images reaches ~93 % on the hidden images (the noisy
  labels disagree with each other, so a model that does not memorise learns the clean classes);
- a large MLP trained on the first 500 images only memorises them, noisy labels included (training
  accuracy > 90 %, hidden accuracy ~70 %: a train–test gap of 20 points or more);
- random shifts and flips as data augmentation, or an L1/L2 penalty strong enough that the noisy
  labels are not memorised, shrink that gap (training accuracy falls to about the share of clean
  labels while hidden accuracy holds or rises).

tests/courses/test_datasets_fashion_mnist.py checks these effects over several seeds.
"""

from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from davar.datasets import native, standin

#: Bump when the generator changes: a root built by another version is rebuilt.
FASHION_MNIST_VERSION = "fashion-mnist-standin-v3"
NAME = "fashion_mnist"
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot")
SIZE = 28
#: File names of the four IDX files, as Zalando publishes them.
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"

_SEED = 1402
_N_TRAIN = 3000
_N_HIDDEN = 1000
_N_PUBLIC_TEST = 1000        # the test split keras's and torchvision's loaders get: never the hidden set
_SHIFT = 2                   # largest shift, px
_NOISE = 0.1                 # pixel noise (std, ink = 1)
_LABEL_NOISE = 0.2           # share of public training labels replaced by another class


# --------------------------------------------------------------------------------------------------
# IDX files
# --------------------------------------------------------------------------------------------------


def read_idx(path):
    """An IDX file (gzipped or not) as a numpy array: uint8 images (N, 28, 28) or labels (N,).

    numpy and gzip only, so that a notebook can carry it unchanged."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = data[0] * 256 + data[1], data[2], data[3]
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write a uint8 array as a gzipped IDX file (magic 0x0000_08_<ndim>, big-endian sizes)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:  # byte-identical rebuilds
        f.write(header + array.tobytes())


def load_public(folder: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """The public training images (uint8, N×28×28) and labels (int64), in file order."""
    folder = Path(folder)
    return read_idx(folder / TRAIN_IMAGES), read_idx(folder / TRAIN_LABELS).astype(np.int64)


def load_hidden(folder: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """The hidden test images (uint8, N×28×28) and labels (int64), in file order."""
    folder = Path(folder)
    return read_idx(folder / TEST_IMAGES), read_idx(folder / TEST_LABELS).astype(np.int64)


def as_model_input(images: np.ndarray) -> np.ndarray:
    """What a question-5 model takes: float32 (N, 1, 28, 28) in [0, 1] (uint8 / 255), as
    torchvision's ``ToTensor`` gives it; the template's ``to_input`` does the same."""
    images = np.asarray(images)
    return (images.astype(np.float32) / 255.0).reshape(len(images), 1, SIZE, SIZE)


# --------------------------------------------------------------------------------------------------
# Stand-in generator
# --------------------------------------------------------------------------------------------------


def build_fashion_mnist(root: Path) -> None:
    """Build the FashionMNIST stand-in under ``root`` (``…/iust-dl-1402-hw2``), offline.

    Writes the ``train-*`` pair (3,000 images) to ``root/public/fashion_mnist`` and the ``t10k-*``
    pair (1,000 images) to ``root/hidden/fashion_mnist``.  Deterministic; does nothing when it is
    already built (see :mod:`davar.datasets.standin`).

    ``root/public/downloads/fashion_mnist`` gets what ``keras.datasets.fashion_mnist.load_data()`` and
    torchvision's ``FashionMNIST(download=True)`` fetch (:mod:`davar.datasets.native`): the same training pair
    and a ``t10k-*`` pair of 1,000 images drawn apart (another seed), so that the loaders' test split is
    never the hidden set.
    """
    root = Path(root)
    public_dir, hidden_dir = root / "public" / NAME, root / "hidden" / NAME
    downloads_dir = root / "public" / native.FOLDER / NAME
    if not standin.needs_build(root, NAME, FASHION_MNIST_VERSION, public_dir, hidden_dir, downloads_dir):
        return
    rng = np.random.default_rng(_SEED)
    for folder, images_name, labels_name, n in ((public_dir, TRAIN_IMAGES, TRAIN_LABELS, _N_TRAIN),
                                               (hidden_dir, TEST_IMAGES, TEST_LABELS, _N_HIDDEN)):
        images, labels = synthesize(n, rng)
        if folder is public_dir:
            labels = _relabel(labels, _LABEL_NOISE, rng)
        write_idx(folder / images_name, images)
        write_idx(folder / labels_name, labels)
        if folder is public_dir:
            public = images, labels
    native.write_idx_set(downloads_dir, train=public, test=synthesize(_N_PUBLIC_TEST, np.random.default_rng(_SEED + 1)))
    native.mark_standin(downloads_dir)
    standin.mark_built(root, NAME, FASHION_MNIST_VERSION)


def synthesize(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` stand-in images (uint8, n×28×28) with balanced labels (uint8) in a shuffled order."""
    labels = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.uint8)
    images = np.stack([_draw(int(label), rng) for label in labels])
    return images, labels


def _relabel(labels: np.ndarray, share: float, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``labels`` with about ``share`` of them replaced by another, random class."""
    flip = rng.random(len(labels)) < share
    other = (labels + rng.integers(1, len(CLASSES), size=len(labels))) % len(CLASSES)
    return np.where(flip, other, labels).astype(labels.dtype)


# Each class: shapes in a 28×28 frame centred at (14, 14), as (kind, centre_y, centre_x, half_h, half_w);
# the x extents are mirrored about the centre, so every silhouette is left-right symmetric.
_SHAPES: dict[int, tuple[tuple[str, float, float, float, float], ...]] = {
    0: (("rect", 12, 14, 7, 5), ("rect", 7, 14, 2, 10)),                       # T-shirt: body, short sleeves
    1: (("rect", 14, 10.5, 11, 2), ("rect", 14, 17.5, 11, 2), ("rect", 4, 14, 1.5, 5.5)),  # trouser: legs
    2: (("rect", 13, 14, 8, 5), ("rect", 12, 6.5, 7, 1.5), ("rect", 12, 21.5, 7, 1.5)),   # pullover: long sleeves
    3: (("ellipse", 15, 14, 10, 6), ("rect", 6, 14, 2, 3)),                    # dress: flared
    4: (("rect", 14, 14, 10, 5.5), ("rect", 13, 6.5, 8, 1.5), ("rect", 13, 21.5, 8, 1.5)),  # coat: long
    5: (("rect", 18, 14, 1.5, 10), ("rect", 14, 8, 4, 1), ("rect", 14, 20, 4, 1)),         # sandal: sole, straps
    6: (("rect", 13, 14, 8, 5), ("rect", 9, 6.5, 3, 1.5), ("rect", 9, 21.5, 3, 1.5)),     # shirt
    7: (("ellipse", 17, 14, 3.5, 10),),                                        # sneaker: low
    8: (("rect", 16, 14, 6, 8), ("ellipse", 8, 14, 3, 5)),                      # bag: body, handle
    9: (("rect", 17, 14, 3, 10), ("rect", 11, 9, 6, 4)),                        # ankle boot: sole, shaft
}
_HANDLE_HOLE = ("ellipse", 8, 14, 1.6, 3.2)  # the bag's handle is a ring


def _draw(label: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    dy, dx = rng.integers(-_SHIFT, _SHIFT + 1, size=2)
    sy, sx = rng.uniform(0.85, 1.15, size=2)
    mask = np.zeros((SIZE, SIZE), dtype=bool)

    def shape(kind, cy, cx, hh, hw):
        y = (yy - (14 + (cy - 14) * sy + dy)) / (hh * sy)
        x = (xx - (14 + (cx - 14) * sx + dx)) / (hw * sx)
        return (np.abs(y) <= 1) & (np.abs(x) <= 1) if kind == "rect" else y * y + x * x <= 1

    for spec in _SHAPES[label]:
        mask |= shape(*spec)
    if label == 8:
        mask &= ~shape(*_HANDLE_HOLE)
    # brightness, a stripe texture at a random angle and period, pixel noise
    angle, period, phase = rng.uniform(0, np.pi), rng.uniform(3, 8), rng.uniform(0, 2 * np.pi)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (np.cos(angle) * xx + np.sin(angle) * yy) / period + phase)
    ink = rng.uniform(0.45, 1.0) * (1 - rng.uniform(0.0, 0.5) * stripes)
    image = mask * ink + rng.normal(0.0, _NOISE, size=(SIZE, SIZE))
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)


__all__: Sequence[str] = (
    "CLASSES", "FASHION_MNIST_VERSION", "NAME", "SIZE", "TEST_IMAGES", "TEST_LABELS", "TRAIN_IMAGES",
    "TRAIN_LABELS", "as_model_input", "build_fashion_mnist", "load_hidden", "load_public", "read_idx",
    "synthesize", "write_idx",
)
