"""A submission's `SubmissionResult`, from its tests' outcomes and its notebooks' runs: plain values in, so
it is built (and tested) the same with or without pytest."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from davar import __version__, catalogue
from davar.results import (
    ExecutionRecord,
    Figure,
    Level,
    Message,
    QuestionResult,
    RunStatus,
    SandboxRecord,
    Status,
    SubmissionResult,
    TestResult,
    awaiting_manual,
)
from davar.run.sandbox import strategy

if TYPE_CHECKING:
    from davar.assignment import Assignment, Limits
    from davar.intake.inbox import Submission


class Ran(NamedTuple):
    """What the result needs of a notebook's run, kept before its kernel is shut down."""

    execution: ExecutionRecord
    sandbox: SandboxRecord
    figures: tuple[Figure, ...]


def build_result(assignment: Assignment, submission: Submission, tests: Iterable[tuple[str, TestResult]],
                 ran: Mapping[str, Ran], *, level: Level, profile: str, public_only: bool = False,
                 notes: Sequence[Message] = (), sandboxes_before: Sequence[SandboxRecord] = (),
                 hidden: Sequence[float] = ()) -> SubmissionResult:
    """`tests` are (question id, result) in the order they ran, `ran` the notebooks' runs by name; `notes`
    the submission-level messages gathered while running; `sandboxes_before` those of runs not graded here
    (the original runs of notebooks restored from snapshots, the first of re-run ones), for what they tried.
    Public-only, a question keeps only the points of the tests that ran, and the hidden tests left out
    (`hidden`: each one's points) are announced by their number and points alone (`hidden_tests_announced`),
    with the most this check can give."""
    runs = [ran[nb] for nb in assignment.notebooks if nb in ran]
    by_q: dict[str, list[TestResult]] = {}
    for qid, t in tests:
        by_q.setdefault(qid, []).append(t)
    questions = []
    for q in assignment.questions:
        graded = (awaiting_manual(q.points),) if q.manual else tuple(by_q.get(q.id, ()))
        if public_only and not graded:
            continue
        max_points = sum(t.max_points for t in graded) if public_only else q.points
        questions.append(QuestionResult(id=q.id, title=q.title, max_points=max_points, manual=q.manual,
                                        bonus=q.bonus, tests=graded))
    executions = tuple(run.execution for run in runs)
    boxes = (*sandboxes_before, *(run.sandbox for run in runs))
    sandbox = SandboxRecord(level=level, network=strategy(level).network, limits=runs[0].sandbox.limits if runs else {},
                            blocked=_each_once(b for box in boxes for b in box.blocked),
                            not_enforced=runs[0].sandbox.not_enforced if runs else (),
                            not_blocked=_each_once(b for box in boxes for b in box.not_blocked),
                            refused=_each_once(b for box in boxes for b in box.refused))
    messages = [catalogue.message("notebook_missing", {"notebook": nb})
                for nb in assignment.notebooks if nb not in submission.notebooks] + list(notes)
    for execution in executions:
        if execution.reason == "disk_limit":  # whatever the status: a cell stopped by it, or a notebook that ended full
            messages.append(catalogue.message("disk_limit" if execution.status != "ok" else "disk_limit_full", {
                "notebook": execution.notebook, "cell": (execution.failing_cell or 0) + 1,
                "disk_mb": assignment.limits(profile).disk_mb}))
        elif execution.status == "error":
            messages.extend(_cells_raised(execution))
        elif execution.status in ("dead", "timeout"):
            messages.extend(_cells_raised(execution))  # before the one that stopped the kernel
            messages.append(catalogue.message(execution.reason or "kernel_died", {
                "notebook": execution.notebook, "cell": (execution.failing_cell or 0) + 1,
                **_limit_values(assignment.limits(profile))}))
    if public_only and hidden:
        messages.append(hidden_announcement(hidden, questions))
    statuses = {_as_submitted(e) for e in executions}
    status: Status = ("timeout" if "timeout" in statuses else "execution_error" if statuses & {"error", "dead"}
                      else "graded")
    if sandbox.refused:  # at `none`: paths the cells named that the grading's sandbox has not, failed as there
        messages.append(_attempts("sandbox_refused", sandbox.refused))
    # not blocked (at `none`): what the course's grading, walled off, would have blocked, and marked so
    for attempts, key in ((sandbox.blocked, "sandbox_blocked"), (sandbox.not_blocked, "sandbox_not_blocked")):
        if attempts:
            status = "sandbox_violation"
            messages.append(_attempts(key, attempts))
    return SubmissionResult(
        assignment=assignment.id, student=submission.student, digest=submission.digest, status=status,
        questions=tuple(questions), executions=executions, sandbox=sandbox,
        graded_at=datetime.now(UTC).isoformat(timespec="seconds"), versions=_versions(),
        messages=tuple(messages), figures=tuple(f for run in runs for f in run.figures),
        submitted_at=submission.submitted_at, time_source=submission.time_source)


