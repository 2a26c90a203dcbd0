"""graders/iust-dl-1403-hw2/digits14.py: the offline digits 1–4 stand-in and the loaders graders share."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import numpy as np
import pytest


@pytest.fixture(scope="module")
def digits14(course_module):
    return course_module("iust-dl-1403-hw2", "digits14")


@pytest.fixture(scope="module")
def root(digits14, tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "iust-dl-1403-hw2"
    digits14.build_digits14(root)
    return root


@pytest.fixture(scope="module")
def public(root):
    return root / "public" / "digits"


@pytest.fixture(scope="module")
def hidden(root):
    return root / "hidden" / "digits"


def test_public_layout_and_labels(digits14, public):
    paths, labels = digits14.list_labelled(public)
    assert 1000 <= len(paths) <= 1400
    assert paths == sorted(paths)
    assert all(p.suffix == ".png" and len(p.stem.split("_")) == 2 for p in paths)
    assert labels.dtype == np.int64 and labels.shape == (len(paths),)
    assert set(labels.tolist()) == {1, 2, 3, 4}
    counts = np.bincount(labels, minlength=5)[1:]
    assert counts.min() > 0.8 * counts.max()              # roughly balanced
    assert [int(p.stem.split("_")[-1]) for p in paths] == labels.tolist()


def test_label_from_name(digits14):
    assert digits14.label_from_name("digits/00017_3.png") == 3
    assert digits14.label_from_name("img_2024_05_4.png") == 4


def test_images_are_64x64_rgb_uint8(digits14, public):
    paths, _ = digits14.list_labelled(public)
    images = digits14.load_images(paths[:16])
    assert images.shape == (16, 64, 64, 3) and images.dtype == np.uint8
    assert images.std() > 10                               # not blank
    assert digits14.load_images([]).shape == (0, 64, 64, 3)


def test_hidden_set(digits14, hidden):
    names = sorted(p.name for p in hidden.glob("*.png"))
    assert all("_" not in n for n in names)               # no label in the name
    with open(hidden / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["file"] for r in rows) == names
    images, labels = digits14.load_hidden(hidden)
    assert 200 <= len(images) <= 300
    assert images.shape == (len(rows), 64, 64, 3) and images.dtype == np.uint8
    assert labels.tolist() == [int(r["label"]) for r in rows]
    assert set(labels.tolist()) == {1, 2, 3, 4}


def test_hidden_is_disjoint_from_public(digits14, public, hidden):
    paths, _ = digits14.list_labelled(public)
    public_keys = {img.tobytes() for img in digits14.load_images(paths)}
    hidden_images, _ = digits14.load_hidden(hidden)
    assert not public_keys & {img.tobytes() for img in hidden_images}


def test_split_is_the_notebooks_80_20_and_reproducible(digits14, public):
    from sklearn.model_selection import train_test_split

    tr_p, te_p, tr_y, te_y = digits14.split_public(public)
    paths, labels = digits14.list_labelled(public)
    assert len(te_p) == int(np.ceil(0.2 * len(paths))) and len(tr_p) + len(te_p) == len(paths)
    assert set(tr_p).isdisjoint(te_p)
    # what the template notebook runs, verbatim
    nb_tr, nb_te, nb_ytr, nb_yte = train_test_split(
        sorted(public.glob("*.png")), labels, test_size=0.2, random_state=42
    )
    assert tr_p == nb_tr and te_p == nb_te
    assert np.array_equal(tr_y, nb_ytr) and np.array_equal(te_y, nb_yte)
    assert [digits14.label_from_name(p) for p in te_p] == te_y.tolist()
    again = digits14.split_public(public)
    assert again[0] == tr_p and again[1] == te_p
    assert digits14.split_public(public, random_state=0)[1] != te_p


def test_build_is_idempotent_and_deterministic(digits14, root, public, tmp_path):
    before = {p.name: p.stat().st_mtime_ns for p in public.iterdir()}
    digits14.build_digits14(root)                         # already built: nothing rewritten
    assert {p.name: p.stat().st_mtime_ns for p in public.iterdir()} == before
    assert (root / ".built-digits").read_text().strip() == digits14.DIGITS14_VERSION

    other = tmp_path / "again"
    digits14.build_digits14(other)
    names = sorted(p.name for p in public.glob("*.png"))
    assert sorted(p.name for p in (other / "public" / "digits").glob("*.png")) == names
    for name in names[:: max(1, len(names) // 25)]:
        assert (other / "public" / "digits" / name).read_bytes() == (public / name).read_bytes()
    assert (other / "hidden" / "digits" / "labels.csv").read_bytes() == (
        root / "hidden" / "digits" / "labels.csv"
    ).read_bytes()


def test_stale_marker_rebuilds(digits14, tmp_path):
    root = tmp_path / "stale"
    (root / "public" / "digits").mkdir(parents=True)
    (root / "public" / "digits" / "junk_9.png").write_bytes(b"not a png")
    (root / ".built-digits").write_text("digits14-v0\n")
    digits14.build_digits14(root)
    _, labels = digits14.list_labelled(root / "public" / "digits")
    assert set(labels.tolist()) == {1, 2, 3, 4}
    assert (root / ".built-digits").read_text().strip() == digits14.DIGITS14_VERSION


def test_import_is_light(repo):
    """Graders import it at collection: PIL and scikit-learn wait until a function needs them."""
    code = "import sys, digits14; print(any(m in sys.modules for m in ('PIL', 'sklearn', 'torch')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(repo / "graders" / "iust-dl-1403-hw2")})
    assert out.stdout.strip() == "False"


def test_refuses_to_replace_data_it_did_not_build(digits14, tmp_path):
    from davar.errors import DavarError

    real = tmp_path / "public" / "digits"
    real.mkdir(parents=True)
    (real / "00000_1.png").write_bytes(b"a TA's real file")
    with pytest.raises(DavarError):
        digits14.build_digits14(tmp_path)
    assert (real / "00000_1.png").read_bytes() == b"a TA's real file"
