"""The davar pytest plugin (registered under the `pytest11` entry point).

Shaped like pytest's own junitxml: options → `config.stash` → a collector of per-test outcomes →
`pytest_sessionfinish` builds the `SubmissionResult`.

    pytest graders/iust-dl-1403-hw2 --submission submissions/iust-dl-1403-hw2/passes

executes each notebook of the submission (sandboxed) when the first test of a question in it needs
`sub`, and shuts its kernel down after the last one; tests are run grouped by notebook, in the
assignment's order.  `davar grade` runs the same plugin in-process (`GradingSession(submission=...)`).

Graders use the fixtures `sub`, `assignment`, `hidden`, `public_data`, `reference`, `rng` and the
marker `davar(question=, points=, hidden=, timeout=, title=)`; they report through the grader API
(davar/api.py: `expect`, `expect_close`, `note`, `award`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from davar import __version__, api, catalogue, late
from davar import assignment as assignment_mod
from davar.errors import AssignmentError, DavarError, GradeFailure, KernelUnavailable, NotebookMissing
from davar.results import (
    ExecutionRecord,
    Level,
    Message,
    Outcome,
    QuestionResult,
    SandboxRecord,
    Status,
    SubmissionResult,
    TestResult,
    awaiting_manual,
)
from davar.run.sandbox import Slot

session_key = pytest.StashKey["GradingSession"]()
#: What the Colab/Kaggle shim reports (davar/inside/colab_shim.py), as catalogue keys.
SHIM_KEYS = {f"shim_{op}" for op in ("mount", "download", "download_refused", "pip_present", "pip_missing", "unzip")}


_grading = pytest.StashKey[api.Grading]()
_verdict = pytest.StashKey[api.Verdict]()


# --------------------------------------------------------------------------- options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("davar", "davar grading")
    group.addoption("--submission", help="notebook or student folder to execute and grade")
    group.addoption("--davar-result", metavar="PATH", help="write the SubmissionResult JSON here")
    group.addoption("--sandbox", default="strict", choices=["auto", "strict", "basic", "none"],
                    help="sandbox level for the student's kernel (default: strict)")
    group.addoption("--allow-weak-sandbox", action="store_true",
                    help="fall back to the best available sandbox when `strict` is not available")
    group.addoption("--public-only", action="store_true", help="run public graders only (deselect hidden)")
    group.addoption("--profile", default="standin", help="assignment profile (epochs, limits)")
    group.addoption("--data", metavar="DIR", help="data root (default $DAVAR_DATA or the repo's data/)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", api.MARKER_HELP)
    session = next((p for p in config.pluginmanager.get_plugins() if isinstance(p, GradingSession)), None)
    if session is None and config.getoption("submission"):
        session = GradingSession(
            submission=Path(config.getoption("submission")), level=config.getoption("sandbox"),
            allow_weak=config.getoption("allow_weak_sandbox"), profile=config.getoption("profile"),
            data_root=Path(config.getoption("data")) if config.getoption("data") else None)
        config.pluginmanager.register(session, "davar-session")
    if session is not None:
        session.public_only = session.public_only or config.getoption("public_only")
        session.result_path = config.getoption("davar_result") or session.result_path
        config.stash[session_key] = session


def _closest_first(item: pytest.Item) -> list[pytest.Mark]:
    """The item's `davar` markers, closest first: its own before its class's and module's, and on one
    node the last added first (a `pytest.param(..., marks=...)` case before its function's decorators,
    an upper decorator before a lower one)."""
    by_node: dict[int, list[pytest.Mark]] = {}
    for node, mark in item.iter_markers_with_node(api.MARKER):
        by_node.setdefault(id(node), []).append(mark)
    return [mark for marks in by_node.values() for mark in reversed(marks)]


def _session(request: pytest.FixtureRequest) -> GradingSession:
    session = request.config.stash.get(session_key, None)
    if session is None:
        pytest.skip("no submission to grade (pass --submission PATH)")
    return session


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def assignment(request: pytest.FixtureRequest):
    return _session(request).assignment


@pytest.fixture
def sub(request: pytest.FixtureRequest):
    """The executed notebook of this test's question, as graders see it (`davar.probe.bridge.Sub`)."""
    return _session(request).sub(request.node)


@pytest.fixture(scope="session")
def hidden(request: pytest.FixtureRequest) -> Path:
    """The assignment's hidden data folder; it never enters the sandbox."""
    s = _session(request)
    return s.assignment.hidden_data(s.data_root)


@pytest.fixture(scope="session")
def public_data(request: pytest.FixtureRequest) -> Path:
    """The data the student's notebook sees as DATA_DIR, read here from outside the sandbox."""
    s = _session(request)
    return s.assignment.public_data(s.data_root)


