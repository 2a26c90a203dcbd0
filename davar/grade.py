"""Grade one submission: execute it in the sandbox, run the assignment's pytest graders in-process
against the live kernel, and return its `SubmissionResult`.  Failures are results: an unreadable
notebook is `invalid_submission`; a crash of the harness itself is reported, not raised, so a batch
goes on."""

from __future__ import annotations

import contextlib
import io
import traceback
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

from . import catalogue, execute
from .assignment import Assignment
from .errors import InvalidSubmission
from .intake import Submission
from .plugin import GradingSession
from .results import ExecutionRecord, QuestionResult, SandboxRecord, SubmissionResult, TestResult


def grade_live(live: execute.LiveRun, assignment: Assignment, *, public_only: bool = False) -> SubmissionResult:
    """Run the graders of `assignment` against an executed submission (pytest, in this process)."""
    session = GradingSession(live=live, assignment=assignment, public_only=public_only)
    args = [str(assignment.directory), "-q", "-p", "no:cacheprovider", "--import-mode=importlib",
            f"--rootdir={assignment.directory.parent.parent}", "-W", "ignore::DeprecationWarning"]
    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = pytest.main(args, plugins=[session])
    if session.result is None:
        raise RuntimeError(f"graders of {assignment.id} did not run (pytest exit {code}):\n{out.getvalue()[-3000:]}")
    return session.result


def grade_submission(submission: Submission, assignment: Assignment, *, level: str, profile: str = "standin",
                     data_root: Path | None = None, public_only: bool = False, slot: int = 0) -> SubmissionResult:
    try:
        _check_notebook(submission.notebook)
        with execute.run(submission, assignment, level=level, profile=profile, slot=slot, data_root=data_root) as live:
            return grade_live(live, assignment, public_only=public_only)
    except InvalidSubmission as e:
        return unexecuted_result(submission, assignment, level=level, status="invalid_submission", key=e.key, values=e.values)
    except Exception as e:  # a harness failure must not stop the batch: it is reported on this submission
        detail = "".join(traceback.format_exception_only(type(e), e)).strip()
        return unexecuted_result(submission, assignment, level=level, status="execution_error",
                                 key="harness_error", values={"error": detail[:500]})


def _check_notebook(path: Path) -> None:
    try:
        nbformat.validate(nbformat.read(path, as_version=4))
    except Exception as e:  # nbformat raises several unrelated types for broken files
        raise InvalidSubmission("invalid_notebook", error=str(e).splitlines()[0][:300] if str(e) else type(e).__name__)


def unexecuted_result(submission: Submission, assignment: Assignment, *, level: str, status: str, key: str,
                      values: dict) -> SubmissionResult:
    """A result for a submission whose notebook never ran: every test `not_run`, zero points."""
    reason = catalogue.message(key, values)
    questions = tuple(
        QuestionResult(id=q.id, title=q.title, max_points=q.points, manual=q.manual, bonus=q.bonus, tests=tuple(
            TestResult(id=tid, title=title, outcome="not_run", points=0.0, max_points=0.0) for tid, title in q.tests.items()))
        for q in assignment.questions)
    return SubmissionResult(
        assignment=assignment.id, student=submission.student, digest=submission.digest, status=status,
        questions=questions, execution=ExecutionRecord(status="not_run", reason=key),
        sandbox=SandboxRecord(level=level, network=level == "none"), notebook=submission.notebook.name,
        graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), messages=(reason,))
