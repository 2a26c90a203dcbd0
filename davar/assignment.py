"""An assignment as specified in `graders/<id>/assignment.toml`, parsed and checked at load."""

from __future__ import annotations

import ast
import dataclasses
import difflib
import importlib.util
import os
import re
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, TypeVar

import dacite
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from davar import late
from davar.errors import AssignmentError
from davar.late import LatePolicy

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """What one notebook run may use (`[limits]`, a profile's `limits`): the sandbox enforces the
    first six (which of them a level does not: `davar.run.sandbox.Sandbox.not_enforced`), the runner
    the timeouts and output, the bridge the reply size."""

    memory_mb: int = 4096  # cgroup memory limit of the kernel
    # cgroup pids limit (processes and threads); RLIMIT_NPROC is a backstop above it (sandbox.nproc_backstop)
    pids: int = 256
    # CPU seconds of the run, all its processes and threads together (the cgroup's count, read twice a second while
    # the notebook runs; 'cpu_limit' past it); each process's RLIMIT_CPU is a backstop above it (sandbox.cpu_backstop)
    cpu_s: int = 1800
    file_size_mb: int = 512  # RLIMIT_FSIZE
    # What the run folder (working folder, /tmp, exchange) may hold beyond the submission's own files:
    # `strict` makes it a size-capped file system (davar/run/quota.py).  The shipped samples' run folders
    # held 0.2–0.6 MB at the end (measured); 2 GB leaves room for a real dataset unzipped into /content.
    disk_mb: int = 2048
    tmp_mb: int = 1024  # `basic`'s private /tmp (a tmpfs; `strict`'s /tmp is within `disk_mb`) and /dev/shm's size
    cell_timeout_s: int = 300
    total_timeout_s: int = 900
    output_mb: int = 16
    reply_mb: int = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class RubricItem:
    """One item of a manual question's rubric (`[[questions.rubric]]`): what the TA looks for, its
    points (negative for a deduction), shown in `davar review` and applied there with one key."""

    text: dict[str, str]  # {fa, en}
    points: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    id: str
    points: float
    title: dict[str, str]
    manual: bool = False
    bonus: bool = False  # extra credit: its points are earned on top of the assignment's maximum
    notebook: str = ""  # the notebook its graders probe (each notebook runs in its own kernel)
    thresholds: dict[str, float] = field(default_factory=dict)
    # Partial credit below `thresholds.accuracy`: [floor, fraction] pairs (davar.award_accuracy).
    partial: tuple[tuple[float, float], ...] = ()
    tests: dict[str, dict[str, str]] = field(default_factory=dict)  # test id -> {fa, en} title
    extra: dict[str, Any] = field(default_factory=dict)  # the question's own keys: read them with `params`
    # A manual question's rubric, and the cells of its answer (cell ids of the template: each with the
    # cells a student added after it, up to the template's next cell), both for `davar review`.
    rubric: tuple[RubricItem, ...] = ()
    cells: tuple[str, ...] = ()

    def params(self, cls: type[T]) -> T:
        """The question's own keys in assignment.toml as the grader's dataclass `cls`, checked against
        its field types (a list becomes a tuple where the field says so); keys `cls` does not name are
        other graders' business.  AssignmentError names the question and the key that does not fit.

            @dataclass(frozen=True)
            class Q4:
                chance_margin: float
                ignore_config: tuple[str, ...] = ()

            params = assignment.question("4").params(Q4)
        """
        try:
            return dacite.from_dict(cls, self.extra, config=dacite.Config(cast=[tuple], strict=False))
        except dacite.DaciteError as e:
            raise AssignmentError("question_params_invalid", question=self.id, error=str(e)) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """`[profiles.<name>]`: an epoch profile (`standin` for the offline stand-in data, `real`): the
    papermill parameters injected into every notebook and the `[limits]` it overrides."""

    parameters: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """`[datasets.<name>]`: `standin = "module:function"`, a course module in `graders/<id>/` whose
    function builds the offline stand-in under the data root (public/ and hidden/)."""

    standin: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Visibility:
    """`[visibility]`: whether reports show the hidden tests' names and messages to students."""

    release_hidden: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Intake:
    """`[intake]` (davar/intake/inbox.py): how an LMS export is read."""

    # A regex with named groups `id` (required) and `name`, matched against each student's folder or
    # file name in an export; empty: the folder name is the student.
    student_pattern: str = ""
    max_unpacked_mb: int = 4096  # a whole course's export, nested zips included
    max_files: int = 20_000
    # What of a student's files besides the notebooks enters the sandbox: globs matched against each file's
    # path in the submission from the right, case not counting (`*.csv` at any depth, `data/*.txt`).  By
    # default nothing does, so the run trains the model: saved weights stay out (davar/intake/inbox.py).
    allow: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Environment:
    """`[environment]`: the packages beyond davar's own and the frameworks that the assignment's notebooks
    may import.  Installed into the grading environment at setup (`davar requirements`, `make venv`),
    never while grading; `davar audit-key` fails while one is missing or does not import."""

    packages: tuple[str, ...] = ()  # pip requirement strings: "tqdm", "opencv-python-headless>=4.8"
    # A package's import name where it is not found from the installed package's files (checked by importing
    # it): {"opencv-python-headless" = "cv2"}.
    imports: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment:
    id: str
    directory: Path  # graders/<id>
    title: dict[str, str]
    course: dict[str, str]
    notebooks: tuple[str, ...]
    frameworks: tuple[str, ...]
    questions: tuple[Question, ...]
    deadline: str = ""
    timezone: str = "Asia/Tehran"
    seed: int = 42
    # A student's cell that kills the kernel or runs past `cell_timeout_s`: run the notebook once more without
    # it (davar.grading.kernels), so only the tests that need what it makes lose their points.
    rerun_without_fatal_cell: bool = True
    # A student's cell that raises: "continue" runs every later cell all the same (as Otter and nbgrader do,
    # so an error in a plotting cell costs nothing defined after it); "stop" ends the run there.
    on_cell_error: Literal["continue", "stop"] = "continue"
    # `[names]`: other names a notebook may give what the graders ask for (`seq_model = ["model_seq", ...]`),
    # tried in order when the notebook lacks the name itself (davar.probe.bridge.Sub).
    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    base_limits: Limits = Limits()  # `[limits]`; `limits(profile)` applies a profile's overrides
    profiles: dict[str, Profile] = field(default_factory=dict)
    datasets: dict[str, Dataset] = field(default_factory=dict)
    key: dict[str, Any] = field(default_factory=dict)  # the official answer key, as written (mistakes included)
    late: LatePolicy = LatePolicy()  # `[late]`, validated (davar/late.py)
    # `[data_map]`: where Colab/Kaggle notebooks look for the data -> a file or folder of public/.  Keys
    # starting with "/" are paths (mounted read-only there); others are URLs or Drive ids (downloads).
    data_map: dict[str, str] = field(default_factory=dict)
    visibility: Visibility = Visibility()
    intake: Intake = Intake()
    environment: Environment = Environment()
    # `graders/<id>/messages.toml`: the course's own fa/en messages, looked up before the engine's.
    messages: dict[str, Any] = field(default_factory=dict)

    @property
    def reference_dir(self) -> Path:
        """`reference/<id>/`: the reference solution notebooks and `reference.py`."""
        return self.directory.parent.parent / "reference" / self.id

    def reference_module(self) -> ModuleType:
        """`reference/<id>/reference.py`, imported once per process (trusted course code)."""
        name = "davar_reference_" + self.id.replace("-", "_")
        if name not in sys.modules:
            path = self.reference_dir / "reference.py"
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None or not path.is_file():
                raise AssignmentError("reference_module_missing", assignment=self.id, path=str(path))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules[name] = module
        return sys.modules[name]

    def grader_imports(self) -> tuple[str, ...]:
        """The installed third-party modules the graders (`graders/<id>/*.py`) and `reference.py` import, as their
        import statements name them, in a function or not (read, not run): `torch`, `sklearn.datasets`.  Not the
        standard library, davar, or the course's own modules."""
        folders = [folder for folder in (self.directory, self.reference_dir) if folder.is_dir()]
        local = {p.stem for folder in folders for p in folder.iterdir() if p.suffix == ".py" or p.is_dir()}
        names: dict[str, None] = {}  # each once
        for path in [*sorted(self.directory.glob("*.py")), self.reference_dir / "reference.py"]:
            try:
                tree = ast.parse(path.read_bytes(), str(path))
            except (OSError, SyntaxError, ValueError):  # none, or a grader's own error: pytest reports it
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(dict.fromkeys(alias.name for alias in node.names))
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names[node.module] = None
        return tuple(name for name in names if (top := name.partition(".")[0]) not in sys.stdlib_module_names
                     and top not in local and top != "davar" and importlib.util.find_spec(top) is not None)

    def question(self, qid: str) -> Question:
        for q in self.questions:
            if q.id == qid:
                return q
        raise AssignmentError("question_unknown", assignment=self.id, question=qid,
                             questions=", ".join(q.id for q in self.questions) or "—")

    def limits(self, profile: str) -> Limits:
        """`[limits]` with the profile's overrides (a profile the assignment does not define has none)."""
        return dataclasses.replace(self.base_limits, **self.profiles.get(profile, Profile()).limits)

    def profile_parameters(self, profile: str) -> dict[str, Any]:
        return dict(self.profiles.get(profile, Profile()).parameters)

    def data_root(self, data_root: Path | None = None) -> Path:
        """Where this assignment's datasets live: --data, $DAVAR_DATA, or the repo's `data/`."""
        root = data_root or os.environ.get("DAVAR_DATA") or self.directory.parent.parent / "data"
        return Path(root) / self.id

    def public_data(self, data_root: Path | None = None) -> Path:
        return self.data_root(data_root) / "public"

    def hidden_data(self, data_root: Path | None = None) -> Path:
        return self.data_root(data_root) / "hidden"


