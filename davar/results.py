"""The versioned result of grading one submission, and its JSON form.

Everything a report, the gradebook or an export needs is in a `SubmissionResult`; nothing downstream
goes back to the notebook or the kernel.  A result is the record as graded: messages are stored as a
catalogue key, variant and values, and rendered (`catalogue.render`) only where a person reads them, so
a wording fix in a catalogue needs no regrade; the TA's manual scores and the late policy are applied
when a view is built (`davar.book.view`), never stored here.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

SCHEMA_VERSION = 3  # 2: one ExecutionRecord per notebook (`executions`); 3: messages without their text,
#                    top-level `submitted_at`

# The vocabularies of a result: plain strings in the JSON, checked by mypy where they are written.
#: What happened to a submission as a whole.
Status = Literal["graded", "execution_error", "timeout", "invalid_submission", "missing", "sandbox_violation"]
#: A test's outcome: ``not_run`` when the kernel was gone before the test could probe it, ``error``
#: when the grader itself broke (a bug for the TA, never the student's fault), ``manual`` for points a
#: TA has yet to fill in and ``ta_graded`` once a TA has (its comment is a ``ta_comment`` message),
#: ``partial`` for a test that earned part of its points.
Outcome = Literal["passed", "partial", "failed", "error", "not_run", "skipped", "manual", "ta_graded"]
#: How one notebook's run ended, and how one of its cells did.
RunStatus = Literal["ok", "error", "timeout", "dead", "not_run"]
CellStatus = Literal["ok", "error", "timeout", "not_run"]
#: The sandbox a kernel ran in (davar/run/sandbox.py), strongest last.
Level = Literal["none", "basic", "strict"]
#: A late policy (davar/late.py).
Policy = Literal["none", "per_day", "zero_after"]

STATUSES: tuple[Status, ...] = get_args(Status)
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
LEVELS: tuple[Level, ...] = get_args(Level)
POLICIES: tuple[Policy, ...] = get_args(Policy)


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """A catalogue message: its text is rendered from these when a person reads it (`catalogue.render`)."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)
    variant: str = ""  # the text asked for ("pass" or "fail") of a key that has both; "" when none was
    # The text as rendered when graded: only in records older than schema 3; `catalogue.render` says
    # when it is still shown (the key is no longer known, mostly).
    fa: str = ""
    en: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TestResult:
    __test__ = False  # not a pytest test class

    id: str
    title: dict[str, str]
    outcome: Outcome
    points: float
    max_points: float
    hidden: bool = False
    duration_s: float = 0.0
    messages: tuple[Message, ...] = ()
    flagged: bool = False  # the grader asks the TA to look at this test (`davar.flag`), whatever its outcome
    seed: int | None = None  # what its `rng` fixture drew from: a TA replays the test with it, a regrade draws it again


@dataclass(frozen=True, slots=True, kw_only=True)
class QuestionResult:
    id: str
    title: dict[str, str]
    max_points: float
    manual: bool = False
    bonus: bool = False  # extra credit: not counted in the submission's max_score
    tests: tuple[TestResult, ...] = ()

    @property
    def points(self) -> float:
        return round(sum(t.points for t in self.tests), 6)

    @property
    def awaiting_points(self) -> float:
        """The points a TA has yet to mark: a manual question's unmarked tests, or the whole question
        when no test was recorded.  The one definition of "awaiting a TA" every report and export uses."""
        if not self.manual:
            return 0.0
        if not self.tests:
            return self.max_points
        return round(sum(t.max_points for t in self.tests if t.outcome == "manual"), 6)

    @property
    def awaiting_ta(self) -> bool:
        return self.awaiting_points > 0


def awaiting_manual(max_points: float) -> TestResult:
    """The one test of a manual question before a TA marks it (`scores.merge` replaces it)."""
    return TestResult(id="manual", title={"fa": "", "en": ""}, outcome="manual", points=0.0, max_points=max_points)


