"""Q5a: the nine layers' output shapes and parameter counts on 256×256×3, from ANSWERS["q5a"], against
reference.q5a_layers() (torch layers, shapes read from a pass on the meta device).  Layer 8's output would
have a negative size (a 5×5 filter dilated by 8 spans 33 pixels of an 11×11 input), so it and the pooling
after it have no valid output: "invalid" (or a shape with a zero or negative size, which says the same) is
the answer.  Shapes are read channels last, with or without the batch axis.

Q5b: `same_padding(f)` called on random odd f, against f // 2.
"""

from __future__ import annotations

from typing import Any

import pytest

from davar import expect
from davar.checks import integral, plain

INVALID = "invalid"


def _shape(value: Any) -> Any:
    """A shape as a tuple without the batch axis; INVALID for "invalid" or any size ≤ 0; None if unreadable."""
    value = plain(value)
    if isinstance(value, str):
        return INVALID if value.strip().lower() == INVALID else None
    if not isinstance(value, list) or not value:
        return None
    if value[0] is None or len(value) == 4:
        value = value[1:]
    dims = [integral(v) for v in value]
    if not dims or None in dims:
        return None
    return INVALID if min(d for d in dims if d is not None) <= 0 else tuple(dims)


def _params(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, str) and value.strip().lower() == INVALID:
        return INVALID
    return integral(value)


@pytest.mark.davar(question="5a")
@pytest.mark.parametrize("field", [pytest.param("output_shape", marks=pytest.mark.davar(points=3)),
                                   pytest.param("params", marks=pytest.mark.davar(points=2))])
def test_q5a_layers(sub, reference, field):
    submitted = sub.answer("q5a")
    submitted = submitted if isinstance(submitted, dict) else {}
    wrong = 0
    for name, shape, params in reference.q5a_layers():
        entry = submitted.get(name)
        value = entry.get(field) if isinstance(entry, dict) else None
        if field == "output_shape":
            want = INVALID if shape is None else tuple(shape)
            ok = _shape(value) == want
        else:
            want = params
            # an invalid layer's weights are still what its channels and kernel need; "invalid" reads too
            ok = _params(value) == params or (shape is None and _params(value) == INVALID)
        if not ok:
            wrong += 1
            expect(False, "answer_value", soft=True, name=f'ANSWERS["q5a"]["{name}"]["{field}"]',
                   expected=str(list(want) if isinstance(want, tuple) else want), submitted=str(plain(value))[:200])
    expect(wrong == 0, "answers_match", name=f'ANSWERS["q5a"][…]["{field}"]', count=len(reference.q5a_layers()),
           wrong=wrong)


@pytest.mark.davar(question="5b", points=5, timeout=30)
def test_q5b_same_padding(sub, reference, rng):
    sizes = sorted({int(f) for f in rng.integers(0, 8, size=6) * 2 + 1})
    for f in sizes:
        got = sub.call("same_padding", f)
        want = reference.same_padding(f)
        if integral(got) != want:
            expect(False, "function_probe", name="same_padding", inputs=f"f = {f}", part="P", expected=str(want),
                   submitted=str(plain(got))[:100])
    expect(True, "function_probe", name="same_padding", cases=len(sizes), shapes=", ".join(f"f = {f}" for f in sizes))
