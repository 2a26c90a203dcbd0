"""Q6: batch normalisation.

- q6_statements: ANSWERS["q6"]["statements"], three booleans, against assignment.toml's `statements` (the
  TA's key for the handout's three statements).
- q6_batchnorm_forward[train|test]: `batchnorm_forward(X, gamma, beta, eps, mode, running_mean, running_var)`
  called on fresh random inputs, against reference.batchnorm_forward (batch statistics in "train", the
  running ones in "test"): the output, alone or first of CS231n's `(out, cache)`.
- q6_trainable_params: ANSWERS["q6"]["trainable_params"] against Keras' count for Dense(10 → 20) +
  BatchNormalization (220 + 40 = 260; the moving mean and variance are not trainable).
- q6_bn_model: `bn_model` is Dense(20) on 10 inputs then BatchNormalization, and Keras counts the
  trainable parameters the reference does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from davar import expect, expect_close
from davar.checks import close, show

Q = "6"
pytestmark = pytest.mark.davar(question=Q)


@dataclass(frozen=True)
class Params:
    statements: tuple[bool, ...]
    probe_tolerance: float


@pytest.mark.davar(points=3)
def test_q6_statements(sub, assignment):
    key = list(assignment.question(Q).params(Params).statements)
    submitted = sub.answer("q6", "statements")
    plain = [bool(v) if isinstance(v, (bool, np.bool_)) else v for v in submitted] \
        if isinstance(submitted, (list, tuple)) else submitted
    wrong = sum(1 for a, b in zip(plain, key, strict=False) if a != b) if isinstance(plain, list) \
        and len(plain) == len(key) else len(key)
    expect(wrong == 0, "answers_match", name='ANSWERS["q6"]["statements"]', count=len(key), wrong=wrong)


@pytest.mark.davar(points=3, timeout=60)
@pytest.mark.parametrize("mode", ["train", "test"])
def test_q6_batchnorm_forward(sub, reference, assignment, rng, mode):
    tol = assignment.question(Q).params(Params).probe_tolerance
    shapes = []
    for _ in range(3):
        n, d = int(rng.integers(4, 12)), int(rng.integers(2, 6))
        X = rng.normal(2.0, 3.0, size=(n, d))
        gamma, beta = rng.uniform(0.5, 2.0, size=d), rng.normal(size=d)
        mean, var = rng.normal(size=d), rng.uniform(0.5, 2.0, size=d)
        eps = 1e-5
        want = reference.batchnorm_forward(X, gamma, beta, eps, mode, mean, var)
        got = sub.call("batchnorm_forward", X, gamma, beta, eps, mode, mean, var)
        if isinstance(got, (list, tuple)) and len(got) == 2 and np.shape(got[0]) == want.shape:
            got = got[0]  # CS231n's (out, cache)
        if not close(got, want, tol):
            expect(False, "function_probe", name="batchnorm_forward", inputs=f"X: {n}×{d}, mode {mode!r}", part="out",
                   expected=show(want, limit=300), submitted=show(got, limit=300))
        shapes.append(f"X: {n}×{d}")
    expect(True, "function_probe", name="batchnorm_forward", cases=len(shapes), shapes="; ".join(shapes))


@pytest.mark.davar(points=3)
def test_q6_trainable_params(sub, reference):
    dense, bn, total = reference.bn_trainable_params()
    expect_close(sub.answer("q6", "trainable_params"), total, name='ANSWERS["q6"]["trainable_params"]', tol=0,
                 key="q6_trainable", dense=dense, bn=bn)


@pytest.mark.davar(points=3, timeout=60)
def test_q6_bn_model(sub, reference):
    model = sub.model("bn_model")
    expect(model.framework == "keras", "framework", name="bn_model", framework=model.framework, expected="Keras")
    layers = [layer for layer in model.layers() if layer.type != "InputLayer"]
    types = [layer.type for layer in layers]
    units = layers[0].config.get("units") if layers else None
    expect(types == ["Dense", "BatchNormalization"] and units == 20, "q6_bn_layers", name="bn_model",
           layers=", ".join(types) or "—")
    _, _, total = reference.bn_trainable_params()
    expect(model.param_count(trainable=True) == total, "q6_bn_trainable", name="bn_model",
           submitted=model.param_count(trainable=True), expected=total)
