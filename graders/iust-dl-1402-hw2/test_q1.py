"""Q1c: standard and inverted dropout on the handout's 4×4 output and mask (keep-probability
p = 8/16 = 0.5, from the mask).

Each of the four tables in ANSWERS["q1c"] (standard/inverted × train/test) is its own test and is
compared cell by cell with reference.q1c_tables(), never with the official key, whose standard test
table and inverted training table have mistakes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from davar import expect_close

Q = "1c"
pytestmark = pytest.mark.davar(question=Q)


@dataclass(frozen=True)
class Params:
    tolerance: float  # every cell of the four tables


@pytest.mark.davar(points=2)
@pytest.mark.parametrize("kind, phase", [("standard", "train"), ("standard", "test"),
                                         ("inverted", "train"), ("inverted", "test")])
def test_q1c_table(sub, reference, assignment, kind, phase):
    expect_close(sub.answer("q1c", kind, phase), reference.q1c_tables()[(kind, phase)],
                 name=f'ANSWERS["q1c"]["{kind}"]["{phase}"]', tol=assignment.question(Q).params(Params).tolerance)
