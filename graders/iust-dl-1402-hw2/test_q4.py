"""Q4 (HW2_Q4.ipynb): the ready-made optimizer comparison runs to the end and draws its figures.

The notebook's code is given: the student only runs it (and writes the analysis, the manual "4w").
- q4_runs: the notebook's kernel ran every cell without an error or a timeout.
- q4_figures: it displayed at least `min_figures` images (sub.figures(): read from the executed
  notebook's outputs, nothing from the kernel).
- q4_losses: LOSSES[optimizer][lr] holds `steps` finite loss values for every optimizer and learning
  rate in assignment.toml, and each optimizer lowered the loss at one learning rate at least.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from davar import expect, expect_figures, expect_ran_through

Q = "4"
pytestmark = pytest.mark.davar(question=Q)


@dataclass(frozen=True)
class Params:
    min_figures: int
    steps: int  # the length of every loss history
    optimizers: tuple[str, ...]
    learning_rates: tuple[str, ...]  # the keys of LOSSES[optimizer]


@pytest.mark.davar(points=1)
def test_q4_runs(sub):
    expect_ran_through(sub)


@pytest.mark.davar(points=2)
def test_q4_figures(sub, assignment):
    expect_figures(sub, assignment.question(Q).params(Params).min_figures)


def _problem(runs, optimizers, learning_rates, steps) -> tuple[str, str] | None:
    """(the first faulty entry, what is wrong with it), or None when every history is right."""
    if not isinstance(runs, dict):
        return "LOSSES", "history_missing"
    for name in optimizers:
        best = math.inf
        for lr in learning_rates:
            entry = f'LOSSES["{name}"]["{lr}"]'
            history = runs.get(name, {}).get(lr) if isinstance(runs.get(name), dict) else None
            if not isinstance(history, list) or not all(isinstance(v, (int, float)) for v in history):
                return entry, "history_missing"
            if len(history) != steps:
                return entry, "history_length"
            if not all(math.isfinite(v) for v in history):
                return entry, "history_not_finite"
            best = min(best, history[-1] - history[0])
        if best >= 0:
            return f'LOSSES["{name}"]', "history_flat"
    return None


@pytest.mark.davar(points=1)
def test_q4_losses(sub, assignment):
    params = assignment.question(Q).params(Params)
    problem = _problem(sub.value("LOSSES"), params.optimizers, params.learning_rates, params.steps)
    entry, what = problem or ("LOSSES", "")
    expect(problem is None, "loss_histories", name=entry, problem=what or "history_missing", steps=params.steps,
           runs=len(params.optimizers) * len(params.learning_rates))