def load(directory: Path) -> Assignment:
    """Parse and check `graders/<id>/assignment.toml` (and `messages.toml`): every table becomes its typed
    value here, so a typo in a key or a value of the wrong type is an AssignmentError naming the table at
    load, not a surprise in the middle of a batch."""
    path = Path(directory) / "assignment.toml"
    try:
        spec = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise AssignmentError("toml_unreadable", path=str(path), error=str(e)) from None
    notebooks = tuple(spec.get("notebooks", ()))
    known = {"id", "points", "title", "manual", "bonus", "thresholds", "partial", "tests", "notebook", "rubric",
             "cells"}
    questions = tuple(
        Question(id=str(q["id"]), points=float(q["points"]), title=q["title"], manual=q.get("manual", False),
                 bonus=q.get("bonus", False), thresholds=q.get("thresholds", {}), tests=q.get("tests", {}),
                 partial=tuple((float(floor), float(fraction)) for floor, fraction in q.get("partial", ())),
                 notebook=q.get("notebook", notebooks[0] if notebooks else ""),
                 rubric=tuple(_rubric_item(item, f"{path} [[questions.rubric]] of {q['id']}")
                              for item in q.get("rubric", ())),
                 cells=tuple(str(c) for c in q.get("cells", ())),
                 extra={k: v for k, v in q.items() if k not in known})
        for q in spec.get("questions", [])
    )
    ids = [q.id for q in questions]
    if repeated := sorted({i for i in ids if ids.count(i) > 1}):
        raise AssignmentError("assignment_duplicate_questions", path=str(path), questions=", ".join(repeated))
    if not notebooks or any(q.notebook not in notebooks for q in questions):
        raise AssignmentError("assignment_question_notebook", path=str(path), notebooks=", ".join(notebooks) or "—")
    where = f"{path}"
    base_limits = _typed(Limits, spec.get("limits", {}), f"{where} [limits]")
    profiles = {}
    for name, table in spec.get("profiles", {}).items():
        overrides = table.get("limits", {})
        _typed(Limits, {**dataclasses.asdict(base_limits), **overrides}, f"{where} [profiles.{name}] limits")
        profiles[name] = Profile(parameters={k: v for k, v in table.items() if k != "limits"}, limits=overrides)
    intake = _intake(spec.get("intake", {}), where)
    environment = _environment(spec.get("environment", {}), where)
    rerun = spec.get("rerun_without_fatal_cell", True)
    if not isinstance(rerun, bool):
        raise AssignmentError("assignment_table_invalid", where=f"{where} rerun_without_fatal_cell",
                              error=f"true or false, not {rerun!r}")
    on_cell_error = spec.get("on_cell_error", "continue")
    if on_cell_error not in ("continue", "stop"):
        raise AssignmentError("assignment_table_invalid", where=f"{where} on_cell_error",
                              error=f'"continue" or "stop", not {on_cell_error!r}')
    return Assignment(
        id=spec["id"], directory=Path(directory).resolve(), title=spec["title"], course=spec.get("course", {}),
        notebooks=notebooks, frameworks=tuple(spec.get("frameworks", ())), questions=questions,
        deadline=spec.get("deadline", ""), timezone=spec.get("timezone", "Asia/Tehran"), seed=spec.get("seed", 42),
        rerun_without_fatal_cell=rerun, on_cell_error=on_cell_error,
        names=_names(spec.get("names", {}), f"{where} [names]"),
        base_limits=base_limits, profiles=profiles,
        datasets={name: _typed(Dataset, table, f"{where} [datasets.{name}]")
                  for name, table in spec.get("datasets", {}).items()},
        key=spec.get("key", {}), late=late.policy(spec.get("late", {}), assignment=spec["id"]),
        data_map=_typed(dict[str, str], spec.get("data_map", {}), f"{where} [data_map]"),
        visibility=_typed(Visibility, spec.get("visibility", {}), f"{where} [visibility]"), intake=intake,
        environment=environment,
        messages=_messages(Path(directory) / "messages.toml"))


