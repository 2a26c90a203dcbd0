"""Q7: class visualisation and FGSM on the course's small pretrained network (q7_model.py), in HW2_Q7.ipynb.

Everything is measured on the grader's own copy of the network (the data root's public/q7/model.npz, which
the harness wrote from reference/iust-dl-1403-hw2/q7_model.npz and the sandbox only reads; plain arrays),
never on what the notebook says about itself:

- 7a: `visualize_class(target)` is called for `classes` classes the grader draws; each returned image
  must be one 16×16 image with values in [0, 1], the grader's network must give it the target class with
  probability ≥ `min_probability`, and it must not be one of the digits (root-mean-square distance to the
  nearest of scikit-learn's 1,797 digits, which hold every image the notebook can read, ≥ `min_distance`):
  an image optimised from noise, not a copy.  The test earns the share of classes that pass.
- 7b: `fgsm(images, labels, eps)` is called on `fgsm_images` hidden digits the network classifies
  correctly (they never enter the sandbox otherwise) with an ε drawn from `eps`; three tests: the
  perturbation stays within ε (‖x_adv − x‖∞ ≤ ε + `tolerance`), the images stay in [0, 1] (± `tolerance`),
  and the grader's network's prediction flips on at least `min_flipped` of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import q7_model

from davar import award, expect


@dataclass(frozen=True)
class Vis:
    classes: int
    min_probability: float
    min_distance: float


@dataclass(frozen=True)
class Attack:
    fgsm_images: int
    eps: tuple[float, ...]
    tolerance: float
    min_flipped: float


@cache
def _network(public: str):
    return q7_model.load_model(Path(public) / "q7" / "model.npz")


@cache
def _digits() -> np.ndarray:
    return q7_model.digits()[0].reshape(-1, q7_model.IMAGE_SIZE ** 2)


def _probabilities(public: Path, images: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.softmax(_network(str(public))(torch.from_numpy(images.astype(np.float32))), dim=1).numpy()


def _image(value: Any) -> np.ndarray | None:
    """One 16×16 image from (16, 16), (1, 16, 16) or (1, 1, 16, 16); None when it is not one."""
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    side = q7_model.IMAGE_SIZE
    return array.reshape(side, side) if array.size == side * side and np.all(np.isfinite(array)) else None


@pytest.mark.davar(question="7a", points=8, timeout=180)
def test_q7_visualisation(sub, assignment, public_data, rng):
    params = assignment.question("7a").params(Vis)
    targets = sorted(int(t) for t in rng.choice(q7_model.CLASSES, size=params.classes, replace=False))
    passed = 0
    for target in targets:
        image = _image(sub.call("visualize_class", target, timeout=60))
        name = f"visualize_class({target})"
        if image is None:
            expect(False, "q7_image_shape", soft=True, name=name)
            continue
        low, high = float(image.min()), float(image.max())
        if low < -1e-6 or high > 1 + 1e-6:
            expect(False, "q7_image_range", soft=True, name=name, low=low, high=high)
            continue
        probability = float(_probabilities(public_data, image.reshape(1, 1, *image.shape))[0, target])
        distance = float(np.sqrt(((_digits() - image.reshape(1, -1)) ** 2).mean(axis=1)).min())
        ok_p = expect(probability >= params.min_probability, "q7_class_probability", soft=True, name=name,
                      target=target, probability=probability, needed=params.min_probability) is None
        ok_d = expect(distance >= params.min_distance, "q7_not_a_digit", soft=True, name=name,
                      distance=distance, needed=params.min_distance) is None
        passed += ok_p and ok_d
    award(passed / len(targets), "q7_classes_passed", name="visualize_class", passed=passed, count=len(targets))


@cache
def _hidden_images(folder: str, public: str) -> tuple[np.ndarray, np.ndarray]:
    """The hidden digits the grader's network classifies correctly, and their labels."""
    images, labels = q7_model.load_images(folder)
    right = _probabilities(Path(public), images).argmax(1) == labels
    return images[right], labels[right]


def _attack(sub, hidden, public_data, assignment, rng) -> tuple[np.ndarray, np.ndarray, Any, float, Attack]:
    """(images, labels, the student's adversarial images or None when unreadable, ε, params)."""
    from davar.probe.bridge import AsTensor

    params = assignment.question("7b").params(Attack)
    images, labels = _hidden_images(str(hidden / "q7"), str(public_data))
    chosen = rng.choice(len(labels), size=min(params.fgsm_images, len(labels)), replace=False)
    x, y = images[chosen], labels[chosen]
    eps = float(rng.choice(params.eps))
    got = sub.call("fgsm", AsTensor(x), AsTensor(y), eps, timeout=60)
    try:
        adversarial = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        adversarial = None
    readable = adversarial is not None and adversarial.size == x.size and bool(np.all(np.isfinite(adversarial)))
    expect(readable, "q7_fgsm_shape", name="fgsm", shape=str(list(x.shape)),
           submitted=str(list(np.shape(got))) if adversarial is not None else type(got).__name__)
    return x, y, adversarial.reshape(x.shape) if adversarial is not None else None, eps, params


@pytest.mark.davar(question="7b", points=3, hidden=True, timeout=120)
def test_q7_fgsm_bound(sub, hidden, public_data, assignment, rng):
    x, _, adversarial, eps, params = _attack(sub, hidden, public_data, assignment, rng)
    largest = float(np.abs(adversarial - x).max())
    expect(largest <= eps + params.tolerance, "q7_fgsm_bound", name="fgsm", eps=eps, largest=largest,
           count=len(x))


@pytest.mark.davar(question="7b", points=2, hidden=True, timeout=120)
def test_q7_fgsm_range(sub, hidden, public_data, assignment, rng):
    _, _, adversarial, eps, params = _attack(sub, hidden, public_data, assignment, rng)
    low, high = float(adversarial.min()), float(adversarial.max())
    outside = int(((adversarial < -params.tolerance) | (adversarial > 1 + params.tolerance)).sum())
    expect(outside == 0, "q7_fgsm_range", name="fgsm", eps=eps, low=low, high=high, outside=outside)


@pytest.mark.davar(question="7b", points=3, hidden=True, timeout=120)
def test_q7_fgsm_flips(sub, hidden, public_data, assignment, rng):
    x, y, adversarial, eps, params = _attack(sub, hidden, public_data, assignment, rng)
    flipped = float((_probabilities(public_data, adversarial).argmax(1) != y).mean())
    expect(flipped >= params.min_flipped, "q7_fgsm_flips", name="fgsm", eps=eps, flipped=flipped,
           needed=params.min_flipped, count=len(x))
