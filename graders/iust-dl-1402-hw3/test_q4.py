"""Q4 (DL-Q4.ipynb): brain-tumour MRI classification with one CNN built twice, with the Sequential API
(`seq_model`) and with the Functional API (`func_model`).

- Each model is a Keras model of the right kind (the class Keras gives it: `Sequential`, `Functional`).
- Same architecture: the two models' layers (ModelProbe.layers(), the Functional model's InputLayer
  left out) are compared in order: type, configuration (every key of `get_config()` but the names
  and input shapes listed in assignment.toml's `ignore_config`), output shape and parameter count.
  Every layer that differs is named with its first difference and both values.
- Trained: each model's accuracy on the public slices (which the student has) is above the most
  common class's share plus `chance_margin` — what a model that never learned cannot reach.
- Accuracy: each model on the hidden slices (hidden test), against labels that never enter the
  sandbox; full points above the threshold, partial credit below it (assignment.toml).

Inputs are what brain_mri.load_images returns (the template's loader is its copy):
grey 64×64 slices in [0, 1], float32 (N, 64, 64, 1); outputs (N, 1) probabilities or (N, 2) scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import brain_mri
import numpy as np
import pytest

from davar import award_accuracy, expect

Q = "4"
pytestmark = pytest.mark.davar(question=Q)
MODELS = {"Sequential": "seq_model", "Functional": "func_model"}  # the Keras API -> the model built with it


@dataclass(frozen=True)
class Params:
    chance_margin: float  # "trained": above the most common class's share plus this
    ignore_config: tuple[str, ...]  # config keys that may differ between the two models' layers


@pytest.fixture(scope="module")
def public_slices(public_data):
    return brain_mri.load_public(public_data / "brain_mri")


@pytest.fixture(scope="module")
def hidden_slices(hidden):
    return brain_mri.load_hidden(hidden / "brain_mri")


def _keras_model(sub, name: str):
    model = sub.model(name)
    expect(model.framework == "keras", "framework", name=name, framework=model.framework, expected="Keras")
    return model


@pytest.mark.davar(points=2)
@pytest.mark.parametrize("api", MODELS)
def test_q4_api(sub, api):
    name = MODELS[api]
    _keras_model(sub, name)
    cls = sub.find_models().get(name, {}).get("class", "?")
    expect(cls == api, "keras_api", name=name, api=api, cls=cls)


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)[:200]


def _first_difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first (key path, value in a, value in b) where two configs differ, in a's key order."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            found = _first_difference(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    return None if a == b else (path, a, b)


def _layers(model) -> list:
    return [layer for layer in model.layers() if layer.type != "InputLayer"]


@pytest.mark.davar(points=6, timeout=60)
def test_q4_same_architecture(sub, assignment):
    ignore = set(assignment.question(Q).params(Params).ignore_config)
    seq, func = (_layers(_keras_model(sub, name)) for name in MODELS.values())
    names = {"a": MODELS["Sequential"], "b": MODELS["Functional"]}
    expect(len(seq) == len(func), "same_layer_count", **names, a_count=len(seq), b_count=len(func),
           a_layers=", ".join(layer.type for layer in seq), b_layers=", ".join(layer.type for layer in func))
    failures = []
    for index, (s, f) in enumerate(zip(seq, func, strict=True), start=1):
        config = _first_difference({k: v for k, v in s.config.items() if k not in ignore},
                                   {k: v for k, v in f.config.items() if k not in ignore})
        for what, a, b in [("type", s.type, f.type),
                           *([config] if config else []),
                           ("output_shape", list(s.output_shape or ()), list(f.output_shape or ())),
                           ("params", s.params, f.params)]:
            if a != b:  # one message per layer: its first difference
                failures.append(expect(False, "same_architecture", soft=True, **names, index=index, type=s.type,
                                       what=what, a_layer=s.name, b_layer=f.name, a_value=_show(a), b_value=_show(b)))
                break
    if failures:
        raise failures[0]
    expect(True, "same_architecture", **names, count=len(seq))


def _outputs(sub, name: str, images: np.ndarray) -> np.ndarray:
    """Class labels (0/1) predicted by `name` for `images` (raw model outputs read by brain_mri)."""
    outputs = _keras_model(sub, name).predict(images)
    try:
        labels = brain_mri.predicted_labels(outputs)
    except ValueError:
        labels = None
    expect(labels is not None and len(labels) == len(images), "model_outputs", name=name,
           shape=list(np.shape(outputs)), count=len(images), expected="(N, 1) / (N, 2)")
    return labels


@pytest.mark.davar(points=2, timeout=120)
@pytest.mark.parametrize("api", MODELS)
def test_q4_trained(sub, public_slices, assignment, api):
    images, labels = public_slices
    name = MODELS[api]
    chance = float(np.bincount(labels).max() / len(labels))
    threshold = min(chance + assignment.question(Q).params(Params).chance_margin, 0.99)
    measured = float(np.mean(_outputs(sub, name, images) == labels))
    expect(measured > threshold, "model_trained", name=name, split="public", measured=measured, threshold=threshold,
           chance=chance)


@pytest.mark.davar(points=3, hidden=True, timeout=120)
@pytest.mark.parametrize("api", MODELS)
def test_q4_accuracy(sub, hidden_slices, assignment, api):
    images, labels = hidden_slices
    measured = float(np.mean(_outputs(sub, MODELS[api], images) == labels))
    award_accuracy(assignment.question(Q), measured, name=MODELS[api])
