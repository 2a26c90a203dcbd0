"""Q2c: which regularisation ("none", "L1" or "L2") produced each experiment's weights.

ANSWERS["q2c"]["W_exp1"] ... ["W_exp4"] are compared, case-insensitively and ignoring surrounding
spaces, with the choices in assignment.toml (`answers` under question 2c), which the TA may edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from davar import expect

Q = "2c"
pytestmark = pytest.mark.davar(question=Q)
# other spellings of "none" that students write
NONE = {"none", "no", "no regularization", "no regularisation", "without regularization", "without regularisation"}


@dataclass(frozen=True)
class Params:
    answers: dict[str, str]  # experiment -> "none", "L1" or "L2"


def _normal(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.strip().lower().split())
    return "none" if text in NONE else text


@pytest.mark.davar(points=2)
@pytest.mark.parametrize("experiment", ["W_exp1", "W_exp2", "W_exp3", "W_exp4"])
def test_q2c_choice(sub, assignment, experiment):
    expected = assignment.question(Q).params(Params).answers[experiment]
    submitted = sub.answer("q2c", experiment)
    shown = submitted if isinstance(submitted, str) else repr(submitted)
    expect(_normal(submitted) == _normal(expected), "answer_value",
           name=f'ANSWERS["q2c"]["{experiment}"]', expected=str(expected), submitted=shown[:200])
