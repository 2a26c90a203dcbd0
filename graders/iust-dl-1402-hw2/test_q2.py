"""Q2c: which regularisation ("none", "L1" or "L2") produced each experiment's weights.

ANSWERS["q2c"]["W_exp1"] ... ["W_exp4"] are compared, case-insensitively and ignoring surrounding
spaces, with the choices in assignment.toml (`answers` under question 2c), which the TA may edit.
"""

from __future__ import annotations

from typing import Any

import pytest

from davar import expect

Q = "2c"
# other spellings of "none" that students write
NONE = {"none", "no", "no regularization", "no regularisation", "without regularization", "without regularisation"}


def _normal(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.strip().lower().split())
    return "none" if text in NONE else text


def _check(sub, assignment, name: str) -> None:
    expected = assignment.question(Q).extra["answers"][name]
    submitted = sub.answer("q2c", name)
    shown = submitted if isinstance(submitted, str) else repr(submitted)
    expect(_normal(submitted) == _normal(expected), "answer_value",
           name=f'ANSWERS["q2c"]["{name}"]', expected=str(expected), submitted=shown[:200])


@pytest.mark.davar(question=Q, points=2)
def test_q2c_W_exp1(sub, assignment):
    _check(sub, assignment, "W_exp1")


@pytest.mark.davar(question=Q, points=2)
def test_q2c_W_exp2(sub, assignment):
    _check(sub, assignment, "W_exp2")


@pytest.mark.davar(question=Q, points=2)
def test_q2c_W_exp3(sub, assignment):
    _check(sub, assignment, "W_exp3")


@pytest.mark.davar(question=Q, points=2)
def test_q2c_W_exp4(sub, assignment):
    _check(sub, assignment, "W_exp4")
