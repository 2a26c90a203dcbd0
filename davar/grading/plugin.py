"""The davar pytest plugin (registered under the `pytest11` entry point).

Shaped like pytest's own junitxml: options → `config.stash` → a collector of per-test outcomes →
`pytest_sessionfinish` builds the `SubmissionResult` (`outcome.build_result`).

    pytest graders/iust-dl-1403-hw2 --submission submissions/iust-dl-1403-hw2/passes

executes each notebook of the submission (sandboxed) when the first test of a question in it needs
`sub`, and shuts its kernel down after the last one (`kernels.Kernels`); tests are run grouped by
notebook, in the assignment's order.  `davar grade` runs the same plugin in-process
(`GradingSession(assignment, Kernels(submission, ...))`).

Graders use the fixtures `sub`, `assignment`, `hidden`, `public_data`, `reference`, `rng` and the
marker `davar(question=, points=, hidden=, timeout=, title=)`; they report through the grader API
(davar/api.py: `expect`, `expect_close`, `note`, `award`).
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from davar import api
from davar import assignment as assignment_mod
from davar.errors import AssignmentError, DavarError, GradeFailure, KernelUnavailable, MissingName, NotebookMissing
from davar.grading.outcome import build_result
from davar.results import Outcome, SubmissionResult, TestResult

if TYPE_CHECKING:  # imported when a submission is graded: every pytest run in this environment loads the plugin
    from davar.assignment import Assignment
    from davar.grading.kernels import Kernels
    from davar.probe.bridge import Sub

session_key = pytest.StashKey["GradingSession"]()
_grading = pytest.StashKey[api.Grading]()
_verdict = pytest.StashKey[api.Verdict]()
_seed = pytest.StashKey[int]()  # what the test's `rng` drew from


def _near_miss(name: str, notebook: Path | None) -> str:
    """The name the notebook defines that is closest to `name` (`predict_labels` for `predict`), read from its
    cells' source, never run; "" when none is close or the notebook cannot be read."""
    import difflib

    from davar.intake import repair
    from davar.run import cell_names

    if notebook is None:
        return ""
    try:
        cells = repair.load(notebook)[0].cells
    except Exception:  # a notebook davar could not read: no hint, the missing name still says what is wrong
        return ""
    names = {n for c in cells if c.cell_type == "code" for n in cell_names.defined(c.source)}
    return next(iter(difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.6)), "")


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
    if session is None and config.getoption("submission"):  # its kernels come at collection, with its assignment
        data = config.getoption("data")
        session = GradingSession(data_root=Path(data) if data else None)
        config.pluginmanager.register(session, "davar-session")
    if session is not None:
        session.public_only = session.public_only or config.getoption("public_only")
        session.result_path = config.getoption("davar_result") or session.result_path
        config.stash[session_key] = session


def _assignment_above(grader: Path) -> Assignment:
    folder = next((p for p in grader.parents if (p / "assignment.toml").exists()), None)
    if folder is None:
        raise pytest.UsageError(f"no assignment.toml above {grader}")
    return assignment_mod.load(folder)


def _kernels_from_options(config: pytest.Config, assignment: Assignment, data_root: Path | None) -> Kernels:
    """`pytest --submission PATH`: the one submission at PATH and the sandbox level it runs under,
    resolved once."""
    from davar.grading.kernels import Kernels
    from davar.intake import inbox
    from davar.run import sandbox

    subs = inbox.collect(Path(config.getoption("submission")), assignment)
    if len(subs) != 1:
        raise DavarError("submission_not_one", count=len(subs))
    level = sandbox.choose_level(config.getoption("sandbox"), allow_weak=config.getoption("allow_weak_sandbox"))
    return Kernels(subs[0], assignment, level=level, profile=config.getoption("profile"), data_root=data_root)


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
    """Fresh inputs every run, kept with the test's result (`TestResult.seed`) so a TA can replay it.  A regrade
    draws what the grading it repeats drew: the same files, run before either drew (`davar.grading.batch`), so
    no notebook can have learnt the inputs, and the regrade asks what that grading asked (`Replay`)."""
    session = request.config.stash.get(session_key, None)
    seed = session.previous_seed(request.node) if session is not None else None
    if seed is None:
        seed = secrets.randbits(32)
    request.node.stash[_seed] = seed
    request.node.user_properties.append(("rng_seed", seed))  # in pytest's --junitxml too
    return np.random.default_rng(seed)


# --------------------------------------------------------------------------- collector