@dataclass(frozen=True, slots=True, kw_only=True)
class CellRecord:
    index: int  # 0-based among all the cells of the notebook as the student wrote it
    execution_count: int | None
    duration_s: float
    status: CellStatus
    # A cell that raised ("error"): what; and any cell that did not run through (raised, stopped, never
    # started): the names its code would have defined (davar.run.cell_names), so a grader's missing name can
    # point at it.
    error_name: str = ""
    error_value: str = ""
    defines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionRecord:
    """What happened when a notebook ran (from the live run, not papermill's saved metadata)."""

    notebook: str = ""  # its file name in the submission
    status: RunStatus
    wall_s: float = 0.0
    peak_memory_mb: float | None = None
    # The CPU seconds the run's processes used while the notebook ran, all of them together and the kernel's start
    # included (its cgroup's count; `Limits.cpu_s` is the budget): None where nothing counted them (no cgroup).
    cpu_s: float | None = None
    # What the run folder held when the notebook ended (its files, what it wrote, /tmp): only where a disk
    # quota measured it (davar/run/quota.py), else None.
    disk_used_mb: float | None = None
    cells_total: int = 0  # code cells in the student's notebook
    cells: tuple[CellRecord, ...] = ()
    failing_cell: int | None = None  # 0-based index among all the cells of the notebook as the student wrote it
    error_name: str = ""
    error_value: str = ""
    traceback: str = ""
    # Catalogue key explaining a timeout or a dead kernel, or "disk_limit": the notebook filled its disk quota
    # (whatever the status: a cell that raised ENOSPC, a kernel that died of it, or a notebook that ended full).
    reason: str = ""
    # A second run (davar.grading.kernels): this cell (numbered as `failing_cell`) stopped the first run, for
    # `skipped_reason` (a `reason` above), and was left out of this one.  None when the notebook ran once.
    skipped_cell: int | None = None
    skipped_reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxRecord:
    level: Level
    network: bool  # whether the kernel could reach a network at all
    limits: dict[str, Any] = field(default_factory=dict)
    blocked: tuple[dict[str, str], ...] = ()  # attempts the sandbox stopped: {"kind", "target"}
    # The `limits` this level did not enforce (`davar.run.sandbox.Sandbox.not_enforced`: no disk quota
    # under `basic`, ...); the report says so next to each.  Empty in records from before it was kept.
    not_enforced: tuple[str, ...] = ()
    # Network use a level without walls (`none`: a laptop without bubblewrap, a CI runner) let through, the
    # attempts `blocked` holds under `strict`: a self-check says what the course's grading will make of them.
    not_blocked: tuple[dict[str, str], ...] = ()
    # Paths outside what the grading's sandbox shows that the notebook's cells named and a level without walls
    # refused as that sandbox would not have them (davar/inside/audit.py): the notebook fails here as it will there.
    refused: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Figure:
    """An image the notebook displayed; `data` is base64 of a PNG davar re-encoded (see davar.run.figures),
    empty when the image is not kept (SVG, undecodable, past the limit)."""

    notebook: str
    cell: int  # 0-based index of the cell in the student's notebook
    mime: str
    data: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Lateness:
    """When the submission came in against the deadline, and what the late policy takes away."""

    submitted_at: str  # ISO 8601 with its UTC offset
    deadline: str  # ISO 8601 with its UTC offset (the assignment's Jalali deadline, converted)
    late_s: float = 0.0  # seconds past the deadline; 0 when on time
    days_late: int = 0  # started days past the deadline
    penalty: float = 0.0  # fraction of the score taken away, 0–1
    policy: Policy = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class DataRecord:
    """The data a submission was graded on: the profile, `davar.grading.batch.data_digest` of the data
    root, and whether it was the synthetic stand-in (a `.built-<name>` marker of davar.datasets.standin)."""

    profile: str
    digest: str
    standin: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmissionResult:
    assignment: str
    student: str
    digest: str
    status: Status
    questions: tuple[QuestionResult, ...]
    executions: tuple[ExecutionRecord, ...]  # one per notebook that ran, in the assignment's order
    sandbox: SandboxRecord
    graded_at: str = ""
    submitted_at: str = ""  # when the submission arrived (ISO 8601); lateness is computed from it in a view
    # Where that time comes from (davar.intake.inbox.Submission.time_source): "export", "git", "file", or
    # "file_copied" (file times of a copy: no `submitted_at`, so no late penalty); "" in older records.
    time_source: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    messages: tuple[Message, ...] = ()  # submission-level notes (why it is invalid, violations, ...)
    # None when the assignment has no deadline or the time is unknown.  A view's (davar.book.view), with
    # the current late policy; what a record stores here is ignored.
    lateness: Lateness | None = None
    figures: tuple[Figure, ...] = ()
    display_name: str = ""  # the student's name as the export gives it; "" when unknown
    data: DataRecord | None = None  # what it was graded on; None in records from before it was kept
    schema_version: int = SCHEMA_VERSION

    @property
    def execution(self) -> ExecutionRecord:
        """The run that decides the status: the first that did not end "ok", else the first."""
        return next((e for e in self.executions if e.status != "ok"), None) or (
            self.executions[0] if self.executions else ExecutionRecord(status="not_run"))

    @property
    def score(self) -> float:
        return round(sum(q.points for q in self.questions), 6)

    @property
    def max_score(self) -> float:
        return round(sum(q.max_points for q in self.questions if not q.bonus), 6)

    @property
    def final_score(self) -> float:
        """The score after the late penalty."""
        return round(self.score * (1 - (self.lateness.penalty if self.lateness else 0.0)), 6)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["score"] = self.score
        data["max_score"] = self.max_score
        data["final_score"] = self.final_score
        for q, qd in zip(self.questions, data["questions"], strict=True):  # asdict keeps them in order
            qd["points"] = q.points
        for messages in (data["messages"], *(t["messages"] for q in data["questions"] for t in q["tests"])):
            for m in messages:  # no empty stored text: a record keeps the key and values, not the words
                for lang in ("fa", "en"):
                    if not m[lang]:
                        del m[lang]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, sort_keys=True)


