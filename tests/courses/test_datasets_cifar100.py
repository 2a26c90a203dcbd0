"""graders/iust-dl-1403-hw2/cifar100.py: the binary CIFAR-100 format, the offline stand-in and the loaders."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def cifar100(course_module):
    return course_module("iust-dl-1403-hw2", "cifar100")


@pytest.fixture(scope="module")
def root(cifar100, tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "iust-dl-1403-hw2"
    cifar100.build_cifar100(root)
    return root


def test_a_record_is_coarse_fine_and_chw_planes(cifar100, tmp_path):
    record = bytes([3, 17]) + bytes([10]) * 1024 + bytes([20]) * 1024 + bytes([30]) * 1024
    (tmp_path / "one.bin").write_bytes(record * 2)
    images, labels = cifar100.read_records(tmp_path / "one.bin")
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
    assert labels.tolist() == [17, 17] and labels.dtype == np.int64     # the fine label
    assert images[0, 5, 9].tolist() == [10, 20, 30]
    (tmp_path / "short.bin").write_bytes(record[:-1])
    with pytest.raises(ValueError):
        cifar100.read_records(tmp_path / "short.bin")


def test_write_then_read_is_the_identity(cifar100, tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    cifar100.write_records(tmp_path / "b.bin", images, np.array([0, 99, 42, 5]))
    raw = (tmp_path / "b.bin").read_bytes()
    assert len(raw) == 4 * 3074 and raw[3074:3076] == bytes([19, 99])   # coarse = fine // 5
    got, labels = cifar100.read_records(tmp_path / "b.bin")
    assert np.array_equal(got, images) and labels.tolist() == [0, 99, 42, 5]


def test_standin_layout_balance_and_hidden_split(cifar100, root):
    images, labels = cifar100.load_train(root / "public" / "cifar100")
    test_images, test_labels = cifar100.load_test(root / "hidden" / "cifar100")
    assert images.shape == (3000, 32, 32, 3) and np.bincount(labels, minlength=100).tolist() == [30] * 100
    assert test_images.shape == (1000, 32, 32, 3) and np.bincount(test_labels).tolist() == [10] * 100
    assert not (root / "public" / "cifar100" / "test.bin").exists()
    assert not {i.tobytes() for i in images} & {i.tobytes() for i in test_images}
    names = (root / "public" / "cifar100" / "fine_label_names.txt").read_text().split()
    assert names == cifar100.fine_names() and len(set(names)) == 100


def test_classes_are_separable_by_simple_features(cifar100, root):
    """Hue, shape and background tell the classes apart: class means differ more than noise."""
    images, labels = cifar100.load_train(root / "public" / "cifar100")
    dark = images.reshape(len(images), -1).mean(1) < 110
    assert np.array_equal(dark, labels < 50)                           # the background half


def test_build_is_idempotent_and_deterministic(cifar100, root, tmp_path):
    train = root / "public" / "cifar100" / "train.bin"
    before = train.stat().st_mtime_ns
    cifar100.build_cifar100(root)
    assert train.stat().st_mtime_ns == before
    cifar100.build_cifar100(tmp_path / "again")
    assert (tmp_path / "again" / "public" / "cifar100" / "train.bin").read_bytes() == train.read_bytes()
    assert (tmp_path / "again" / "hidden" / "cifar100" / "test.bin").read_bytes() == (
        root / "hidden" / "cifar100" / "test.bin").read_bytes()
