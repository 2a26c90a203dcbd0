"""Q1: `softmax(z)` over the last axis.  The notebook's function is called through the bridge on inputs
drawn fresh from `rng` on every run (a table of answers does not help), including large values where
only a numerically stable softmax survives, and compared with reference.softmax."""

from __future__ import annotations

import pytest

from davar import expect
from davar.checks import close, show

pytestmark = pytest.mark.davar(question="1")  # every test of this module grades question 1


@pytest.mark.davar(points=10, timeout=60)  # timeout: seconds for each call through the bridge
def test_q1_softmax(sub, reference, rng):
    cases = [rng.normal(size=(3, 5)), rng.normal(size=(2, 4, 6)) * 10, rng.normal(size=(4, 3)) + 1000]
    for z in cases:
        expected, submitted = reference.softmax(z), sub.call("softmax", z)
        expect(close(submitted, expected, 1e-6), "function_probe", name="softmax", inputs=str(z.shape),
               part="softmax(z)", expected=show(expected), submitted=show(submitted))
    expect(True, "function_probe", name="softmax", cases=len(cases), shapes="; ".join(str(z.shape) for z in cases))
