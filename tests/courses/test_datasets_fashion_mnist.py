"""graders/iust-dl-1402-hw2/fashion_mnist.py: the IDX files, the loaders graders and the template share, and the
stand-in's purpose — question 5's effects (threshold reached, overfit gap, augmentation and L2 shrink
it) hold whatever the seed, with the thresholds of iust-dl-1402-hw2's assignment.toml."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from davar import assignment
from davar.errors import DavarError


@pytest.fixture(scope="module")
def fm(course_module):
    return course_module("iust-dl-1402-hw2", "fashion_mnist")


@pytest.fixture(scope="module")
def root(fm, tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "iust-dl-1402-hw2"
    fm.build_fashion_mnist(root)
    return root


@pytest.fixture(scope="module")
def public(fm, root):
    return fm.load_public(root / "public" / fm.NAME)


@pytest.fixture(scope="module")
def hidden(fm, root):
    return fm.load_hidden(root / "hidden" / fm.NAME)


def test_zalando_file_layout(fm, root):
    assert sorted(p.name for p in (root / "public" / fm.NAME).iterdir()) == [fm.TRAIN_IMAGES, fm.TRAIN_LABELS]
    assert sorted(p.name for p in (root / "hidden" / fm.NAME).iterdir()) == [fm.TEST_IMAGES, fm.TEST_LABELS]
    with gzip.open(root / "public" / fm.NAME / fm.TRAIN_IMAGES) as f:
        assert f.read(16) == bytes([0, 0, 8, 3]) + (3000).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2
    with gzip.open(root / "hidden" / fm.NAME / fm.TEST_LABELS) as f:
        assert f.read(8) == bytes([0, 0, 8, 1]) + (1000).to_bytes(4, "big")


def test_loaders_give_images_and_labels(public, hidden):
    for (images, labels), n in ((public, 3000), (hidden, 1000)):
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.int64
        assert set(labels.tolist()) == set(range(10))
        assert 0 < images.mean() < 128 and images.max() == 255
    assert np.bincount(hidden[1]).tolist() == [100] * 10  # clean and balanced


def test_idx_round_trip(fm, tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    fm.write_idx(tmp_path / "a.gz", array)
    np.testing.assert_array_equal(fm.read_idx(tmp_path / "a.gz"), array)
    (tmp_path / "a").write_bytes(gzip.decompress((tmp_path / "a.gz").read_bytes()))
    np.testing.assert_array_equal(fm.read_idx(tmp_path / "a"), array)
    (tmp_path / "bad").write_bytes(bytes([0, 0, 0x0D, 1, 0, 0, 0, 1]) + b"\0\0\0\0")  # float IDX
    with pytest.raises(ValueError):
        fm.read_idx(tmp_path / "bad")


def test_model_input_is_to_tensor_layout(fm, public):
    x = fm.as_model_input(public[0][:5])
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0] * 255, public[0][:5])


def test_build_is_deterministic_and_never_replaces_real_data(fm, root, tmp_path):
    again = tmp_path / "again"
    fm.build_fashion_mnist(again)
    for part, name in (("public", fm.TRAIN_IMAGES), ("hidden", fm.TEST_LABELS)):
        assert (again / part / fm.NAME / name).read_bytes() == (root / part / fm.NAME / name).read_bytes()
    real = tmp_path / "real"
    (real / "public" / fm.NAME).mkdir(parents=True)
    with pytest.raises(DavarError):
        fm.build_fashion_mnist(real)


# ---------------------------------------------------------------- question 5's experiments
# The recipes of the reference notebook (reference/iust-dl-1402-hw2/HW2_Q5.py) at the
# standin profile: part a a 784-256-10 MLP, 10 epochs over the training images; parts b–d a
# 784-256-256-10 MLP, 40 epochs over the first 500 images, SGD (lr 0.05, momentum 0.9; part d: an L2
# penalty of 0.01 on the weights, lr 0.01).


def _train(torch, model, x, y, epochs, batch_size, augment=None, l2=0.0, lr=0.05):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            xb = x[batch] if augment is None else augment(x[batch])
            loss = loss_fn(model(xb), y[batch])
            if l2:
                loss = loss + l2 * sum((p ** 2).sum() for n, p in model.named_parameters() if n.endswith("weight"))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model


def _accuracy(torch, model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_question5_effects_hold_for_any_seed(fm, public, hidden, repo, seed):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    config = assignment.load(repo / "graders" / "iust-dl-1402-hw2")
    small = config.question("5b").extra["small_train"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        x, y = torch.tensor(fm.as_model_input(public[0])), torch.tensor(public[1])
        xh, yh = torch.tensor(fm.as_model_input(hidden[0])), torch.tensor(hidden[1])
        xs, ys = x[:small], y[:small]

        def big():
            return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                                 nn.Linear(256, 10))

        def augment(xb, shift=2):
            padded = nn.functional.pad(xb, (shift,) * 4)
            offsets = torch.randint(0, 2 * shift + 1, (len(xb), 2)).tolist()
            out = torch.stack([padded[i, :, dy:dy + 28, dx:dx + 28] for i, (dy, dx) in enumerate(offsets)])
            flip = torch.rand(len(xb)) < 0.5
            out[flip] = out[flip].flip(-1)
            return out

        def gap_and_test(model):
            test = _accuracy(torch, model, xh, yh)
            return _accuracy(torch, model, xs, ys) - test, test

        mlp = _train(torch, nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)),
                     x[:-300], y[:-300], 10, 64)
        assert _accuracy(torch, mlp, xh, yh) > config.question("5a").thresholds["accuracy"] + 0.03

        base_gap, base_test = gap_and_test(_train(torch, big(), xs, ys, 40, 32))
        assert base_gap >= config.question("5b").thresholds["gap"] + 0.05
        for qid, kwargs in (("5c", {"augment": augment}), ("5d", {"l2": 1e-2, "lr": 0.01})):
            limits = config.question(qid).thresholds
            gap, test = gap_and_test(_train(torch, big(), xs, ys, 40, 32, **kwargs))
            assert gap <= base_gap - limits["shrink"] - 0.05, qid
            assert test >= base_test - limits["tolerance"], qid
    finally:
        torch.set_num_threads(threads)


def test_framework_loaders_get_the_public_set_and_a_test_set_of_their_own(fm, root, public, hidden):
    """What keras.datasets.fashion_mnist and torchvision's FashionMNIST download (davar/datasets/native.py)."""
    from davar.datasets import native

    served = root / "public" / "downloads" / fm.NAME
    assert (served / native.STANDIN_MARK).is_file()
    assert sorted(set(native.loader_downloads(root / "public").values())) == sorted(
        f"downloads/{fm.NAME}/{name}" for name in native.IDX_FILES)
    assert (fm.read_idx(served / fm.TRAIN_IMAGES) == public[0]).all()
    assert (fm.read_idx(served / fm.TRAIN_LABELS) == public[1]).all()
    test = fm.read_idx(served / fm.TEST_IMAGES)
    assert len(test) == len(fm.read_idx(served / fm.TEST_LABELS)) == 1000
    assert not {i.tobytes() for i in test} & {i.tobytes() for i in hidden[0]}  # never the hidden set