def _typed(cls: Any, table: Any, where: str) -> Any:
    """`table` as `cls`, every key known and of its field's type (dacite, strict)."""
    try:
        if cls == dict[str, str]:
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                raise dacite.DaciteError("every value must be a string")
            return dict(table)
        return dacite.from_dict(cls, table, config=dacite.Config(strict=True))
    except dacite.DaciteError as e:
        raise AssignmentError("assignment_table_invalid", where=where, error=str(e)) from None


def _rubric_item(table: Any, where: str) -> RubricItem:
    """A rubric item, its points an integer or a decimal in the TOML."""
    if isinstance(table, dict) and isinstance(table.get("points"), int) and not isinstance(table["points"], bool):
        table = {**table, "points": float(table["points"])}
    item: RubricItem = _typed(RubricItem, table, where)
    if set(item.text) != {"fa", "en"}:
        raise AssignmentError("assignment_table_invalid", where=where, error="text needs fa and en")
    return item


def _names(table: Any, where: str) -> dict[str, tuple[str, ...]]:
    """`[names]`: each name the graders use -> the other Python names a notebook may give it."""
    if not isinstance(table, dict) or not all(
            isinstance(v, list) and all(isinstance(n, str) and n.isidentifier() for n in v) for v in table.values()):
        raise AssignmentError("assignment_table_invalid", where=where,
                              error="each name maps to a list of Python names, e.g. seq_model = [\"model_seq\"]")
    return {str(k): tuple(v) for k, v in table.items()}