def from_dict(data: dict[str, Any]) -> SubmissionResult:
    """Rebuild a result from its JSON form (derived totals are recomputed, not trusted)."""
    if data.get("schema_version") == 1:  # one notebook: `execution` and `notebook`
        data = {k: v for k, v in data.items() if k not in ("execution", "notebook")} | {
            "schema_version": 2, "executions": [{**data["execution"], "notebook": data.get("notebook", "")}]}
    if data.get("schema_version") == 2:  # messages carried their text; the submission time was in `lateness`
        data = data | {"schema_version": 3, "submitted_at": (data.get("lateness") or {}).get("submitted_at", "")}
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"unsupported result schema_version {data.get('schema_version')!r}")

    def msgs(items):
        return tuple(Message(**m) for m in items)

    questions = tuple(
        QuestionResult(
            id=q["id"],
            title=q["title"],
            max_points=q["max_points"],
            manual=q.get("manual", False),
            bonus=q.get("bonus", False),
            tests=tuple(TestResult(**{**t, "messages": msgs(t["messages"])}) for t in q["tests"]),
        )
        for q in data["questions"]
    )
    executions = tuple(ExecutionRecord(**{**ex, "cells": tuple(CellRecord(**c) for c in ex["cells"])})
                       for ex in data["executions"])
    sb = data["sandbox"]
    sandbox = SandboxRecord(**{**sb, "blocked": tuple(sb["blocked"]),  # the others are not in older records
                               **{k: tuple(sb.get(k, ())) for k in ("not_enforced", "not_blocked", "refused")}})
    skip = {"score", "max_score", "final_score", "questions", "executions", "sandbox", "messages", "lateness",
            "figures", "data"}
    return SubmissionResult(
        **{k: v for k, v in data.items() if k not in skip},
        questions=questions,
        executions=executions,
        sandbox=sandbox,
        messages=msgs(data.get("messages", ())),
        lateness=Lateness(**data["lateness"]) if data.get("lateness") else None,
        figures=tuple(Figure(**f) for f in data.get("figures", ())),
        data=DataRecord(**data["data"]) if data.get("data") else None,
    )


def from_json(text: str) -> SubmissionResult:
    return from_dict(json.loads(text))
