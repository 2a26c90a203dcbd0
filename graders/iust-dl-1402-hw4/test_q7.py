"""Q7 (Q7.ipynb): the handout's MNIST CNN as `model`, its training, and Grad-CAM.

- q7_architecture: `model`'s layers, in order, against reference.Q7_LAYERS (type and the config values
  that define each: filters, kernel, padding, activation, pool size, units).  The two lists are aligned
  (difflib) so that the message names what differs: an extra layer the handout does not have, a missing
  one, or a changed one.  The output layer's activation is not compared (the Grad-CAM recipe removes its
  softmax after training).
- q7_training: compiled with Adam and categorical cross-entropy (named, a loss object or the loss function;
  its sparse form, on integer labels, is the same loss), `history` from `fit` with `EPOCHS` epochs.
- q7_accuracy (hidden): accuracy on the hidden digits, with the partial scale.
- q7_gradcam_layer / q7_gradcam_values: the template's given `gradcam_probe(images)` runs the student's
  `make_gradcam_heatmap` on `gradcam_images` hidden digits drawn by `rng`.  The reference Grad-CAM is
  computed here, on the student's own trained model: rebuilt from its layers (plain configs, an allowlist
  of layer types) and its weights (`model.get_weights()`, arrays), on its last convolution layer.  Each
  map must have that layer's spatial size (for the layer's points, not one value everywhere where the
  reference's is not: zeros of the layer's size show no layer), lie in [0, 1], and correlate (Pearson) with
  the reference at least `min_correlation`.  `gradcam_probe` must be the given one (given.py).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from typing import Any

import mnist_digits
import numpy as np
import pytest
from given import expect_given

from davar import award_accuracy, expect

Q = "7"
NAME = "model"
pytestmark = pytest.mark.davar(question=Q)


@dataclass(frozen=True)
class Params:
    gradcam_images: int
    min_correlation: float


def _readable(layers: list[Any]) -> list[Any]:
    """The layers with what a config that could not be read still tells: a Dense layer's units from its output
    shape.  (Keras cannot serialise a layer whose `activation` was set to None, as the Grad-CAM recipe does to
    the output layer; such a layer computes no activation, and rebuilds as linear.)"""
    out = []
    for layer in layers:
        if layer.type == "Dense" and "units" not in layer.config and layer.output_shape:
            layer = replace(layer, config={**layer.config, "units": layer.output_shape[-1], "activation": "linear"})
        out.append(layer)
    return out


def _keras(sub):
    model = sub.model(NAME)
    expect(model.framework == "keras", "framework", name=NAME, framework=model.framework, expected="Keras")
    return model


def _signature(kind: str, config: dict[str, Any], keys: dict[str, Any]) -> tuple:
    values = []
    for k in keys:
        v = config.get(k)
        values.append((k, tuple(v) if isinstance(v, list) else v))
    return (kind, *values)


def _describe(sig: tuple) -> str:
    kind, *values = sig
    inner = ", ".join(f"{k}={list(v) if isinstance(v, tuple) else v}" for k, v in values)
    return f"{kind}({inner})"


@pytest.mark.davar(points=6, timeout=60)
def test_q7_architecture(sub, reference):
    layers = _readable([layer for layer in _keras(sub).layers() if layer.type != "InputLayer"])
    keys_of: dict[str, dict[str, Any]] = {}
    for kind, keys in reference.Q7_LAYERS:
        keys_of.setdefault(kind, {}).update(keys)
    want = [_signature(kind, keys, keys_of[kind]) for kind, keys in reference.Q7_LAYERS]
    got = [_signature(layer.type, layer.config, keys_of.get(layer.type, {})) for layer in layers]
    for sigs in (want, got):  # the output layer's activation is not compared
        if sigs and sigs[-1][0] == "Dense":
            sigs[-1] = tuple(v for v in sigs[-1] if not (isinstance(v, tuple) and v[0] == "activation"))
    matcher = difflib.SequenceMatcher(a=want, b=got, autojunk=False)
    problems = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "insert":
            for j in range(b0, b1):
                problems.append(expect(False, "q7_extra_layer", soft=True, name=NAME, index=j + 1,
                                       layer=layers[j].name, what=_describe(got[j])))
        elif op == "delete":
            for i in range(a0, a1):
                problems.append(expect(False, "q7_missing_layer", soft=True, name=NAME, index=i + 1,
                                       what=_describe(want[i])))
        elif op == "replace":
            for i, j in zip(range(a0, a1), range(b0, b1), strict=False):
                problems.append(expect(False, "q7_changed_layer", soft=True, name=NAME, index=j + 1,
                                       layer=layers[j].name, what=_describe(got[j]), expected=_describe(want[i])))
            for j in range(b0 + (a1 - a0), b1):
                problems.append(expect(False, "q7_extra_layer", soft=True, name=NAME, index=j + 1,
                                       layer=layers[j].name, what=_describe(got[j])))
            for i in range(a0 + (b1 - b0), a1):
                problems.append(expect(False, "q7_missing_layer", soft=True, name=NAME, index=i + 1,
                                       what=_describe(want[i])))
    if problems:
        raise problems[0]
    expect(True, "model_layers", name=NAME, count=len(want))


@pytest.mark.davar(points=3, timeout=60)
def test_q7_training(sub):
    _keras(sub)
    optimizer = str(sub.value("model.optimizer.name")).lower()
    # a loss object has a name, a loss function a __name__; a loss given by its name is that string
    named = next((path for path in ("model.loss.name", "model.loss.__name__") if sub.has(path)), "model.loss")
    loss_name = str(sub.value(named)) if sub.has(named) else "—"
    epochs = (sub.value("history.params") or {}).get("epochs") if sub.has("history.params") else None
    wanted = sub.value("EPOCHS")
    ok = optimizer == "adam" and loss_name.lower().replace("_", "").removeprefix("sparse") \
        == "categoricalcrossentropy" and epochs == wanted
    expect(ok, "q7_training", name=NAME, optimizer=optimizer, loss=str(loss_name)[:80], epochs=str(epochs),
           expected_epochs=str(wanted))


def _hidden(hidden) -> tuple[np.ndarray, np.ndarray]:
    images, labels = mnist_digits.load_hidden(hidden / "mnist")
    return images.astype(np.float32)[..., None] / 255.0, labels


@pytest.mark.davar(points=4, hidden=True, timeout=300)
def test_q7_accuracy(sub, hidden, assignment):
    images, labels = _hidden(hidden)
    out = np.asarray(_keras(sub).predict(images))
    if out.ndim != 2 or out.shape[0] != len(labels):
        expect(False, "model_outputs", name=NAME, shape=list(out.shape), count=len(labels), expected="(N, 10)")
    award_accuracy(assignment.question(Q), float(np.mean(out.argmax(axis=1) == labels)), name=NAME)


def _gradcam(sub, reference, hidden, assignment, rng):
    """(the student's maps, the reference maps, the last conv layer's name) on hidden digits drawn by `rng`."""
    params = assignment.question(Q).params(Params)
    images, _ = _hidden(hidden)
    chosen = images[np.sort(rng.choice(len(images), size=params.gradcam_images, replace=False))]
    model = _keras(sub)
    layers = _readable(model.layers())
    convs = [layer for layer in layers if layer.type == "Conv2D"]
    expect(bool(convs), "q7_no_conv", name=NAME)
    try:
        rebuilt = reference.rebuild(layers, list(sub.call("model.get_weights", timeout=60)))
    except reference.NotRebuildable as e:
        expect(False, "q7_not_rebuildable", name=NAME, why=str(e)[:200])
    want = np.stack([reference.gradcam(rebuilt, image, convs[-1].name) for image in chosen])
    expect_given(sub, assignment, notebook="Q7.ipynb", cell="gradcam-given", name="gradcam_probe")
    got = sub.call("gradcam_probe", chosen, timeout=120)
    return np.asarray(got, dtype=np.float64), want, convs[-1].name


@pytest.mark.davar(points=3, timeout=300)
def test_q7_gradcam_layer(sub, reference, hidden, assignment, rng):
    got, want, layer = _gradcam(sub, reference, hidden, assignment, rng)
    expect(got.shape == want.shape, "q7_gradcam_shape", name="make_gradcam_heatmap", layer=layer,
           expected="×".join(map(str, want.shape[1:])), submitted="×".join(map(str, got.shape[1:])))
    flat = all(np.ptp(g) == 0 for g in got) and not all(np.ptp(w) == 0 for w in want)
    expect(not flat, "q7_gradcam_flat", name="make_gradcam_heatmap", layer=layer,
           value=f"{float(got.flat[0]):.3g}" if got.size else "—", count=len(got))


@pytest.mark.davar(points=4, timeout=300)
def test_q7_gradcam_values(sub, reference, hidden, assignment, rng):
    params = assignment.question(Q).params(Params)
    got, want, layer = _gradcam(sub, reference, hidden, assignment, rng)
    expect(got.shape == want.shape, "q7_gradcam_shape", name="make_gradcam_heatmap", layer=layer,
           expected="×".join(map(str, want.shape[1:])), submitted="×".join(map(str, got.shape[1:])))
    low, high = float(np.nanmin(got)), float(np.nanmax(got))
    # normalised: within [0, 1], each map's maximum 1 (a map of zeros stays zeros)
    tops = [float(np.max(g)) for g in got]
    normalised = all(abs(top - 1) <= 1e-3 or (top == 0 and not np.any(w)) for top, w in zip(tops, want, strict=True))
    expect(np.isfinite(got).all() and low >= -1e-6 and high <= 1 + 1e-6 and normalised, "q7_gradcam_range",
           name="make_gradcam_heatmap", low=f"{low:.3g}", high=f"{high:.3g}")
    worst = 1.0
    for g, w in zip(got, want, strict=True):
        if np.std(w) == 0 or np.std(g) == 0:
            r = 1.0 if np.allclose(g, w, atol=1e-4) else 0.0
        else:
            r = float(np.corrcoef(g.ravel(), w.ravel())[0, 1])
        worst = min(worst, r)
    expect(worst >= params.min_correlation, "q7_gradcam_match", name="make_gradcam_heatmap", layer=layer,
           correlation=f"{worst:.3f}", threshold=f"{params.min_correlation:g}", count=len(got))