def _intake(table: Any, where: str) -> Intake:
    """`[intake]`, its student pattern compiled and its `allow` globs checked (relative, no "..")."""
    intake = _typed(Intake, _as_tuples(table, ("allow",), f"{where} [intake]"), f"{where} [intake]")
    _check_student_pattern(intake.student_pattern, where)
    for glob in intake.allow:
        if not glob.strip() or glob.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", glob):
            raise AssignmentError("assignment_table_invalid", where=f"{where} [intake] allow",
                                  error=f"a glob relative to the submission's folder, not {glob!r}")
    return intake


def _environment(table: Any, where: str) -> Environment:
    """`[environment]`: each package a pip requirement string (PEP 508), each import named for a package listed."""
    env = _typed(Environment, _as_tuples(table, ("packages",), f"{where} [environment]"), f"{where} [environment]")
    names = set()
    for spec in env.packages:
        try:
            names.add(canonicalize_name(Requirement(spec).name))
        except InvalidRequirement as e:
            raise AssignmentError("assignment_table_invalid", where=f"{where} [environment] packages",
                                  error=f"{spec!r}: {e}") from None
    if unknown := sorted(k for k in env.imports if canonicalize_name(k) not in names):
        raise AssignmentError("assignment_table_invalid", where=f"{where} [environment] imports",
                              error=f"not in packages: {', '.join(unknown)}")
    return env