def public_view(result: SubmissionResult) -> SubmissionResult:
    """What a student's `davar check` of the same notebook gives, read from the TA's result (`davar grade`):
    its hidden tests left out, a question left with none of its automatic tests dropped, each question worth
    what its remaining tests are (as `build_result` builds a public-only result).  The grade runs a notebook's
    hidden tests after its public ones (davar.grading.plugin), so these ran as a check runs them."""
    questions = []
    for q in result.questions:
        if q.manual:
            questions.append(q)
            continue
        public = tuple(t for t in q.tests if not t.hidden)
        if public:
            questions.append(dataclasses.replace(q, tests=public, max_points=sum(t.max_points for t in public)))
    return dataclasses.replace(result, questions=tuple(questions))


def hidden_announcement(hidden: Sequence[float], questions: Sequence[QuestionResult]) -> Message:
    """What a self-check says of the hidden tests it left out: how many, their points, and the most the
    check itself can give (its automatic tests' points): never their names or content."""
    reachable = sum(t.max_points for q in questions for t in q.tests if t.outcome != "manual")
    return catalogue.message("hidden_tests_announced", {"count": len(hidden), "points": round(sum(hidden), 6),
                                                        "reachable": round(reachable, 6)})


def _attempts(key: str, attempts: Sequence[dict[str, str]]) -> Message:
    return catalogue.message(key, {"count": len(attempts), "targets": ", ".join(b["target"] for b in attempts[:5])})


def _each_once(attempts: Iterable[dict[str, str]]) -> tuple[dict[str, str], ...]:
    return tuple(dict(b) for b in dict.fromkeys(tuple(b.items()) for b in attempts))


#: Cells that raised listed one by one in the messages; the rest are counted (each is in the result's cells).
MAX_LISTED_ERRORS = 10


def _cells_raised(execution: ExecutionRecord) -> list[Message]:
    """One message per cell that raised: "the cells after it did not run" where the run stopped there (the
    assignment's `on_cell_error = "stop"`), "the next cells ran all the same" where it went on."""
    raised = [(c.index, f"{c.error_name}: {c.error_value}") for c in execution.cells if c.status == "error"]
    if not raised and execution.status == "error":  # a restore that failed: no cell of the student's raised
        raised = [(execution.failing_cell or 0, f"{execution.error_name}: {execution.error_value}")]
    if not raised:
        return []
    went_on = any(c.status != "not_run" for c in execution.cells if c.index > raised[0][0])
    out = [catalogue.message("cell_raised" if went_on else "cell_failed", {
        "notebook": execution.notebook, "cell": index + 1, "error": error[:300]})
        for index, error in raised[:MAX_LISTED_ERRORS]]
    if len(raised) > MAX_LISTED_ERRORS:
        out.append(catalogue.message("cells_raised_more", {
            "notebook": execution.notebook, "count": len(raised) - MAX_LISTED_ERRORS}))
    return out


def _as_submitted(execution: ExecutionRecord) -> RunStatus:
    """How the notebook as submitted ran: one graded without its fatal cell (davar.grading.kernels) did not
    run through, so its result keeps the status that says so ("timeout", "execution_error") for the TA."""
    if execution.skipped_cell is None:
        return execution.status
    return "timeout" if execution.skipped_reason == "cell_timeout" else "dead"


def _limit_values(limits: Limits) -> dict[str, Any]:
    return {"cell_timeout_s": limits.cell_timeout_s, "total_timeout_s": limits.total_timeout_s,
            "memory_mb": limits.memory_mb, "cpu_s": limits.cpu_s}


def _versions() -> dict[str, str]:
    import sys
    from importlib.metadata import PackageNotFoundError, version

    out = {"davar": __version__, "python": sys.version.split()[0]}
    for pkg in ("papermill", "pytest", "torch", "tensorflow-cpu"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out