class GradingSession:
    """The collector: each test's outcome, recorded as it finishes, and at the end the submission's result.

    `davar grade` hands it the assignment and the submission's `Kernels`; under `pytest --submission`
    both come at collection, when the graders show which assignment they grade."""

    def __init__(self, assignment: Assignment | None = None, kernels: Kernels | None = None, *,
                 data_root: Path | None = None, public_only: bool = False, result_path: str | None = None):
        self._assignment, self.kernels, self.data_root = assignment, kernels, data_root
        self.public_only, self.result_path = public_only, result_path
        self.tests: dict[str, tuple[str, TestResult]] = {}  # nodeid -> (question, its result), in the order run
        self.harness_error: BaseException | None = None  # davar itself could not run the submission: no result
        self.result: SubmissionResult | None = None
        self._last: dict[str, str] = {}  # notebook -> nodeid of the last test that needs it
        self.hidden: tuple[float, ...] = ()  # the points of each hidden test a public-only run left out

    @property
    def assignment(self) -> Assignment:
        if self._assignment is None:
            raise AssignmentError("graders_without_assignment")
        return self._assignment

    def _notebook_of(self, item: pytest.Item) -> str:
        return self.assignment.question(item.stash[_grading].question).notebook

    def sub(self, item: pytest.Item) -> Sub:
        """The `sub` of `item`'s notebook.  A notebook the submission lacks costs only its own tests; a
        failure of davar's own fails every test that needs `sub` after it."""
        notebook = self._notebook_of(item)
        if self.harness_error is not None:
            raise self.harness_error
        assert self.kernels is not None  # made at collection, or its failure is the harness error
        try:
            return self.kernels.sub(notebook)
        except NotebookMissing:
            raise
        except Exception as e:
            self.harness_error = e
            raise

    def previous_seed(self, item: pytest.Item) -> int | None:
        """The seed `item`'s `rng` drew when this submission was last graded, on a regrade."""
        previous = self.kernels.previous if self.kernels is not None else None
        if previous is None:
            return None
        question, test_id = item.stash[_grading].question, item.name.removeprefix("test_")
        return next((t.seed for q in previous.questions if q.id == question for t in q.tests if t.id == test_id), None)

    # -- collection

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]):
        if self._assignment is None and items:  # `pytest --submission`: the graders name their assignment
            self._assignment = _assignment_above(Path(items[0].path))
            try:
                self.kernels = _kernels_from_options(config, self._assignment, self.data_root)
            except Exception as e:  # reported by every test that needs `sub`, as a notebook davar cannot run
                self.harness_error = e
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
        self.hidden = tuple(item.stash[_grading].points for item in drop)  # announced, not shown (a check)
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
        # One notebook's tests together, in the assignment's order: one kernel up at a time; its hidden tests
        # after its public ones, so that these meet the kernel as a student's `davar check` (public tests only)
        # leaves it: check and grade give the public tests the same outcomes from the same state.
        items.sort(key=lambda item: (self.assignment.notebooks.index(self._notebook_of(item)),
                                     item.stash[_grading].hidden))
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
        timeout = (self.kernels.timeout(self._notebook_of(item), item.stash[_grading].timeout)
                   if self.kernels is not None else contextlib.nullcontext())
        try:
            with timeout:
                return (yield)
        finally:
            api.current.reset(token)

    def pytest_runtest_logfinish(self, nodeid: str, location):
        for notebook, last in self._last.items():
            if last == nodeid and self.kernels is not None:
                self.kernels.close(notebook)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        if call.when == "call" or (call.when == "setup" and report.outcome != "passed"):
            self._record(item, call, report)
            if self.kernels is not None and (self.kernels.missed or self.kernels.incomplete is not None):
                item.session.shouldstop = "this grade cannot stand"  # graded again (`davar.grading.grade`)
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
            key, values = self._why_missing(item, exc) if isinstance(exc, MissingName) else (exc.key, exc.values)
            outcome = "not_run" if key == "missing_name_not_run" else "failed"  # its cell never ran
            if not any(m.key in (exc.key, key) for m in messages):
                messages.append(verdict.message(key, values))
        elif isinstance(exc, AssertionError):
            outcome = "failed"
            detail = str(exc).splitlines()[0][:300] if str(exc) else ""
            messages.append(verdict.message("assertion", {"detail": detail}))
        else:
            outcome = "error"
            messages.append(verdict.message("grader_error", {"error": f"{type(exc).__name__}: {exc}"[:300]}))
        test_id = item.name.removeprefix("test_")
        self.tests[item.nodeid] = (grading.question, TestResult(
            id=test_id, title=self._title(grading, test_id), outcome=outcome, points=round(max_points * fraction, 6),
            max_points=max_points, hidden=grading.hidden, duration_s=round(call.duration, 3),
            messages=tuple(messages), flagged=verdict.flagged, seed=item.stash.get(_seed, None)))

    def _why_missing(self, item: pytest.Item, exc: MissingName) -> tuple[str, dict[str, Any]]:
        """A name the notebook does not define, pointed at the cell that raised before it could (if one did)."""
        name = str(exc.values["name"]).split(".")[0]
        try:
            execution = self.sub(item).execution
        except Exception:  # no kernel: the test's own failure says why
            return exc.key, exc.values
        for cell in execution.cells:
            if cell.status == "error" and name in cell.defines:
                return "missing_name_raised", {**exc.values, "notebook": execution.notebook, "cell": cell.index + 1,
                                               "error": f"{cell.error_name}: {cell.error_value}"[:300]}
            if cell.status in ("not_run", "timeout") and name in cell.defines and execution.failing_cell is not None:
                return "missing_name_not_run", {**exc.values, "notebook": execution.notebook,
                                                "cell": cell.index + 1, "stopped": execution.failing_cell + 1,
                                                "error": f"{execution.error_name}: {execution.error_value}"[:300]
                                                if execution.error_name else execution.reason}
        if self.kernels is not None and (close := _near_miss(name, self.kernels.submission.notebooks.get(
                execution.notebook))):
            return "missing_name_close", {**exc.values, "close": close}
        return exc.key, exc.values

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

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int):
        kernels = self.kernels
        if kernels is None:  # `pytest --submission` collected nothing, or could not resolve it
            return
        kernels.close_all()
        if self.harness_error is None:
            self.result = build_result(
                self.assignment, kernels.submission, self.tests.values(), kernels.ran, level=kernels.level,
                profile=kernels.profile, public_only=self.public_only, notes=kernels.notes,
                sandboxes_before=kernels.sandboxes_before, hidden=self.hidden)
            if self.result_path:
                Path(self.result_path).write_text(self.result.to_json(), encoding="utf-8")

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        if self.result is not None:
            r = self.result
            terminalreporter.write_sep("=", f"davar: {r.student} {r.status} {r.score:g}/{r.max_score:g}")
