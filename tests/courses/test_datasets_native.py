"""davar/datasets/native.py: the files framework loaders download, written from arrays and read back with the
loaders' own parsing (keras's where installed: the test reads back pickles davar itself wrote, never a student's)
and the URLs they stand for.  The course stand-ins that write them: test_datasets_fashion_mnist.py and
test_datasets_cifar10.py."""

from __future__ import annotations

import gzip
import tarfile

import numpy as np
import pytest

from davar.datasets import native


def _split(rng, n, shape, classes):
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8), rng.integers(0, classes, size=n)


def test_urls_only_for_the_files_there(tmp_path):
    assert native.loader_downloads(tmp_path) == {}
    (tmp_path / "downloads" / "cifar10").mkdir(parents=True)
    (tmp_path / "downloads" / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"x")
    rel = "downloads/cifar10/cifar-10-python.tar.gz"
    assert native.loader_downloads(tmp_path) == {"https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz": rel,
                                                 "http://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz": rel}
    # FashionMNIST: keras's bucket and torchvision's mirror are the same four files
    urls = native.LOADER_FILES["downloads/fashion_mnist/t10k-labels-idx1-ubyte.gz"]
    assert "https://storage.googleapis.com/tensorflow/tf-keras-datasets/t10k-labels-idx1-ubyte.gz" in urls
    assert "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-labels-idx1-ubyte.gz" in urls


def test_mnist_files_read_back_as_the_loaders_read_them(tmp_path):
    rng = np.random.default_rng(0)
    train, test = _split(rng, 12, (28, 28), 10), _split(rng, 5, (28, 28), 10)
    native.write_mnist_npz(tmp_path / "mnist.npz", train=train, test=test)
    with np.load(tmp_path / "mnist.npz", allow_pickle=False) as f:  # keras.datasets.mnist's own reading
        assert (f["x_train"] == train[0]).all() and (f["y_test"] == test[1]).all() and f["y_train"].dtype == np.uint8
    native.write_idx_set(tmp_path / "idx", train=train, test=test)
    with gzip.open(tmp_path / "idx" / "t10k-images-idx3-ubyte.gz") as f:  # keras.datasets.fashion_mnist's reading
        assert (np.frombuffer(f.read(), np.uint8, offset=16).reshape(5, 28, 28) == test[0]).all()
    with gzip.open(tmp_path / "idx" / "train-labels-idx1-ubyte.gz") as f:
        assert (np.frombuffer(f.read(), np.uint8, offset=8) == train[1]).all()
    first = (tmp_path / "idx" / "train-images-idx3-ubyte.gz").read_bytes()
    native.write_idx_set(tmp_path / "idx", train=train, test=test)
    assert (tmp_path / "idx" / "train-images-idx3-ubyte.gz").read_bytes() == first  # byte-identical rebuilds


def test_cifar_python_archives_read_with_keras(tmp_path):
    cifar = pytest.importorskip("keras.src.datasets.cifar")
    rng = np.random.default_rng(1)
    train, test = _split(rng, 15, (32, 32, 3), 10), _split(rng, 4, (32, 32, 3), 10)
    native.write_cifar10_python(tmp_path / "c10.tar.gz", train=train, test=test, classes=[f"c{i}" for i in range(10)])
    fine, fine_test = _split(rng, 6, (32, 32, 3), 100), _split(rng, 3, (32, 32, 3), 100)
    native.write_cifar100_python(tmp_path / "c100.tar.gz", train=fine, test=fine_test, coarse_train=fine[1] // 5,
                                 coarse_test=fine_test[1] // 5, fine_classes=[f"f{i}" for i in range(100)],
                                 coarse_classes=[f"k{i}" for i in range(20)])
    for archive in ("c10.tar.gz", "c100.tar.gz"):
        with tarfile.open(tmp_path / archive) as tar:
            tar.extractall(tmp_path / "x", filter="data")
    batches = tmp_path / "x" / "cifar-10-batches-py"
    assert sorted(p.name for p in batches.iterdir()) == [
        "batches.meta", *(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]
    data, labels = cifar.load_batch(str(batches / "data_batch_2"))  # the second three records, CHW
    assert (data.transpose(0, 2, 3, 1) == train[0][3:6]).all() and list(labels) == list(train[1][3:6])
    data, labels = cifar.load_batch(str(batches / "test_batch"))
    assert (data.transpose(0, 2, 3, 1) == test[0]).all() and list(labels) == list(test[1])
    data, labels = cifar.load_batch(str(tmp_path / "x" / "cifar-100-python" / "train"), label_key="coarse_labels")
    assert (data.transpose(0, 2, 3, 1) == fine[0]).all() and list(labels) == list(fine[1] // 5)


def test_wrong_arrays_are_refused(tmp_path):
    rng = np.random.default_rng(2)
    images, labels = _split(rng, 4, (28, 28), 10)
    with pytest.raises(ValueError, match="uint8"):
        native.write_idx_set(tmp_path, train=(images.astype(np.float32), labels), test=(images, labels))
    with pytest.raises(ValueError, match="labels"):
        native.write_mnist_npz(tmp_path / "m.npz", train=(images, labels + 10), test=(images, labels))
    with pytest.raises(ValueError, match="five equal batches"):
        native.write_cifar10_python(tmp_path / "c.tar.gz", train=_split(rng, 7, (32, 32, 3), 10),
                                    test=_split(rng, 2, (32, 32, 3), 10), classes=[str(i) for i in range(10)])

