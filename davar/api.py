"""The grader API: what a test in `graders/<id>/test_*.py` uses to grade.

    pytestmark = pytest.mark.davar(question="2")              # module-wide defaults, or per test:
    @pytest.mark.davar(points=5, timeout=60, hidden=True, title={"fa": "…", "en": "…"})
    def test_dL_dF(sub, reference, assignment):
        tol = assignment.question("2").params(Q2).tolerance       # Q2: the grader's typed parameters
        expect_close(sub.answer("q2", "dL_dF"), reference.dL_dF(), name='ANSWERS["q2"]["dL_dF"]', tol=tol)

    expect(condition, key, **values)   pass or fail, with the catalogue message `key`
    expect_close(submitted, expected, name=..., tol=...)   the same for "equal to the reference"
    note(key, **values)                an informative message
    award(fraction, key, **values)     part of the test's points
    award_accuracy(question, measured, name=...)   points for an accuracy by the question's scale

A leaf of the engine: it knows the message catalogue and the errors, nothing of pytest sessions,
kernels or bridges.  The plugin makes a `Verdict` current around each test (a ContextVar), and the
marker's arguments are read by `marker_args`; messages are looked up in the assignment's own
`messages.toml` first, then in the engine's catalogue.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from davar import catalogue
from davar.checks import close, partial_credit, show
from davar.errors import GradeFailure
from davar.results import Message

MARKER = "davar"
MARKER_HELP = ("davar(question, points, hidden=False, timeout=None, title=None): the question a test grades, "
               "its points, whether it is hidden, the limit (s) of each bridge call, and its fa/en title")


@dataclass(frozen=True, slots=True, kw_only=True)
class Grading:
    """What a test's `davar` markers say (the closest marker wins for each argument)."""

    question: str
    points: float
    hidden: bool = False
    timeout: float | None = None
    title: dict[str, str] | None = None


def marker_args(markers: Iterable[Any], where: str) -> Grading:
    """The merged `Grading` of a test's `davar` markers, closest first (pytest's `iter_markers`)."""
    merged: dict[str, Any] = {}
    for mark in markers:
        if mark.args:
            raise TypeError(f"{where}: pytest.mark.{MARKER} takes keyword arguments only")
        for key, value in mark.kwargs.items():
            merged.setdefault(key, value)
    try:
        grading = Grading(**merged)
    except TypeError as e:
        raise TypeError(f"{where}: pytest.mark.{MARKER}(question=..., points=...): {e}") from None
    title = grading.title
    if isinstance(title, str):
        title = {"fa": title, "en": title}
    return Grading(question=str(grading.question), points=float(grading.points), hidden=bool(grading.hidden),
                   timeout=None if grading.timeout is None else float(grading.timeout), title=title)


@dataclass
class Verdict:
    """What one test said so far: its messages and, when `award` was called, its share of the points."""

    messages: list[Message] = field(default_factory=list)
    fraction: float | None = None
    flagged: bool = False  # `flag` was called: the TA should look
    course: Mapping[str, Any] = field(default_factory=dict)  # the assignment's messages.toml

    def message(self, key: str, values: Mapping[str, Any], variant: str | None = None) -> Message:
        return catalogue.message(key, values, variant, course=self.course)


current: ContextVar[Verdict] = ContextVar("davar_verdict")


def _record(key: str, values: Mapping[str, Any], variant: str | None = None) -> None:
    with contextlib.suppress(LookupError):  # outside a graded test there is nowhere to record it
        verdict = current.get()
        verdict.messages.append(verdict.message(key, values, variant))


def expect(condition: Any, key: str, *, soft: bool = False, **values: Any) -> GradeFailure | None:
    """Record a catalogue message for this test; fail the test when `condition` is false.  With `soft`,
    return the failure instead of raising it, so a test can list every mistake before it fails."""
    ok = bool(condition)
    _record(key, values, "pass" if ok else "fail")
    if ok:
        return None
    if soft:
        return GradeFailure(key, **values)
    raise GradeFailure(key, **values)


def expect_close(submitted: Any, expected: Any, *, name: str, tol: float, key: str = "answer_value",
                 soft: bool = False, **values: Any) -> GradeFailure | None:
    """`expect` that `submitted` has `expected`'s shape and values within `tol`; the message names the
    value and shows both (`expected`, `submitted`)."""
    return expect(close(submitted, expected, tol), key, soft=soft, name=name, expected=show(expected),
                  submitted=show(submitted), **values)


def note(key: str, **values: Any) -> None:
    """Record an informative catalogue message for this test (neither pass nor fail)."""
    _record(key, values)


def flag(key: str, **values: Any) -> None:
    """Record an informative catalogue message for this test and ask the TA to look at it (the class dashboard
    counts the student's flagged tests), whatever its outcome: a measurement a grade cannot settle alone."""
    _record(key, values)
    with contextlib.suppress(LookupError):
        current.get().flagged = True


def award(fraction: float, key: str, **values: Any) -> None:
    """Give this test `fraction` (0–1) of its points and record the catalogue message; never raises.
    The outcome is "passed" at 1, "partial" in between and "failed" at 0."""
    fraction = min(max(float(fraction), 0.0), 1.0)
    with contextlib.suppress(LookupError):
        verdict = current.get()
        verdict.fraction = fraction if verdict.fraction is None else min(verdict.fraction, fraction)
    _record(key, values, "pass" if fraction >= 1 else "fail")


def expect_ran_through(sub: Any) -> None:
    """`expect` that the notebook `sub` probes ran to its end without errors; a notebook a limit stopped is told
    which (in the reader's language)."""
    run = sub.execution
    if run.status in ("timeout", "dead"):
        expect(False, "notebook_stopped", notebook=run.notebook, cell=(run.failing_cell or 0) + 1,
               reason=run.reason or "kernel_died")
    expect(sub.ran_ok, "notebook_ran", notebook=run.notebook, cells=run.cells_total,
           cell=(run.failing_cell or 0) + 1, error=run.error_name or run.status)


def expect_figures(sub: Any, at_least: int) -> None:
    """`expect` that the notebook `sub` probes drew at least `at_least` figures."""
    count = len(sub.figures())
    expect(count >= at_least, "figures_drawn", notebook=sub.execution.notebook, count=count, expected=at_least)


def award_accuracy(question: Any, measured: float, *, name: str, split: str = "hidden") -> float:
    """Give the test its share of points for an accuracy measured by the grader: full above the
    question's `thresholds.accuracy`, else its `partial` scale (assignment.toml).  Returns the share."""
    threshold = question.thresholds["accuracy"]
    fraction = partial_credit(measured, threshold, question.partial)
    award(fraction, "model_accuracy", name=name, split=split, measured=measured, threshold=threshold, earned=fraction)
    return fraction