@pytest.fixture(scope="session")
def reference(request: pytest.FixtureRequest):
    """The assignment's reference implementations: the module `reference/<id>/reference.py`."""
    return _session(request).assignment.reference_module()


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> np.random.Generator:
    """Fresh inputs every run; the seed is kept with the test so a TA can replay it."""
    seed = secrets.randbits(32)
    request.node.user_properties.append(("rng_seed", seed))
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- collector


class GradingSession:
    """One submission graded by one pytest session; builds its `SubmissionResult`.

    `submission` is a `Submission` (from `davar grade`) or a path (from `pytest --submission`)."""

    def __init__(self, *, submission=None, assignment=None, level: Level = "strict", allow_weak: bool = False,
                 profile: str = "standin", data_root: Path | None = None, public_only: bool = False,
                 result_path: str | None = None, slot: Slot = Slot(), snapshot_dir: Path | None = None,
                 previous: SubmissionResult | None = None):
        self._submission, self._assignment = submission, assignment
        self.level, self.allow_weak, self.profile, self.data_root = level, allow_weak, profile, data_root
        self.public_only, self.result_path = public_only, result_path
        self.slot = slot
        # Snapshots: each notebook's namespace is saved in `snapshot_dir` after it runs; with `previous`
        # (this submission's last result), a notebook with a snapshot is restored instead of re-run.
        self.snapshot_dir, self.previous = snapshot_dir, previous
        self._notes: list[Message] = []  # submission-level messages gathered while running
        self._restored: set[str] = set()
        self.tests: dict[str, tuple[str, TestResult]] = {}
        self.order: list[str] = []
        self.result: SubmissionResult | None = None
        self._runs: dict[str, Any] = {}  # notebook -> LiveRun, while its kernel is up
        self._stacks: dict[str, contextlib.ExitStack] = {}
        self._records: dict[str, tuple[ExecutionRecord, SandboxRecord, tuple]] = {}  # notebooks that ran
        self._subs: dict[str, Any] = {}
        self._last: dict[str, str] = {}  # notebook -> nodeid of the last test that needs it
        self.harness_error: BaseException | None = None  # davar itself failed to run a notebook

    @property
    def assignment(self):
        if self._assignment is None:
            raise AssignmentError("no assignment.toml found above the collected graders")
        return self._assignment

    @property
    def submission(self):
        from davar.intake import inbox

        if not isinstance(self._submission, inbox.Submission):
            from davar.run import sandbox

            subs = inbox.collect(self._submission, self.assignment)
            if len(subs) != 1:
                raise DavarError(f"--submission must name one submission, found {len(subs)}")
            self.level = sandbox.choose_level(self.level, allow_weak=self.allow_weak)
            self._submission = subs[0]
        return self._submission

    def _notebook_of(self, item: pytest.Item) -> str:
        return self.assignment.question(item.stash[_grading].question).notebook

    def sub(self, item: pytest.Item):
        """The `sub` of `item`'s notebook: executed (in its own sandboxed kernel) on first use."""
        from davar.probe.bridge import Sub

        notebook = self._notebook_of(item)
        if self.harness_error is not None:
            raise self.harness_error
        if notebook not in self._subs:
            try:
                if notebook not in self.submission.notebooks:
                    raise NotebookMissing(notebook)
                self._runs[notebook] = self._start(notebook)
            except NotebookMissing:
                raise
            except Exception as e:  # davar could not run it: reported on the whole submission
                self.harness_error = e
                raise
            self._subs[notebook] = Sub(self._runs[notebook])
        return self._subs[notebook]

    def _start(self, notebook: str):
        """A live run of `notebook`: restored from its snapshot when regrading one, else executed."""
        from davar.run import execute

        run = functools.partial(execute.run, self.submission, self.assignment, notebook=notebook, level=self.level,
                                profile=self.profile, slot=self.slot, data_root=self.data_root)
        snapshot = self.snapshot_dir / f"{notebook}.pkl" if self.snapshot_dir else None
        before = {e.notebook: e for e in self.previous.executions} if self.previous else {}
        stack = self._stacks[notebook] = contextlib.ExitStack()
        if self.previous is not None and notebook in before and snapshot and snapshot.is_file():
            live = stack.enter_context(run(snapshot=snapshot))
            if live.execution.status == "ok":  # graded as it ran then: its record, figures, violations
                self._notes.append(catalogue.message("snapshot_regraded", {"notebook": notebook}))
                self._notes += [m for m in self.previous.messages  # what the shim did when it really ran
                                if m.key in SHIM_KEYS and m.values.get("notebook") == notebook]
                self._restored.add(notebook)
                return dataclasses.replace(live, execution=before[notebook], figures=tuple(
                    f for f in self.previous.figures if f.notebook == notebook))
            self._notes.append(catalogue.message("snapshot_fallback", {
                "notebook": notebook, "reason": live.execution.error_value or live.execution.reason}))
            stack.close()
            stack = self._stacks[notebook] = contextlib.ExitStack()
        live = stack.enter_context(run())
        if snapshot and live.bridge is not None:
            with contextlib.suppress(Exception):  # no snapshot only means a later regrade runs it again
                live.save_snapshot(snapshot)
        return live

    def _close(self, notebook: str) -> None:
        """Keep what the run's record needs, then shut its kernel down."""
        live = self._runs.pop(notebook, None)
        if live is not None:
            try:
                self._records[notebook] = (live.execution, live.sandbox_record(), live.figures)
                self._notes += [catalogue.message(f"shim_{e['op']}", {"notebook": notebook, "target": e["target"]})
                                for e in live.audit.shim() if f"shim_{e['op']}" in SHIM_KEYS]
            finally:
                self._stacks.pop(notebook).close()

    # -- collection

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]):
        if self._assignment is None and items:
            folder = next((p for p in Path(items[0].path).parents if (p / "assignment.toml").exists()), None)
            if folder is None:
                raise pytest.UsageError(f"no assignment.toml above {items[0].path}")
            self._assignment = assignment_mod.load(folder)
        for item in items:
            try:
                grading = item.stash[_grading] = api.marker_args(_closest_first(item), item.nodeid)
            except TypeError as e:
                raise pytest.UsageError(str(e)) from None
            self.assignment.question(grading.question)
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        for item in items:
            (drop if self.public_only and item.stash[_grading].hidden else keep).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
        totals: dict[str, float] = {}
        for item in items:
            grading = item.stash[_grading]
            totals[grading.question] = totals.get(grading.question, 0.0) + grading.points
        if not self.public_only:
            for question in self.assignment.questions:
                if not question.manual and abs(totals.get(question.id, 0.0) - question.points) > 1e-9:
                    raise pytest.UsageError(
                        f"question {question.id}: graders give {totals.get(question.id, 0.0)} points, "
                        f"assignment.toml says {question.points}")
        # One notebook's tests together, in the assignment's order: one kernel up at a time.
        items.sort(key=lambda item: self.assignment.notebooks.index(self._notebook_of(item)))
        self._last = {self._notebook_of(item): item.nodeid for item in items}

    # -- running

    def _verdict(self, item: pytest.Item) -> api.Verdict:
        return item.stash.setdefault(_verdict, api.Verdict(course=self.assignment.messages))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item):
        token = api.current.set(self._verdict(item))
        try:
            return (yield)
        finally:
            api.current.reset(token)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        token = api.current.set(self._verdict(item))
        timeout = item.stash[_grading].timeout
        live = self._runs.get(self._notebook_of(item))
        bridge = live.bridge if live is not None else None
        previous = bridge.timeout_s if bridge else None
        if timeout and bridge:
            bridge.timeout_s = timeout
        try:
            return (yield)
        finally:
            api.current.reset(token)
            if bridge:
                bridge.timeout_s = previous

    def pytest_runtest_logfinish(self, nodeid: str, location):
        for notebook, last in self._last.items():
            if last == nodeid:
                self._close(notebook)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        if call.when == "call" or (call.when == "setup" and report.outcome != "passed"):
            self._record(item, call, report)
        return report

    def _record(self, item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> None:
        grading = item.stash[_grading]
        verdict = self._verdict(item)
        max_points, messages = grading.points, list(verdict.messages)
        exc = call.excinfo.value if call.excinfo else None
        fraction = 0.0
        outcome: Outcome
        if report.passed:
            fraction = 1.0 if verdict.fraction is None else verdict.fraction
            outcome = "passed" if fraction >= 1 else "partial" if fraction > 0 else "failed"
        elif report.skipped:
            outcome = "skipped"
        elif isinstance(exc, KernelUnavailable):
            outcome = "not_run"
            messages.append(verdict.message(exc.key, exc.values))
        elif isinstance(exc, GradeFailure):
            outcome = "failed"
            if not any(m.key == exc.key for m in messages):
                messages.append(verdict.message(exc.key, exc.values))
        elif isinstance(exc, AssertionError):
            outcome = "failed"
            detail = str(exc).splitlines()[0][:300] if str(exc) else ""
            messages.append(verdict.message("assertion", {"detail": detail}))
        else:
            outcome = "error"
            messages.append(verdict.message("grader_error", {"error": f"{type(exc).__name__}: {exc}"[:300]}))
        test_id = item.name.removeprefix("test_")
        result = TestResult(id=test_id, title=self._title(grading, test_id), outcome=outcome,
                            points=round(max_points * fraction, 6), max_points=max_points, hidden=grading.hidden,
                            duration_s=round(call.duration, 3), messages=tuple(messages))
        if item.nodeid not in self.tests:
            self.order.append(item.nodeid)
        self.tests[item.nodeid] = (grading.question, result)

    def _title(self, grading: api.Grading, test_id: str) -> dict[str, str]:
        """The marker's title, else the question's `[questions.tests]` entry for the test (a
        parametrized test's entry by its base name, with the parameters appended), else its id."""
        if grading.title:
            return grading.title
        titles = self.assignment.question(grading.question).tests
        base, _, params = test_id.partition("[")
        if test_id in titles or base not in titles:
            return titles.get(test_id, {"fa": test_id, "en": test_id})
        return {lang: f"{text} [{params}" for lang, text in titles[base].items()}

    # -- finishing

    def build_result(self) -> SubmissionResult:
        a, submission = self.assignment, self.submission
        by_q: dict[str, list[TestResult]] = {}
        for nodeid in self.order:
            qid, t = self.tests[nodeid]
            by_q.setdefault(qid, []).append(t)
        questions = []
        for q in a.questions:
            tests = tuple(by_q.get(q.id, ()))
            if q.manual:
                tests = (awaiting_manual(q.points),)
            if self.public_only and not tests:
                continue
            max_points = sum(t.max_points for t in tests) if self.public_only else q.points
            questions.append(QuestionResult(id=q.id, title=q.title, max_points=max_points, manual=q.manual,
                                            bonus=q.bonus, tests=tests))
        runs = [self._records[nb] for nb in a.notebooks if nb in self._records]
        executions = tuple(execution for execution, _, _ in runs)
        # what the original runs attempted
        earlier = self.previous.sandbox.blocked if self._restored and self.previous is not None else ()
        attempts = (*earlier, *(b for _, sb, _ in runs for b in sb.blocked))
        blocked = tuple(dict.fromkeys(tuple(b.items()) for b in attempts))
        sandbox = SandboxRecord(level=self.level, network=self.level == "none",
                                limits=runs[0][1].limits if runs else {}, blocked=tuple(dict(b) for b in blocked))
        messages = [catalogue.message("notebook_missing", {"notebook": nb})
                    for nb in a.notebooks if nb not in submission.notebooks] + self._notes
        for execution in executions:
            if execution.status == "error":
                messages.append(catalogue.message("cell_failed", {
                    "notebook": execution.notebook, "cell": (execution.failing_cell or 0) + 1,
                    "error": f"{execution.error_name}: {execution.error_value}"[:300]}))
            elif execution.status in ("dead", "timeout"):
                messages.append(catalogue.message(execution.reason or "kernel_died", {
                    "notebook": execution.notebook, "cell": (execution.failing_cell or 0) + 1,
                    **_limit_values(a.limits(self.profile))}))
        statuses = {e.status for e in executions}
        status: Status = ("timeout" if "timeout" in statuses else "execution_error" if statuses & {"error", "dead"}
                  else "graded")
        if sandbox.blocked:
            status = "sandbox_violation"
            messages.append(catalogue.message("sandbox_blocked", {
                "count": len(sandbox.blocked),
                "targets": ", ".join(b["target"] for b in sandbox.blocked[:5])}))
        return SubmissionResult(
            assignment=a.id, student=submission.student, digest=submission.digest, status=status,
            questions=tuple(questions), executions=executions, sandbox=sandbox,
            graded_at=datetime.now(UTC).isoformat(timespec="seconds"), versions=_versions(),
            messages=tuple(messages), figures=tuple(f for _, _, found in runs for f in found),
            lateness=late.lateness(a, submission.submitted_at))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int):
        try:
            for notebook in list(self._runs):
                self._close(notebook)
            if self._submission is not None and self._assignment is not None and self.harness_error is None:
                self.result = self.build_result()
                if self.result_path:
                    Path(self.result_path).write_text(self.result.to_json(), encoding="utf-8")
        finally:
            for stack in self._stacks.values():
                stack.close()

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        if self.result is not None:
            r = self.result
            terminalreporter.write_sep("=", f"davar: {r.student} {r.status} {r.score:g}/{r.max_score:g}")


def _limit_values(limits) -> dict[str, Any]:
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
