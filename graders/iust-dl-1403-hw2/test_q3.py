"""Q3: the handout's 17 layers on a 256×256×3 image — output shape, parameters, MACs and receptive field of
each layer, from the table ANSWERS["q3"][layer][column] of HW2_Q3.ipynb, against reference.q3_table()
(torch: shapes from a pass on the meta device, parameters by numel, MACs by forward hooks, receptive
fields by the recurrence with dilation; conventions in reference/iust-dl-1403-hw2/reference.py).

One test per column, graded cell by cell: a column earns the share of its 17 rows answered right, and
each wrong cell is named with the expected and the submitted value.  Shapes are read channels first or
channels last, with or without the batch axis.  The MAC convention is said in the column's messages;
with `alternative_macs = true` (assignment.toml) a MAC cell also counts when it follows the other common
convention (BatchNorm and pooling 0, no bias).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from davar import award, expect, note
from davar.checks import integral, plain

Q = "3"
pytestmark = pytest.mark.davar(question=Q)


@dataclass(frozen=True)
class Params:
    alternative_macs: bool = False


def _shapes(value: Any) -> set[tuple[int, ...]]:
    """The shapes `value` may mean: (C, H, W) as written or read from channels last (H, W, C), without a
    leading batch axis of 1 or None; a bare number is one axis.  Empty when it is not a shape."""
    value = plain(value)
    if integral(value) is not None:
        value = [value]
    if not isinstance(value, list) or not value:
        return set()
    if len(value) in (2, 4) and (value[0] is None or integral(value[0]) == 1):
        value = value[1:]
    dims = [integral(v) for v in value]
    if None in dims:
        return set()
    shape = tuple(d for d in dims if d is not None)
    return {shape, (shape[2], shape[0], shape[1])} if len(shape) == 3 else {shape}


def _right(column: str, value: Any, want: Any, alternative: Any) -> bool:
    if column == "output_shape":
        return tuple(want) in _shapes(value)
    got = integral(value)
    return got is not None and (got == want or (alternative is not None and got == alternative))


@pytest.mark.parametrize("column", [pytest.param("output_shape", marks=pytest.mark.davar(points=4)),
                                    pytest.param("params", marks=pytest.mark.davar(points=4)),
                                    pytest.param("macs", marks=pytest.mark.davar(points=4)),
                                    pytest.param("receptive_field", marks=pytest.mark.davar(points=3))])
def test_q3_table(sub, reference, assignment, column):
    params = assignment.question(Q).params(Params)
    table = reference.q3_table()
    others = dict(reference.q3_table(alternative=True)) if column == "macs" and params.alternative_macs else {}
    if column == "macs" and params.alternative_macs:
        note("q3_mac_convention_alternative")
    elif column == "macs":
        note("q3_mac_convention")
    submitted = sub.answer("q3")
    submitted = submitted if isinstance(submitted, dict) else {}
    wrong = 0
    for layer, row in table:
        entry = submitted.get(layer)
        value = entry.get(column) if isinstance(entry, dict) else None
        want = row[column]
        other = others[layer][column] if layer in others else None
        if not _right(column, value, want, other):
            wrong += 1
            expect(False, "answer_value", soft=True, name=f'ANSWERS["q3"]["{layer}"]["{column}"]',
                   expected=str(list(want) if isinstance(want, tuple) else want),
                   submitted=str(plain(value))[:200])
    award((len(table) - wrong) / len(table), "answers_match", name=f'ANSWERS["q3"][…]["{column}"]',
          count=len(table), wrong=wrong)
