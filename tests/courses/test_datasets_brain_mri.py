"""graders/iust-dl-1402-hw3/brain_mri.py: the offline brain-MRI stand-in (Kaggle layout) and the loaders
graders share."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def brain_mri(course_module):
    return course_module("iust-dl-1402-hw3", "brain_mri")


@pytest.fixture(scope="module")
def root(brain_mri, tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "iust-dl-1402-hw3"
    brain_mri.build_brain_mri(root)
    return root


def test_public_is_the_kaggle_layout(root):
    public = root / "public" / "brain_mri"
    assert sorted(p.name for p in public.iterdir()) == ["no", "yes"]
    yes, no = sorted((public / "yes").iterdir()), sorted((public / "no").iterdir())
    assert (len(yes), len(no)) == (155, 98)                        # the Kaggle set's counts
    assert all(p.suffix == ".jpg" for p in yes + no)
    with Image.open(yes[0]) as im:
        assert im.format == "JPEG"
    sizes, modes = set(), set()
    for p in yes[:30] + no[:30]:
        with Image.open(p) as im:
            sizes.add(im.size)
            modes.add(im.mode)
    assert len(sizes) > 10 and modes == {"L", "RGB"}                # mixed sizes and modes, as in the real set


def test_load_public_gives_grey_64x64_in_unit_range(brain_mri, root):
    images, labels = brain_mri.load_public(root / "public" / "brain_mri")
    assert images.shape == (253, 64, 64, 1) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0 and images.std() > 0.1
    assert labels.dtype == np.int64 and labels.tolist() == [0] * 98 + [1] * 155


def test_hidden_set_has_labels_outside_the_names(brain_mri, root):
    hidden = root / "hidden" / "brain_mri"
    with open(hidden / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["file"] for r in rows) == sorted(p.name for p in hidden.glob("*.jpg"))
    assert all(r["file"][:4].isdigit() for r in rows)              # the name carries no label
    images, labels = brain_mri.load_hidden(hidden)
    assert images.shape == (100, 64, 64, 1)
    assert labels.tolist() == [int(r["label"]) for r in rows] and sorted(set(labels.tolist())) == [0, 1]


def test_a_tumour_is_a_bright_blob(brain_mri, root):
    """The classes differ by what the handout means: a bright spot inside the brain (so a small CNN
    learns it), not by size, mode or file name."""
    images, labels = brain_mri.load_hidden(root / "hidden" / "brain_mri")
    brightest = images.reshape(len(images), -1).max(axis=1)
    assert np.mean((brightest > 0.72) == labels) > 0.95


def test_build_is_deterministic_and_idempotent(brain_mri, root, tmp_path):
    marker = root / ".built-brain_mri"
    stamp = marker.stat().st_mtime_ns
    brain_mri.build_brain_mri(root)                                 # already built: nothing happens
    assert marker.stat().st_mtime_ns == stamp
    other = tmp_path / "again"
    brain_mri.build_brain_mri(other)
    for rel in ("public/brain_mri/yes/Y1.jpg", "public/brain_mri/no/N98.jpg", "hidden/brain_mri/labels.csv"):
        assert (other / rel).read_bytes() == (root / rel).read_bytes()


@pytest.mark.parametrize("outputs, labels", [
    ([[0.9], [0.2], [0.5]], [1, 0, 0]),
    ([0.9, 0.2], [1, 0]),
    ([[0.3, 0.7], [0.8, 0.2]], [1, 0]),
])
def test_predicted_labels_reads_sigmoid_and_softmax_outputs(brain_mri, outputs, labels):
    assert brain_mri.predicted_labels(np.array(outputs)).tolist() == labels


def test_predicted_labels_refuses_other_shapes(brain_mri):
    with pytest.raises(ValueError):
        brain_mri.predicted_labels(np.zeros((4, 3)))
