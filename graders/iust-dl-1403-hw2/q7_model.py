"""Question 7's small pretrained network and its images (``iust-dl-1403-hw2``): class visualisation and FGSM.

The handout asks for a pretrained network; offline, the assignment ships its own: a small CNN for
handwritten digits (16×16 grayscale, values in [0, 1], classes 0–9), trained once by
``reference/iust-dl-1403-hw2/train_q7_model.py`` on scikit-learn's bundled digits and stored as
``reference/iust-dl-1403-hw2/q7_model.npz``: plain arrays (the state dict's tensors by name), read with
``allow_pickle=False`` — never a pickle, never ``torch.load``.  The same file is the notebook's model and the
grader's copy.

On disk, under the assignment's data root (``$DAVAR_DATA/iust-dl-1403-hw2``)::

    public/q7/model.npz      the network's weights (bound read-only into the sandbox as DATA_DIR/q7)
    public/q7/images.npz     ``images`` (N, 1, 16, 16) float32 in [0, 1] and ``labels`` (N,): for the demo
    hidden/q7/images.npz     the grader's images for FGSM (never enter the sandbox; the grader sends
                             the images in and keeps the labels' use to itself)

The three image sets (the model's training digits, public, hidden) are disjoint.  Where the weights file is
not there (the student bundle ships nothing of ``reference/``), ``build_q7`` trains the same network on the
spot (:func:`train`, seeded, seconds): the notebook and the bundle's graders then read that file.  The graders
read the network from the data root's ``public/q7/model.npz``, which the harness wrote and the sandbox only
reads.  Nothing here is
course data a TA replaces: ``davar data iust-dl-1403-hw2`` builds ``q7`` for every profile (for the
``real`` profile, copy ``public/q7`` and ``hidden/q7`` from a stand-in root).

``build_model`` and ``load_model`` are included in the notebook (``# INCLUDE``), so the notebook's network is
this very code.  torch and scikit-learn are imported inside the functions so that importing this module stays
cheap.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from davar.datasets import standin

#: Bump when the images or the weights change: a root built by another version is rebuilt.
Q7_VERSION = "q7-v1"
IMAGE_SIZE = 16
CLASSES = 10
WEIGHTS = Path(__file__).resolve().parents[2] / "reference" / "iust-dl-1403-hw2" / "q7_model.npz"

_SEED = 1403
_PUBLIC = 200   # demo images for the notebook
_HIDDEN = 300   # the grader's images


def build_model():
    """The network (untrained): two 3×3 convolutions with ReLU and 2×2 max pooling, then a linear layer."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
    )


def load_model(path):
    """The network with the weights of the .npz at `path` (plain arrays, no pickle), in eval mode."""
    import torch

    model = build_model()
    with np.load(path, allow_pickle=False) as arrays:
        model.load_state_dict({name: torch.from_numpy(arrays[name]) for name in arrays.files})
    return model.eval()


def digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 bundled digits as (N, 1, 16, 16) float32 in [0, 1] (each pixel doubled) and labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = np.kron(data.images / 16.0, np.ones((2, 2))).astype(np.float32)[:, None]
    return images, data.target.astype(np.int64)


def splits() -> dict[str, np.ndarray]:
    """Disjoint index sets of `digits()`: "train" (the model's), "public" and "hidden" (deterministic)."""
    order = np.random.default_rng(_SEED).permutation(len(digits()[1]))
    return {"hidden": order[:_HIDDEN], "public": order[_HIDDEN:_HIDDEN + _PUBLIC],
            "train": order[_HIDDEN + _PUBLIC:]}


def build_q7(root: Path) -> None:
    """Write ``public/q7`` (the weights, the demo images) and ``hidden/q7`` (the grader's images) under
    ``root``; deterministic, and nothing to do when this version is already there."""
    root = Path(root)
    public_dir, hidden_dir = root / "public" / "q7", root / "hidden" / "q7"
    if not standin.needs_build(root, "q7", Q7_VERSION, public_dir, hidden_dir):
        return
    images, labels = digits()
    index = splits()
    if WEIGHTS.is_file():
        shutil.copyfile(WEIGHTS, public_dir / "model.npz")
    else:  # the student bundle ships no reference/: the same training, on this machine
        train(public_dir / "model.npz")
    np.savez(public_dir / "images.npz", images=images[index["public"]], labels=labels[index["public"]])
    np.savez(hidden_dir / "images.npz", images=images[index["hidden"]], labels=labels[index["hidden"]])
    standin.mark_built(root, "q7", Q7_VERSION)


def train(path: Path, *, epochs: int = 15, seed: int = _SEED) -> float:
    """Train the network on the "train" digits (Adam, seconds on a CPU, seeded) and write its weights to
    `path` as plain arrays; returns its accuracy on the hidden digits."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    images, labels = digits()
    index = splits()
    x, y = torch.from_numpy(images[index["train"]]), torch.from_numpy(labels[index["train"]])
    model = build_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), 64):
            batch = order[i:i + 64]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = float((model(torch.from_numpy(images[index["hidden"]])).argmax(1).numpy()
                          == labels[index["hidden"]]).mean())
    np.savez(path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    return accuracy


def load_images(folder) -> tuple[np.ndarray, np.ndarray]:
    """``images`` and ``labels`` of ``folder/images.npz`` (public or hidden ``q7``)."""
    with np.load(Path(folder) / "images.npz", allow_pickle=False) as arrays:
        return arrays["images"], arrays["labels"]
