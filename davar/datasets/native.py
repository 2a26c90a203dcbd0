"""The files framework dataset loaders download, written from a course's arrays, and the URLs they come from.

``keras.datasets.{mnist,fashion_mnist,cifar10,cifar100}.load_data()``,
``torchvision.datasets.{MNIST,FashionMNIST,CIFAR10,CIFAR100}(root, download=True)`` and
``keras.utils.get_file`` fetch fixed URLs, which the sandbox cannot reach.  Inside it, the Colab/Kaggle
shim (davar/inside/colab_shim.py) serves a URL from the assignment's public data when the data holds the
file: :data:`LOADER_FILES` says, for each file under ``public/downloads/``, which URLs it stands for (read
from keras 3.15 and torchvision 0.29), and :func:`loader_downloads` is the part of the data map davar adds
for the files that are there (an assignment's own ``[data_map]`` wins).  A URL whose file is not there is
refused at once with the shim's usual message.

On disk, under the assignment's public data (the folder bound into the sandbox as DATA_DIR)::

    downloads/mnist/mnist.npz                              keras.datasets.mnist
    downloads/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz     torchvision MNIST
    downloads/fashion_mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
                                                           keras.datasets.fashion_mnist and torchvision FashionMNIST
    downloads/cifar10/cifar-10-python.tar.gz               keras.datasets.cifar10 and torchvision CIFAR10
    downloads/cifar100/cifar-100-python.tar.gz             keras.datasets.cifar100 and torchvision CIFAR100

Real data: a TA copies the official files there, unchanged (the loaders' own hash checks then pass).  Their
test split goes to the student too, as the loaders return it: when that split is the assignment's hidden set,
make the hidden set a hold-out of your own instead.

Stand-ins: a course's stand-in builder writes these files from its own arrays with the writers below (the
public training images, and a public test split of its own that is never the hidden set), and a file
:data:`STANDIN_MARK` in the same folder.  The loaders check the official files' hashes (keras: sha256,
torchvision: md5); a stand-in cannot match them, so for a file the shim served from a marked folder (and the
files in its archive) the shim lets that check pass and says so in the result (``shim_standin_integrity``).

The CIFAR "python version" is a gzipped tar of pickles written the way Python 2 wrote them (keys and byte
strings as Python 2 ``str``, which keras reads with ``encoding="bytes"`` and torchvision with
``encoding="latin1"``), using only the globals keras's restricted unpickler accepts.  davar writes them and
never reads one: only the student's kernel does.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: The folder of the public data that holds the loaders' files.
FOLDER = "downloads"
#: A file in a folder of :data:`FOLDER` that says its files are davar's stand-ins, not the official ones.
STANDIN_MARK = ".davar-standin"

_KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_FASHION = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_TORONTO = "https://www.cs.toronto.edu/~kriz/"
#: The four IDX files of MNIST and FashionMNIST, as published.
IDX_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz")


def _urls(*bases: str, name: str) -> tuple[str, ...]:
    # torchvision retries an https URL that failed as http: both are the same file
    urls = [base + name for base in bases]
    return tuple(urls + [u.replace("https:", "http:", 1) for u in urls if u.startswith("https:")])


#: Each file under the public data -> the URLs the loaders fetch it from.
LOADER_FILES: dict[str, tuple[str, ...]] = {
    f"{FOLDER}/mnist/mnist.npz": _urls(_KERAS, name="mnist.npz"),
    **{f"{FOLDER}/mnist/{name}": _urls(*_MNIST_MIRRORS, name=name) for name in IDX_FILES},
    **{f"{FOLDER}/fashion_mnist/{name}": _urls(_KERAS, _FASHION, name=name) for name in IDX_FILES},
    f"{FOLDER}/cifar10/cifar-10-python.tar.gz": _urls(_TORONTO, name="cifar-10-python.tar.gz"),
    f"{FOLDER}/cifar100/cifar-100-python.tar.gz": _urls(_TORONTO, name="cifar-100-python.tar.gz"),
}


def loader_downloads(public: Path) -> dict[str, str]:
    """URL -> file of ``public`` (relative), for every file of :data:`LOADER_FILES` that ``public`` holds."""
    return {url: rel for rel, urls in LOADER_FILES.items() if (Path(public) / rel).is_file() for url in urls}


def mark_standin(folder: Path) -> None:
    """Say that ``folder``'s loader files are davar's stand-ins (see :data:`STANDIN_MARK`)."""
    (Path(folder) / STANDIN_MARK).write_text("davar stand-in: not the official files\n", "utf-8")


Split = tuple[np.ndarray, np.ndarray]  # images, labels


# --------------------------------------------------------------------------------------------------
# MNIST and FashionMNIST
# --------------------------------------------------------------------------------------------------


def write_idx_gz(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """A uint8 array as a gzipped IDX file (magic 0x0000_08_<ndim>, big-endian sizes), byte-identical on rebuild."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
        f.write(header + array.tobytes())


def write_idx_set(folder: Path, *, train: Split, test: Split) -> None:
    """The four IDX files MNIST and FashionMNIST are published as (uint8 N×28×28 images, labels 0–9)."""
    folder.mkdir(parents=True, exist_ok=True)
    for (images, labels), (images_name, labels_name) in ((train, IDX_FILES[:2]), (test, IDX_FILES[2:])):
        write_idx_gz(folder / images_name, _images(images, (28, 28)))
        write_idx_gz(folder / labels_name, _labels(labels, len(images), 10))


