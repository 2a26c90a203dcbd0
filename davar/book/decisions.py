"""Making and clearing a TA's override of one automatic test for one student (`davar scores override`;
the review web UI calls the same functions): each checked against the student's newest result in
the gradebook, then kept as one more row of the override history (`davar.book.overrides`).

Checks, each a `ScoresError` (a catalogue key, read in fa or en), nothing stored:

- the gradebook exists, and has a result for the student (closest ids suggested otherwise);
- the test is one of that result's tests (closest test ids suggested), of an automatic question (a
  manual question's points are `davar scores import`'s), and names one test (``question`` says which
  when two questions have a test of that id);
- the points are a number from 0 to the test's own points.  A test of a bonus question is no
  different: an override never gives more than the test is worth (extra credit is what a bonus
  question is for, not an override);
- a reason and who decides are given (a clearing's reason is optional).
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime
from pathlib import Path

from davar.book import gradebook
from davar.book.overrides import Override, current
from davar.book.scores import normalise, parse_points, suggestions
from davar.errors import ScoresError
from davar.results import QuestionResult, SubmissionResult, TestResult


def override_test(*, book: Path, assignment: str, student: str, test: str, points: float | str, reason: str,
                  by: str, question: str | None = None) -> Override:
    """Give `student` `points` for the automatic `test` of assignment `assignment` (its id) in the
    gradebook `book`, for `reason`, decided by `by`; return the row stored.  `points` may be text as a
    TA types it (Persian digits, `٫`).  A later override of the same test replaces it; the earlier one
    stays in the history."""
    student, result = _student(book, assignment, student)
    q, t = _test(result, test, question)
    value = parse_points(str(points)) if isinstance(points, str) else float(points)
    if value is None:
        raise ScoresError("override_not_number", points=str(points).strip())
    if not 0 <= value <= t.max_points:
        raise ScoresError("override_out_of_range", points=value, max=t.max_points, test=t.id)
    reason, by = reason.strip(), by.strip()
    if not reason:
        raise ScoresError("override_no_reason", student=student, test=t.id)
    if not by:
        raise ScoresError("override_no_by")
    row = _row(student, q, t, points=value, reason=reason, by=by)
    gradebook.add_override(book, assignment, row)
    return row


def clear_override(*, book: Path, assignment: str, student: str, test: str, by: str, reason: str = "",
                   question: str | None = None) -> Override:
    """Remove `student`'s override of `test`: the test's automatic points count again.  The override and
    this clearing stay in the history.  Return the clearing row; a `ScoresError` when there is none to
    clear (the student's overridden tests named)."""
    if not book.is_file():
        raise ScoresError("scores_no_gradebook", path=str(book), assignment=assignment)
    student, test = normalise(student), normalise(test)
    live = [o for o in current(gradebook.overrides(book, assignment)).values() if o.student == student
            and o.test in (test, test.removeprefix("test_")) and question in (None, o.question)]
    if len(live) != 1:
        if live:
            raise ScoresError("override_test_ambiguous", test=test, questions=", ".join(o.question for o in live))
        mine = sorted(f"{o.test} ({o.question})" for o in current(gradebook.overrides(book, assignment)).values()
                      if o.student == student)
        raise ScoresError("override_nothing_to_clear", student=student, test=test, overridden=", ".join(mine) or "-")
    o = live[0]
    by = by.strip()
    if not by:
        raise ScoresError("override_no_by")
    result = gradebook.history(book, assignment, student)[-1]
    now = next(((q, t) for q in result.questions for t in q.tests if (q.id, t.id) == (o.question, o.test)), None)
    if now is None:  # a regrade no longer has the test: the clearing records what the override was made against
        row = Override(student=student, question=o.question, test=o.test, points=None, reason=reason.strip(), by=by,
                       made_at=_now(), outcome=o.outcome, auto_points=o.auto_points, max_points=o.max_points)
    else:
        row = _row(student, *now, points=None, reason=reason.strip(), by=by)
    gradebook.add_override(book, assignment, row)
    return row


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _row(student: str, q: QuestionResult, t: TestResult, *, points: float | None, reason: str, by: str) -> Override:
    return Override(student=student, question=q.id, test=t.id, points=points, reason=reason, by=by, made_at=_now(),
                    outcome=t.outcome, auto_points=t.points, max_points=t.max_points)


def _student(book: Path, assignment: str, student: str) -> tuple[str, SubmissionResult]:
    """The student id as the gradebook has it, and their newest result."""
    if not book.is_file():
        raise ScoresError("scores_no_gradebook", path=str(book), assignment=assignment)
    student = normalise(student)
    known = gradebook.students(book, assignment)
    if student not in known:
        close = suggestions(student, known)
        raise ScoresError("override_unknown_student" if close else "override_unknown_student_no_match",
                          student=student, assignment=assignment, suggestions=", ".join(close))
    return student, gradebook.history(book, assignment, student)[-1]


def _test(result: SubmissionResult, test: str, question: str | None) -> tuple[QuestionResult, TestResult]:
    """The question and test of `result` that `test` (its id, or the grader's function name) names."""
    test = normalise(test)
    question = None if question is None else normalise(question)
    every = [(q, t) for q in result.questions for t in q.tests if question in (None, q.id)]
    found = ([(q, t) for q, t in every if t.id == test]
             or [(q, t) for q, t in every if t.id == test.removeprefix("test_")])
    if not found:
        ids = sorted({t.id for q, t in every if not q.manual})
        close = difflib.get_close_matches(test, ids, n=3, cutoff=0.5)
        raise ScoresError("override_unknown_test", test=test, student=result.student,
                          suggestions=", ".join(close or ids[:10]) or "-")
    if len(found) > 1:
        raise ScoresError("override_test_ambiguous", test=test, questions=", ".join(q.id for q, _ in found))
    q, t = found[0]
    if q.manual:
        raise ScoresError("override_manual_question", test=t.id, question=q.id)
    return q, t
