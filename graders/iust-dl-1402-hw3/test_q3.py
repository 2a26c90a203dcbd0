"""Q3a: the handout's Conv1D network on input (500, 7).

ANSWERS["q3a"] holds, for every layer (named as Keras names them in a fresh session: conv1d,
max_pooling1d, conv1d_1, ...), its output shape (without the batch axis, or with it: None or the
batch's size in front) and its parameter count, and
the total.  They are compared with the Keras model built by the reference (reference.q3a_layers()),
never with the official key, whose shapes for the third Conv1D and MaxPool1D are wrong.  The
notebook's `q3_model` (the handout's model, built with Keras) is compared with the reference layer by
layer through the bridge's ModelProbe: type, output shape, parameter count and activation.
"""

from __future__ import annotations

from typing import Any

import pytest

from davar import expect
from davar.checks import integral, plain

Q = "3a"
pytestmark = pytest.mark.davar(question=Q)


def _q3a(sub) -> dict[str, Any]:
    q3a = sub.answer("q3a")
    return q3a if isinstance(q3a, dict) else {}


def _shape(value: Any) -> tuple[int, ...] | None:
    """A shape without the batch axis: [498, 16], (None, 498, 16) and, for one axis, 3776 all read."""
    value = plain(value)
    if integral(value) is not None:
        return (integral(value),)
    if not isinstance(value, list) or not value:
        return None
    if value[0] is None:
        value = value[1:]
    dims = [integral(v) for v in value]
    return tuple(dims) if dims and None not in dims else None


def _show(value: Any) -> str:
    return str(plain(value))[:200]


READ = {"output_shape": _shape, "params": integral}  # how each per-layer answer is read


@pytest.mark.davar(points=3)
@pytest.mark.parametrize("field", READ)
def test_q3a_layers(sub, reference, field):
    read = READ[field]
    layers, _ = reference.q3a_layers()
    submitted = _q3a(sub).get("layers")
    submitted = submitted if isinstance(submitted, dict) else {}
    wrong = 0
    for layer in layers:
        entry = submitted.get(layer["name"])
        value = entry.get(field) if isinstance(entry, dict) else None
        got, want = read(value), read(layer[field])
        if field == "output_shape" and got and want and len(got) == len(want) + 1:
            got = got[1:]  # the batch axis written with the batch's size, e.g. (32, 498, 16)
        if got != want:
            wrong += 1
            expect(False, "answer_value", soft=True, name=f'ANSWERS["q3a"]["layers"]["{layer["name"]}"]["{field}"]',
                   expected=_show(layer[field]), submitted=_show(value))
    expect(wrong == 0, "answers_match", name=f'ANSWERS["q3a"]["layers"][…]["{field}"]', count=len(layers),
           wrong=wrong)


@pytest.mark.davar(points=1)
def test_q3a_total_params(sub, reference):
    _, total = reference.q3a_layers()
    submitted = _q3a(sub).get("total_params")
    expect(integral(submitted) == total, "answer_value", name='ANSWERS["q3a"]["total_params"]', expected=str(total),
           submitted=_show(submitted))


@pytest.mark.davar(points=3, timeout=60)
def test_q3_model(sub, reference):
    model = sub.model("q3_model")
    expect(model.framework == "keras", "framework", name="q3_model", framework=model.framework, expected="Keras")
    want, _ = reference.q3a_layers()
    got = [layer for layer in model.layers() if layer.type != "InputLayer"]
    expect(len(got) == len(want), "layer_count", name="q3_model", submitted=len(got), expected=len(want),
           layers=", ".join(layer.type for layer in got), expected_layers=", ".join(w["type"] for w in want))
    failures = []
    for index, (w, layer) in enumerate(zip(want, got, strict=True), start=1):
        checks = [("layer_type", w["type"], layer.type),
                  ("output_shape", _shape(w["output_shape"]), _shape(layer.output_shape)),
                  ("param_count", w["params"], layer.params)]
        if w["activation"] is not None:
            checks.append(("activation", w["activation"], layer.config.get("activation")))
        for what, expected, submitted in checks:
            if expected != submitted:  # one message per layer: its first difference
                failures.append(expect(False, "model_layers", soft=True, name="q3_model", index=index, layer=layer.name,
                                       what=what, expected=_show(expected), submitted=_show(submitted)))
                break
    if failures:
        raise failures[0]
    expect(True, "model_layers", name="q3_model", count=len(want))