def _as_tuples(table: Any, keys: tuple[str, ...], where: str) -> Any:
    """`table` with the lists of strings under `keys` as tuples (TOML has lists; the dataclasses, tuples)."""
    if not isinstance(table, dict):
        return table  # `_typed` says what is wrong
    out = dict(table)
    for key in keys:
        if key in out:
            value = out[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise AssignmentError("assignment_table_invalid", where=f"{where} {key}",
                                      error=f"a list of strings, not {value!r}")
            out[key] = tuple(value)
    return out


def _check_student_pattern(pattern: str, where: str) -> None:
    try:
        compiled = re.compile(pattern) if pattern else None
    except re.error as e:
        raise AssignmentError("student_pattern_invalid", where=where, error=str(e)) from None
    if compiled is not None and "id" not in compiled.groupindex:
        raise AssignmentError("student_pattern_no_id", where=where)


def _messages(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8")) if path.is_file() else {}
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise AssignmentError("toml_unreadable", path=str(path), error=str(e)) from None


@contextmanager
def course_imports(assignment: Assignment) -> Iterator[None]:
    """Make the course's own modules in `graders/<id>/` (its graders, its datasets' stand-in
    generators and loaders) importable by plain name for the duration: `import loaders` finds
    `graders/<id>/loaders.py`.

    On exit every module imported from that folder meanwhile is forgotten: two assignments graded in
    one process never see each other's modules, and the next import reads the files as they are on
    disk then.  Course code lives with the course; the engine only knows where to look."""
    folder = str(assignment.directory)
    path_before, modules_before = list(sys.path), set(sys.modules)
    sys.path.insert(0, folder)
    try:
        yield
    finally:
        sys.path[:] = path_before
        for name in set(sys.modules) - modules_before:
            if (getattr(sys.modules[name], "__file__", None) or "").startswith(folder + os.sep):
                del sys.modules[name]


#: The file that marks a course folder (the one holding graders/, reference/, submissions/, data/), as
#: `.git` marks a repository: davar looks for it from the current folder upward.
COURSE_MARKER = "davar.toml"


def course_root(start: Path | None = None) -> Path:
    """The course davar works on: $DAVAR_COURSE (what `--course` sets), else the nearest folder holding
    `davar.toml`, from `start` (the current folder) upward.  Never a guess: without either it is an
    AssignmentError saying how to name one, so no command reads another course's `assignment.toml`."""
    if explicit := os.environ.get("DAVAR_COURSE"):
        root = Path(explicit).resolve()
        if not (root / COURSE_MARKER).is_file():
            raise AssignmentError("course_not_a_course", root=str(root), marker=COURSE_MARKER)
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / COURSE_MARKER).is_file():
            return folder
    raise AssignmentError("course_not_found", marker=COURSE_MARKER, here=str(here))


def known(root: Path) -> list[str]:
    """The ids of the assignments of the course at `root`."""
    return sorted(p.parent.name for p in (root / "graders").glob("*/assignment.toml"))


def find(name_or_path: str | Path) -> Assignment:
    """An assignment by the path of its folder, or by id in the course's `graders/` (`course_root`).
    An unknown id is an AssignmentError listing the course's assignments, the closest first."""
    p = Path(name_or_path)
    if (p / "assignment.toml").is_file():
        return load(p)
    root = course_root()
    if (root / "graders" / str(name_or_path) / "assignment.toml").is_file():
        return load(root / "graders" / str(name_or_path))
    ids = known(root)
    close = difflib.get_close_matches(str(name_or_path), ids, n=1)
    key = "assignment_unknown" if close else "assignment_unknown_no_match" if ids else "assignment_unknown_empty"
    raise AssignmentError(key, name=str(name_or_path), root=str(root), ids=", ".join(ids),
                          closest=close[0] if close else "")
