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

The design these points presuppose: TWO networks, each built and trained.  A `func_model` that wraps
`seq_model`'s own layers (`keras.Model(seq_model.inputs, seq_model.outputs)`) or shares any weight tensor
with it is one network trained once: the weight tensors' identities in the student's kernel
(ModelProbe.variables()) must not meet, or `q4_same_architecture` and the Functional model's
`q4_trained` and `q4_accuracy` are not awarded (the Sequential model's are: that network was built
and trained), and their messages say why.  Nor are they when every weight of `func_model` equals
`seq_model`'s value for value (`set_weights(seq_model.get_weights())`: copied, not trained; and how
shared tensors come back from a snapshot, which pickles each name on its own).  Two networks trained
apart never end bit for bit equal unless the notebook re-seeds and replays the same training for each.

Inputs are what brain_mri.load_images returns (the template's loader is its copy): grey 64×64 slices
in [0, 1], float32 (N, 64, 64, 1) — or, for a model that rescales its input itself (a `Rescaling(1/255)`
layer before its first weights), the same slices as raw pixels in [0, 255] (conventions.py).  Outputs:
(N, 1) / (N,) probabilities or logits of a tumour (logits when any value is outside [0, 1]), or (N, 2)
class scores (argmax).  Each test's messages say which input scale and output reading were used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import brain_mri
import conventions
import numpy as np
import pytest

from davar import award_accuracy, expect, note

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


def _shared_weights(sub) -> tuple[list[str], int]:
    """The names of func_model's weight tensors that are seq_model's very tensors, and how many it has."""
    seq, func = (sub.model(name).variables() for name in MODELS.values())
    return [func[i] for i in func if i in seq], len(func)


def same_values(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    """Whether two models' weights (`get_weights()`, in layer order) are equal value for value: copied from
    one to the other (`set_weights`), or one network's shared tensors restored from a snapshot as two."""
    return bool(a) and len(a) == len(b) and all(np.shape(x) == np.shape(y) and np.array_equal(x, y)
                                                for x, y in zip(a, b, strict=True))


def _two_networks(sub) -> None:
    """Fail the test (not awarded) when the two models share weight tensors, or when every weight of one is
    the other's, value for value: one network, trained once."""
    a, b = MODELS["Sequential"], MODELS["Functional"]
    shared, total = _shared_weights(sub)
    expect(not shared, "q4_shared_weights", a=a, b=b, shared=len(shared), total=total,
           tensors=", ".join(shared[:3]) + (", …" if len(shared) > 3 else ""))
    weights = [[np.asarray(w) for w in sub.call(f"{name}.get_weights")] for name in (a, b)]
    expect(not same_values(*weights), "q4_copied_weights", a=a, b=b, total=len(weights[1]))


@pytest.mark.davar(points=2)
@pytest.mark.parametrize("api", MODELS)
def test_q4_api(sub, api):
    name = MODELS[api]
    model = _keras_model(sub, name)  # its name in the notebook: an alias of the assignment's `[names]`, maybe
    cls = sub.find_models().get(model.name, {}).get("class", "?")
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
    """Presupposes two networks: not awarded when the two models share weight tensors."""
    _two_networks(sub)
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
    """Class labels (0/1) predicted by `name` for `images` ([0, 1]; raw pixels for a model that rescales
    them itself), read as its outputs say (conventions.py); both choices are noted in the test's messages."""
    model = _keras_model(sub, name)
    rescaling = conventions.input_rescaling(model.layers())
    if rescaling:
        note("input_rescaled", name=name, layer=rescaling.layer, scale=rescaling.scale)
    outputs = model.predict(conventions.fed(images, rescaling))
    try:
        labels = brain_mri.predicted_labels(outputs)
    except ValueError:
        labels = None
    expect(labels is not None and len(labels) == len(images), "model_outputs", name=name,
           shape=list(np.shape(outputs)), count=len(images), expected="(N, 1) / (N, 2)")
    if conventions.output_kind(outputs) == "logits":
        note("outputs_logits", name=name)
    return labels


@pytest.mark.davar(points=2, timeout=120)
@pytest.mark.parametrize("api", MODELS)
def test_q4_trained(sub, public_slices, assignment, api):
    """Presupposes two networks: the Functional model's is not awarded when it shares seq_model's weights."""
    if api == "Functional":
        _two_networks(sub)
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
    """Presupposes two networks: the Functional model's is not awarded when it shares seq_model's weights."""
    if api == "Functional":
        _two_networks(sub)
    images, labels = hidden_slices
    measured = float(np.mean(_outputs(sub, MODELS[api], images) == labels))
    award_accuracy(assignment.question(Q), measured, name=MODELS[api])
