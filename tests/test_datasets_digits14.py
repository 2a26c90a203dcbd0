"""davar.datasets.digits14: the offline digits 1–4 stand-in and the loaders graders share."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest

from davar import datasets


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "iust-dl-1403-hw2"
    datasets.build_digits14(root)
    return root


@pytest.fixture(scope="module")
def public(root):
    return root / "public" / "digits"


@pytest.fixture(scope="module")
def hidden(root):
    return root / "hidden" / "digits"


def test_public_layout_and_labels(public):
    paths, labels = datasets.list_labelled(public)
    assert 1000 <= len(paths) <= 1400
    assert paths == sorted(paths)
    assert all(p.suffix == ".png" and len(p.stem.split("_")) == 2 for p in paths)
    assert labels.dtype == np.int64 and labels.shape == (len(paths),)
    assert set(labels.tolist()) == {1, 2, 3, 4}
    counts = np.bincount(labels, minlength=5)[1:]
    assert counts.min() > 0.8 * counts.max()              # roughly balanced
    assert [int(p.stem.split("_")[-1]) for p in paths] == labels.tolist()


def test_label_from_name():
    assert datasets.label_from_name("digits/00017_3.png") == 3
    assert datasets.label_from_name("img_2024_05_4.png") == 4


def test_images_are_64x64_rgb_uint8(public):
    paths, _ = datasets.list_labelled(public)
    images = datasets.load_images(paths[:16])
    assert images.shape == (16, 64, 64, 3) and images.dtype == np.uint8
    assert images.std() > 10                               # not blank
    assert datasets.load_images([]).shape == (0, 64, 64, 3)


def test_hidden_set(hidden):
    names = sorted(p.name for p in hidden.glob("*.png"))
    assert all("_" not in n for n in names)               # no label in the name
    with open(hidden / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["file"] for r in rows) == names
    images, labels = datasets.load_hidden(hidden)
    assert 200 <= len(images) <= 300
    assert images.shape == (len(rows), 64, 64, 3) and images.dtype == np.uint8
    assert labels.tolist() == [int(r["label"]) for r in rows]
    assert set(labels.tolist()) == {1, 2, 3, 4}


def test_hidden_is_disjoint_from_public(public, hidden):
    paths, _ = datasets.list_labelled(public)
    public_keys = {img.tobytes() for img in datasets.load_images(paths)}
    hidden_images, _ = datasets.load_hidden(hidden)
    assert not public_keys & {img.tobytes() for img in hidden_images}


def test_split_is_the_notebooks_80_20_and_reproducible(public):
    from sklearn.model_selection import train_test_split

    tr_p, te_p, tr_y, te_y = datasets.split_public(public)
    paths, labels = datasets.list_labelled(public)
    assert len(te_p) == int(np.ceil(0.2 * len(paths))) and len(tr_p) + len(te_p) == len(paths)
    assert set(tr_p).isdisjoint(te_p)
    # what the template notebook runs, verbatim
    nb_tr, nb_te, nb_ytr, nb_yte = train_test_split(
        sorted(public.glob("*.png")), labels, test_size=0.2, random_state=42
    )
    assert tr_p == nb_tr and te_p == nb_te
    assert np.array_equal(tr_y, nb_ytr) and np.array_equal(te_y, nb_yte)
    assert [datasets.label_from_name(p) for p in te_p] == te_y.tolist()
    again = datasets.split_public(public)
    assert again[0] == tr_p and again[1] == te_p
    assert datasets.split_public(public, random_state=0)[1] != te_p


def test_build_is_idempotent_and_deterministic(root, public, tmp_path):
    before = {p.name: p.stat().st_mtime_ns for p in public.iterdir()}
    datasets.build_digits14(root)                         # already built: nothing rewritten
    assert {p.name: p.stat().st_mtime_ns for p in public.iterdir()} == before
    assert (root / ".built-digits").read_text().strip() == datasets.DIGITS14_VERSION

    other = tmp_path / "again"
    datasets.build_digits14(other)
    names = sorted(p.name for p in public.glob("*.png"))
    assert sorted(p.name for p in (other / "public" / "digits").glob("*.png")) == names
    for name in names[:: max(1, len(names) // 25)]:
        assert (other / "public" / "digits" / name).read_bytes() == (public / name).read_bytes()
    assert (other / "hidden" / "digits" / "labels.csv").read_bytes() == (
        root / "hidden" / "digits" / "labels.csv"
    ).read_bytes()


def test_stale_marker_rebuilds(tmp_path):
    root = tmp_path / "stale"
    (root / "public" / "digits").mkdir(parents=True)
    (root / "public" / "digits" / "junk_9.png").write_bytes(b"not a png")
    (root / ".built-digits").write_text("digits14-v0\n")
    datasets.build_digits14(root)
    _, labels = datasets.list_labelled(root / "public" / "digits")
    assert set(labels.tolist()) == {1, 2, 3, 4}
    assert (root / ".built-digits").read_text().strip() == datasets.DIGITS14_VERSION


def test_import_is_light():
    code = "import sys, davar.datasets; print(any(m in sys.modules for m in ('PIL', 'sklearn', 'torch')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_refuses_to_replace_data_it_did_not_build(tmp_path):
    from davar.errors import DavarError

    real = tmp_path / "public" / "digits"
    real.mkdir(parents=True)
    (real / "00000_1.png").write_bytes(b"a TA's real file")
    with pytest.raises(DavarError):
        datasets.build_digits14(tmp_path)
    assert (real / "00000_1.png").read_bytes() == b"a TA's real file"
