"""Q2: backpropagation through a valid 2×2 convolution (cross-correlation) of a 3×3 input followed by
global average pooling, with dL/d(output) = 1.

The two gradients written in ANSWERS["q2"] are compared with torch autograd on the handout's X and
F (reference.conv_gap_gradients).  The notebook's `conv2d_backward(X, F, dO)` is then called through
the bridge on fresh random shapes and values drawn from `rng` on every run, and compared with
reference.conv2d_backward, so copying the two handout answers does not earn its points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from davar import expect, expect_close
from davar.checks import close, show

Q = "2"
pytestmark = pytest.mark.davar(question=Q)
CASES = 4


@dataclass(frozen=True)
class Params:
    tolerance: float  # the two handout answers
    probe_tolerance: float  # conv2d_backward on random inputs


@pytest.mark.davar(points=5)
@pytest.mark.parametrize("part", ["dL_dF", "dL_dX"])
def test_q2_gradient(sub, reference, assignment, part):
    dL_dF, dL_dX = reference.conv_gap_gradients(reference.Q2_X, reference.Q2_F)
    expected = {"dL_dF": dL_dF, "dL_dX": dL_dX}[part]
    expect_close(sub.answer("q2", part), expected, name=f'ANSWERS["q2"]["{part}"]',
                 tol=assignment.question(Q).params(Params).tolerance)


def _shape(a: np.ndarray) -> str:
    return "×".join(map(str, a.shape))


@pytest.mark.davar(points=5, timeout=60)
def test_conv2d_backward(sub, reference, assignment, rng):
    tol = assignment.question(Q).params(Params).probe_tolerance
    shapes = []
    for case in range(CASES):
        if case == 0:  # one square input with a square filter, the others of any shape
            h = w = int(rng.integers(4, 8))
            kh = kw = int(rng.integers(2, 4))
        else:
            h, w = (int(v) for v in rng.integers(4, 8, size=2))
            kh, kw = (int(v) for v in rng.integers(2, 4, size=2))
        X = rng.normal(size=(h, w)).round(3)
        F = rng.normal(size=(kh, kw)).round(3)
        dO = rng.normal(size=(h - kh + 1, w - kw + 1)).round(3)
        inputs = f"X: {_shape(X)}, F: {_shape(F)}, dO: {_shape(dO)}"
        expected = reference.conv2d_backward(X, F, dO)
        got = sub.call("conv2d_backward", X, F, dO)
        if not (isinstance(got, (list, tuple)) and len(got) == 2):
            expect(False, "function_returns", name="conv2d_backward", expected="(dF, dX)",
                   submitted=type(got).__name__ + (f" of length {len(got)}" if isinstance(got, (list, tuple)) else ""))
        for part, want, have in zip(("dF", "dX"), expected, got, strict=True):
            if not close(have, want, tol):
                expect(False, "function_probe", name="conv2d_backward", inputs=inputs, part=part,
                       expected=show(want), submitted=show(have))
        shapes.append(f"X: {_shape(X)}, F: {_shape(F)}")
    expect(True, "function_probe", name="conv2d_backward", cases=len(shapes), shapes="; ".join(shapes))
