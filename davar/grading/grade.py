"""Grade one submission: run the assignment's pytest graders in-process against its notebooks,
executed in the sandbox and kept alive, and return its `SubmissionResult`.  Failures are results: an unreadable
notebook is `invalid_submission`; a crash of the harness itself is reported, not raised, so a batch
goes on.  `data` (what the data is: `commands.prepare_data`, once per batch) is recorded in every result."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import traceback
from datetime import UTC, datetime
from pathlib import Path

import pytest

from davar import catalogue
from davar.assignment import Assignment, course_imports
from davar.errors import InvalidSubmission
from davar.grading.kernels import Kernels
from davar.grading.plugin import GradingSession
from davar.intake import repair
from davar.intake.inbox import Submission
from davar.results import (
    DataRecord,
    Level,
    QuestionResult,
    SandboxRecord,
    Status,
    SubmissionResult,
    TestResult,
    awaiting_manual,
)
from davar.run.pool import Pool
from davar.run.sandbox import Slot, strategy


def grade_submission(submission: Submission, assignment: Assignment, *, level: Level, profile: str = "standin",
                     data_root: Path | None = None, public_only: bool = False, slot: Slot = Slot(),
                     snapshot_dir: Path | None = None, previous: SubmissionResult | None = None,
                     data: DataRecord | None = None, pool: Pool | None = None,
                     replay: bool = True) -> SubmissionResult:
    """Run the graders of `assignment` (pytest, in this process) on `submission`; each of its notebooks
    is executed in the sandbox when its graders first need it (or, regraded, answered from its last
    grading's replies with `replay`, or restored from its snapshot: see `Kernels`), in a kernel of
    `pool`'s when there is one."""
    if submission.problem is not None:  # a student's folder without a notebook to grade
        return unexecuted_result(submission, assignment, level=level, key=submission.problem.key,
                                 status="missing" if submission.problem.key == "no_notebook" else "invalid_submission",
                                 values=submission.problem.values, data=data)
    try:
        repaired = [note for path in submission.notebooks.values() for note in repair.check(path)]
        kernels = Kernels(submission, assignment, level=level, profile=profile, data_root=data_root, slot=slot,
                          snapshot_dir=snapshot_dir, previous=previous, pool=pool, replay=replay)
        session = GradingSession(assignment, kernels, data_root=data_root, public_only=public_only)
        # One pytest.main per submission: grader modules fresh for every student (`course_imports`) for ~30 ms
        # (bench/README.md).  Without the plugins that look for unraisable exceptions with two full garbage
        # collections per session (60 % of that time), nothing a grade depends on.  Only davar's own plugin: one
        # installed in the environment must not change a grade (pytest-randomly reseeds, pytest-rerunfailures
        # reruns) nor its cost (hypothesis's imports and assert-rewrites all of hypothesis in the session's
        # summary: 2 s of the first submission of each worker).  Nor a conftest.py above the assignment's folder:
        # the session's root is the course's folder, whose own tests' conftest.py is not grading material.
        args = [str(assignment.directory), "-q", "--disable-plugin-autoload", "-p", "davar.grading.plugin",
                "-p", "no:cacheprovider", "-p", "no:unraisableexception", "-p", "no:threadexception",
                "--import-mode=importlib", f"--rootdir={assignment.directory.parent.parent}",
                f"--confcutdir={assignment.directory}", "-W", "ignore::DeprecationWarning"]
        with contextlib.redirect_stdout(io.StringIO()) as out, course_imports(assignment):
            code = pytest.main(args, plugins=[session])
        again = functools.partial(grade_submission, submission, assignment, level=level, profile=profile,
                                  data_root=data_root, public_only=public_only, slot=slot, snapshot_dir=snapshot_dir,
                                  data=data, pool=pool)
        if kernels.missed:  # the graders asked what the last grading did not: again, in restored kernels
            return again(previous=previous, replay=False)
        if previous is not None and (fallback := kernels.incomplete) is not None:
            # A grader needed a value its snapshot left out: this regrade cannot stand, whatever the grader
            # made of the error.  Graded again from scratch, every notebook run for real (and saved anew).
            ran = again()
            return dataclasses.replace(ran, messages=(fallback, *ran.messages))
        if session.harness_error is not None:
            raise session.harness_error
        if session.result is None:
            raise RuntimeError(f"graders of {assignment.id} did not run (pytest exit {code}):\n"
                               f"{out.getvalue()[-3000:]}")
        return dataclasses.replace(session.result, messages=(*submission.notes, *repaired, *session.result.messages),
                                   display_name=submission.display_name, data=data)
    except InvalidSubmission as e:
        return unexecuted_result(submission, assignment, level=level, status="invalid_submission", key=e.key,
                                 values=e.values, data=data)
    except Exception as e:  # a harness failure must not stop the batch: it is reported on this submission
        detail = "".join(traceback.format_exception_only(type(e), e)).strip()
        return unexecuted_result(submission, assignment, level=level, status="execution_error",
                                 key="harness_error", values={"error": detail[:500]}, data=data)


def unexecuted_result(submission: Submission, assignment: Assignment, *, level: Level, status: Status, key: str,
                      values: dict, data: DataRecord | None = None) -> SubmissionResult:
    """A result for a submission whose notebook never ran: every test `not_run`, zero points; a manual
    question still awaits its TA, as in any other result."""
    reason = catalogue.message(key, values)
    questions = tuple(
        QuestionResult(id=q.id, title=q.title, max_points=q.points, manual=q.manual, bonus=q.bonus, tests=(
            (awaiting_manual(q.points),) if q.manual else tuple(
                TestResult(id=tid, title=title, outcome="not_run", points=0.0, max_points=0.0)
                for tid, title in q.tests.items())))
        for q in assignment.questions)
    return SubmissionResult(
        assignment=assignment.id, student=submission.student, display_name=submission.display_name,
        digest=submission.digest, status=status,
        questions=questions, executions=(),
        sandbox=SandboxRecord(level=level, network=strategy(level).network),
        graded_at=datetime.now(UTC).isoformat(timespec="seconds"), messages=(reason, *submission.notes),
        submitted_at=submission.submitted_at, time_source=submission.time_source, data=data)
