"""Q1c: standard and inverted dropout on the handout's 4×4 output and mask (keep-probability
p = 8/16 = 0.5, from the mask).

Each of the four tables in ANSWERS["q1c"] (standard/inverted × train/test) is its own test and is
compared cell by cell with reference.q1c_tables(), never with the official key, whose standard test
table and inverted training table have mistakes.
"""

from __future__ import annotations


import pytest

from davar import expect
from davar.checks import close, show

Q = "1c"


def _check(sub, reference, assignment, kind: str, phase: str) -> None:
    expected = reference.q1c_tables()[(kind, phase)]
    submitted = sub.answer("q1c", kind, phase)
    expect(close(submitted, expected, assignment.question(Q).extra["tolerance"]), "answer_value",
           name=f'ANSWERS["q1c"]["{kind}"]["{phase}"]', expected=show(expected), submitted=show(submitted))


@pytest.mark.davar(question=Q, points=2)
def test_q1c_standard_train(sub, reference, assignment):
    _check(sub, reference, assignment, "standard", "train")


@pytest.mark.davar(question=Q, points=2)
def test_q1c_standard_test(sub, reference, assignment):
    _check(sub, reference, assignment, "standard", "test")


@pytest.mark.davar(question=Q, points=2)
def test_q1c_inverted_train(sub, reference, assignment):
    _check(sub, reference, assignment, "inverted", "train")


@pytest.mark.davar(question=Q, points=2)
def test_q1c_inverted_test(sub, reference, assignment):
    _check(sub, reference, assignment, "inverted", "test")
