"""A TA's override of one automatic test for one student: its points replaced by the TA's, with a reason.

An override is a TA decision, not a result: it is kept in the gradebook beside the results (every
override and every clearing a row, with who, when and why: `davar.book.gradebook.add_override`), and
applied when a view is built (`davar.book.view`), so a regrade keeps it and the record as graded is
never changed.  The view's test is ``ta_graded`` with the TA's points; its first message
(``ta_override``) says the automatic outcome and points, the TA's points, the reason, who and when,
and a second one (``ta_override_changed``) when the automatic outcome or points differ from those the
override was made against: the TA may want to revisit it.  A test a regrade no longer has is named
in a submission-level note (``ta_override_unmatched``) and changes nothing.

Making and clearing one, with its checks, is `davar.book.decisions`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from davar import catalogue
from davar.results import Message, SubmissionResult, TestResult

#: The messages an override adds to its test: a report shows them as the TA's decision.
DECISION_KEYS = ("ta_override", "ta_override_changed")


@dataclass(frozen=True, slots=True, kw_only=True)
class Override:
    """One row of the override history.  `points` None: this row clears the override of the test.
    `outcome`, `auto_points` and `max_points` are the test's automatic ones in the student's newest
    result when the row was made (what the TA saw)."""

    student: str
    question: str
    test: str
    points: float | None
    reason: str = ""
    by: str = ""
    made_at: str = ""  # ISO 8601, UTC
    outcome: str = ""
    auto_points: float = 0.0
    max_points: float = 0.0

    @property
    def cleared(self) -> bool:
        return self.points is None


def current(overrides: Sequence[Override]) -> Mapping[tuple[str, str, str], Override]:
    """The override that counts for each (student, question, test): its latest row, unless that row
    cleared it.  `overrides` oldest first, as the gradebook keeps them."""
    latest = {(o.student, o.question, o.test): o for o in overrides}
    return {k: o for k, o in latest.items() if not o.cleared}


def history(overrides: Sequence[Override], student: str | None = None) -> list[Override]:
    """`overrides` (oldest first) by student, question and test, the latest first in each: the first of
    each (student, question, test) is the one that counts, unless it is a clearing."""
    chosen = [(i, o) for i, o in enumerate(overrides) if student is None or o.student == student]
    return [o for _, o in sorted(chosen, key=lambda p: (p[1].student, p[1].question, p[1].test, -p[0]))]


def changed(test: TestResult, override: Override) -> bool:
    """Whether the test's automatic outcome or points differ from those the override was made against."""
    return (test.outcome, round(test.points, 6), round(test.max_points, 6)) != (
        override.outcome, round(override.auto_points, 6), round(override.max_points, 6))


def decided(test: TestResult, override: Override) -> TestResult:
    """`test` (as graded) with the TA's points: ``ta_graded``, the decision first among its messages,
    then the grader's own.  Points above the test's (its grader's points were lowered since) are
    capped at them."""
    assert override.points is not None
    points = min(override.points, test.max_points)
    messages: list[Message] = [catalogue.message("ta_override", {
        "points": points, "max": test.max_points, "outcome": f"outcome_{test.outcome}", "auto_points": test.points,
        "reason": override.reason, "by": override.by, "at": override.made_at})]
    if changed(test, override):
        messages.append(catalogue.message("ta_override_changed", {
            "outcome": f"outcome_{override.outcome}", "points": override.auto_points, "max": override.max_points}))
    return dataclasses.replace(test, outcome="ta_graded", points=points, messages=(*messages, *test.messages))


def apply(result: SubmissionResult, overrides: Sequence[Override]) -> SubmissionResult:
    """`result` with its student's current overrides applied (called by `davar.book.view`).  A manual
    question is never overridden (its points are `davar.book.scores`'); an override whose test the
    result does not have is a note on the submission."""
    mine = {(q, t): o for (s, q, t), o in current(overrides).items() if s == result.student}
    if not mine:
        return result
    used: set[tuple[str, str]] = set()
    questions = []
    for q in result.questions:
        tests = []
        for t in q.tests:
            o = mine.get((q.id, t.id))
            if o is None or q.manual:
                tests.append(t)
                continue
            used.add((q.id, t.id))
            tests.append(decided(t, o))
        questions.append(dataclasses.replace(q, tests=tuple(tests)))
    notes = tuple(catalogue.message("ta_override_unmatched", {"test": t, "question": q, "points": o.points, "by": o.by,
                                                              "at": o.made_at})
                  for (q, t), o in sorted(mine.items()) if (q, t) not in used)
    return dataclasses.replace(result, questions=tuple(questions), messages=(*result.messages, *notes))