def write_mnist_npz(path: Path, *, train: Split, test: Split) -> None:
    """keras's ``mnist.npz``: ``x_train``, ``y_train``, ``x_test``, ``y_test`` (uint8), no pickles."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez_compressed(f, x_train=_images(train[0], (28, 28)), y_train=_labels(train[1], len(train[0]), 10),
                            x_test=_images(test[0], (28, 28)), y_test=_labels(test[1], len(test[0]), 10))


# --------------------------------------------------------------------------------------------------
# CIFAR-10 and CIFAR-100, the "python version"
# --------------------------------------------------------------------------------------------------


def write_cifar10_python(path: Path, *, train: Split, test: Split, classes: Sequence[str]) -> None:
    """``cifar-10-python.tar.gz``: folder ``cifar-10-batches-py`` with ``data_batch_1`` … ``data_batch_5`` (the
    training split in five equal parts, in order), ``test_batch`` and ``batches.meta``.  Images are uint8
    N×32×32×3 (HWC), labels 0–9.  keras's loader reads exactly 10,000 records from each training batch: give it
    50,000 training images (torchvision takes any number)."""
    images, labels = _images(train[0], (32, 32, 3)), _labels(train[1], len(train[0]), 10)
    if len(images) % 5:
        raise ValueError(f"{len(images)} training images do not split into five equal batches")
    per = len(images) // 5
    members = {f"data_batch_{i + 1}": _cifar_batch(f"training batch {i + 1} of 5", images[i * per:(i + 1) * per],
                                                   {"labels": labels[i * per:(i + 1) * per]}, offset=i * per)
               for i in range(5)}
    test_images = _images(test[0], (32, 32, 3))
    members["test_batch"] = _cifar_batch("testing batch 1 of 1", test_images,
                                         {"labels": _labels(test[1], len(test_images), 10)})
    members["batches.meta"] = _py2_pickle({b"label_names": [c.encode() for c in classes],
                                           b"num_cases_per_batch": per, b"num_vis": 32 * 32 * 3})
    _tar_gz(path, "cifar-10-batches-py", members)


def write_cifar100_python(path: Path, *, train: Split, test: Split, coarse_train: np.ndarray,
                          coarse_test: np.ndarray, fine_classes: Sequence[str],
                          coarse_classes: Sequence[str]) -> None:
    """``cifar-100-python.tar.gz``: folder ``cifar-100-python`` with ``train``, ``test`` (fine labels 0–99 and
    coarse labels 0–19) and ``meta``."""
    members = {}
    for name, (images, fine), coarse in (("train", train, coarse_train), ("test", test, coarse_test)):
        images = _images(images, (32, 32, 3))
        members[name] = _cifar_batch(name, images, {"fine_labels": _labels(fine, len(images), 100),
                                                    "coarse_labels": _labels(coarse, len(images), 20)})
    members["meta"] = _py2_pickle({b"fine_label_names": [c.encode() for c in fine_classes],
                                   b"coarse_label_names": [c.encode() for c in coarse_classes]})
    _tar_gz(path, "cifar-100-python", members)


def _cifar_batch(label: str, images: np.ndarray, label_lists: dict[str, np.ndarray], offset: int = 0) -> bytes:
    """One batch as CIFAR's pickles hold it: ``data`` uint8 N×3072 (the red, green and blue 32×32 planes, row by
    row), labels as lists of ints, ``filenames`` and ``batch_label``."""
    data = np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(len(images), -1))
    batch: dict[bytes, object] = {b"batch_label": label.encode(), b"data": data}
    batch.update({key.encode(): [int(v) for v in values] for key, values in label_lists.items()})
    batch[b"filenames"] = [f"davar_standin_{offset + i:05d}.png".encode() for i in range(len(images))]
    return _py2_pickle(batch)


_PurePickler: Any = pickle._Pickler  # the pure-Python pickler: its dispatch table is open


class _Py2Pickler(_PurePickler):
    """Protocol 2 with ``bytes`` written as Python 2 ``str`` (SHORT_BINSTRING/BINSTRING), as CIFAR's files are:
    the unpickler's ``encoding`` then decides what they become, which both loaders rely on."""

    dispatch = _PurePickler.dispatch.copy()

    def save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def _py2_pickle(obj: object) -> bytes:
    out = io.BytesIO()
    _Py2Pickler(out, protocol=2).dump(obj)
    return out.getvalue()


def _tar_gz(path: Path, folder: str, members: dict[str, bytes]) -> None:
    """A gzipped tar of ``folder/<name>`` for each member, byte-identical on rebuild (fixed times and owners)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0, compresslevel=6) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for directory in (folder,):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, body in members.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size, info.mode = len(body), 0o644
            tar.addfile(info, io.BytesIO(body))


# --------------------------------------------------------------------------------------------------


def _images(images: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.shape[1:] != shape:
        raise ValueError(f"images must be uint8 N×{'×'.join(map(str, shape))}, not {images.dtype} {images.shape}")
    return np.ascontiguousarray(images)


def _labels(labels: np.ndarray, n: int, classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,) or (labels.size and (labels.min() < 0 or labels.max() >= classes)):
        raise ValueError(f"labels must be {n} integers in 0..{classes - 1}")
    return labels.astype(np.uint8)

