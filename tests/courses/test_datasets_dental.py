"""graders/iust-dl-1403-hw2/dental.py: the synthetic dental X-rays, their masks (some training masks
wrong in the public copy, as the handout warns) and Dice."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def dental(course_module):
    return course_module("iust-dl-1403-hw2", "dental")


@pytest.fixture(scope="module")
def root(dental, tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "iust-dl-1403-hw2"
    dental.build_dental(root)
    return root


def test_layout_public_and_hidden(dental, root):
    public, hidden = root / "public" / "dental", root / "hidden" / "dental"
    train, test = dental.names(public, "train"), dental.names(public, "test")
    assert len(train) == 120 and len(test) == 40
    assert not (public / "test" / "masks").exists()                   # test masks are hidden only
    assert sorted(p.name for p in (hidden / "test" / "masks").glob("*.png")) == test
    images = dental.load_images(public, "train")
    assert images.shape == (120, 64, 64) and images.dtype == np.uint8 and images.std() > 20
    masks = dental.load_masks(hidden, "test", test)
    assert masks.shape == (40, 64, 64) and masks.dtype == bool and 0.005 < masks.mean() < 0.1


def test_a_share_of_the_public_training_masks_is_wrong(dental, root):
    files = dental.names(root / "public" / "dental", "train")
    given = dental.load_masks(root / "public" / "dental", "train", files)
    truth = dental.load_masks(root / "hidden" / "dental", "train", files)
    wrong = (given != truth).any(axis=(1, 2))
    assert 0.08 <= wrong.mean() <= dental.CORRUPT_SHARE
    assert dental.dice(given[~wrong], truth[~wrong]) == pytest.approx(1.0)


def test_lesions_are_darker_spots_inside_teeth(dental, root):
    files = dental.names(root / "public" / "dental", "train")
    images = dental.load_images(root / "public" / "dental", "train").astype(float)
    truth = dental.load_masks(root / "hidden" / "dental", "train", files)
    assert images[truth].mean() < images[~truth].mean() + 40 and images[truth].mean() > 60


def test_dice(dental):
    a = np.zeros((2, 4, 4), bool)
    b = a.copy()
    a[0, :2] = True                     # 8 pixels
    b[0, :1] = True                     # 4 pixels, all inside a
    assert dental.dice(a, b) == pytest.approx(2 * 4 / 12)
    assert dental.dice(a, a) == pytest.approx(1.0) and dental.dice(a, ~a) < 1e-6
    assert dental.dice(np.zeros_like(a), np.zeros_like(a)) == pytest.approx(1.0)


def test_build_is_idempotent_and_deterministic(dental, root, tmp_path):
    one = root / "public" / "dental" / "train" / "masks" / "0003.png"
    before = one.stat().st_mtime_ns
    dental.build_dental(root)
    assert one.stat().st_mtime_ns == before
    dental.build_dental(tmp_path / "again")
    assert (tmp_path / "again" / "public" / "dental" / "train" / "masks" / "0003.png").read_bytes() == one.read_bytes()
