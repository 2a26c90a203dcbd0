"""graders/iust-dl-1402-hw3/cifar10.py: the binary CIFAR-10 format, the offline stand-in and the loaders."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def cifar10(course_module):
    return course_module("iust-dl-1402-hw3", "cifar10")


@pytest.fixture(scope="module")
def root(cifar10, tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "iust-dl-1402-hw3"
    cifar10.build_cifar10(root)
    return root


def test_a_record_is_a_label_byte_and_chw_planes(cifar10, tmp_path):
    record = bytes([7]) + bytes([10]) * 1024 + bytes([20]) * 1024 + bytes([30]) * 1024
    (tmp_path / "one.bin").write_bytes(record * 2)
    images, labels = cifar10.read_batch(tmp_path / "one.bin")
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
    assert labels.tolist() == [7, 7] and labels.dtype == np.int64
    assert images[0, 5, 9].tolist() == [10, 20, 30]                  # R, G, B planes → channels last


def test_write_then_read_is_the_identity(cifar10, tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    labels = np.array([0, 9, 3, 3, 1])
    cifar10.write_batch(tmp_path / "b.bin", images, labels)
    assert (tmp_path / "b.bin").stat().st_size == 5 * 3073
    got_images, got_labels = cifar10.read_batch(tmp_path / "b.bin")
    assert np.array_equal(got_images, images) and got_labels.tolist() == labels.tolist()


def test_a_truncated_batch_is_refused(cifar10, tmp_path):
    (tmp_path / "bad.bin").write_bytes(bytes(3073 + 10))
    with pytest.raises(ValueError, match="3073-byte records"):
        cifar10.read_batch(tmp_path / "bad.bin")


def test_stand_in_has_the_binary_layout(cifar10, root):
    public, hidden = root / "public" / "cifar10", root / "hidden" / "cifar10"
    assert sorted(p.name for p in public.iterdir()) == sorted([*cifar10.TRAIN_FILES, "batches.meta.txt"])
    assert [p.name for p in hidden.iterdir()] == ["test_batch.bin"]
    assert (public / "batches.meta.txt").read_text().split() == list(cifar10.CLASSES)
    assert all((public / name).stat().st_size % 3073 == 0 for name in cifar10.TRAIN_FILES)


def test_loaders_give_balanced_classes(cifar10, root):
    images, labels = cifar10.load_train(root / "public" / "cifar10")
    assert images.shape == (2000, 32, 32, 3) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [200] * 10
    test_images, test_labels = cifar10.load_test(root / "hidden" / "cifar10")
    assert test_images.shape == (1000, 32, 32, 3)
    assert np.bincount(test_labels, minlength=10).tolist() == [100] * 10
    assert not {im.tobytes() for im in images} & {im.tobytes() for im in test_images}


def test_classes_differ_by_colour(cifar10, root):
    """Each class is its own hue: the most saturated pixels of an image tell its class apart (what
    lets a small CNN learn the stand-in in seconds)."""
    images, labels = cifar10.load_test(root / "hidden" / "cifar10")
    rgb = images.reshape(len(images), -1, 3).astype(np.float64)
    saturation = rgb.max(axis=2) - rgb.min(axis=2)
    top = np.argsort(saturation, axis=1)[:, -20:]
    colour = np.take_along_axis(rgb, top[..., None], axis=1).mean(axis=1)
    centroids = np.stack([colour[labels == c].mean(axis=0) for c in range(10)])
    nearest = np.argmin(((colour[:, None] - centroids[None]) ** 2).sum(axis=2), axis=1)
    assert np.mean(nearest == labels) > 0.8


def test_build_is_deterministic(cifar10, root, tmp_path):
    cifar10.build_cifar10(tmp_path / "again")
    for rel in ("public/cifar10/data_batch_3.bin", "hidden/cifar10/test_batch.bin"):
        assert (tmp_path / "again" / rel).read_bytes() == (root / rel).read_bytes()


def test_framework_loaders_get_the_public_records_and_a_test_batch_of_their_own(cifar10, root, tmp_path):
    """What keras.datasets.cifar10 and torchvision's CIFAR10 download (davar/datasets/native.py): the public records
    25 times in a row (keras reads 10,000 a batch), read back with keras's own parsing of davar's pickles."""
    import tarfile

    from davar.datasets import native

    cifar = pytest.importorskip("keras.src.datasets.cifar")
    served = root / "public" / "downloads" / "cifar10"
    assert (served / native.STANDIN_MARK).is_file()
    with tarfile.open(served / "cifar-10-python.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    images, labels = cifar.load_batch(str(tmp_path / "cifar-10-batches-py" / "data_batch_3"))
    public, public_labels = cifar10.read_batch(root / "public" / "cifar10" / "data_batch_3.bin")
    assert images.shape == (10_000, 3, 32, 32)
    assert (images.transpose(0, 2, 3, 1)[::25] == public).all() and list(labels[::25]) == list(public_labels)
    test, _ = cifar.load_batch(str(tmp_path / "cifar-10-batches-py" / "test_batch"))
    hidden, _ = cifar10.load_test(root / "hidden" / "cifar10")
    assert len(test) == 1000 and not {i.tobytes() for i in test.transpose(0, 2, 3, 1)} & {i.tobytes() for i in hidden}
