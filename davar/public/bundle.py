"""`davar export-public ASSIGNMENT OUT/`: the student bundle, everything `davar check` needs and nothing a
student must not see.

The bundle is a course folder (a `davar.toml`) and a pip project at once:

    OUT/pyproject.toml         `pip install OUT/` installs the engine below and the `davar` command
    OUT/davar/                 the engine, copied from the davar that exported it
    OUT/davar.toml             marks OUT/ as a course: `davar --course OUT check ID NOTEBOOK`
    OUT/graders/<id>/          assignment.toml without the official key, messages.toml, the course's
                               modules (stand-in data generators, answer readers) and the public graders
    OUT/withheld.toml          the tests only the TA's grading runs: names, questions and points, no content
    OUT/constraints.txt        the versions the TA grades with, of everything `pip install OUT/` installs: a
                               submission repository's CI installs those (`davar init-ci`), so that it runs
                               what the TA's grading runs and breaks on no release made since
    OUT/<notebook>.ipynb       the templates students start from (`davar assign` writes them)
    OUT/README.md

What is left out, and why.  A grader file keeps only its public tests: a test marked
`davar(hidden=True)` (or in a module whose `pytestmark` is), a test that needs the `reference` fixture
(directly or through a fixture of its module), and a test that reads a question's answers
(`ANSWER_PARAMS`) are cut from the source with their decorators and the comment block right above
them, and then every top-level helper, fixture or class that nothing else left names, until none is.
Nothing of `reference/<id>/` (the reference implementations, the reference notebooks, the masters),
`submissions/` or `data/` is copied; the stand-in data is built by the generator on the student's
machine (`davar data`), hidden stand-in included, which holds no real data.  `assignment.toml` is
written from its parsed tables without `[key]`, the questions' `ANSWER_PARAMS` and comments (the
comments of a TA's file may discuss the answers).
`tests/public/test_bundle.py` checks the result by content for every shipped assignment.
"""

from __future__ import annotations

import ast
import re
import shutil
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from string import Template
from typing import Any

import tomli_w
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import davar
from davar.assignment import COURSE_MARKER, Assignment
from davar.authoring import masters
from davar.errors import AuthoringError

TEMPLATES = Path(__file__).parent / "templates"
WITHHELD = "withheld.toml"
CONSTRAINTS = "constraints.txt"
#: Fixtures whose tests the bundle cannot run: the reference implementations stay with the TA.
TA_ONLY_FIXTURES = frozenset({"reference"})
#: A question's keys that hold the TA's answers (a choice question's `answers`, true/false `statements`): left
#: out of the bundle's assignment.toml, and a test that reads one is left to the TA's grading.
ANSWER_PARAMS = frozenset({"answers", "statements"})
#: pip names of the frameworks an assignment imports for the student (`frameworks = [...]`).
FRAMEWORK_PACKAGES = {"torch": "torch", "tensorflow": "tensorflow-cpu"}
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclass(frozen=True, slots=True, kw_only=True)
class Withheld:
    """A test the bundle leaves out: `reason` is "hidden", "reference" (it needs the reference implementations)
    or "answer_key" (it reads the TA's answers); `points` per instance when the marker writes a number, and
    `instances` when its `parametrize` lists are literals (None where either cannot be read from the source)."""

    file: str
    name: str
    question: str
    points: float | None
    instances: int | None
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Bundle:
    out: Path
    assignment: str
    notebooks: tuple[Path, ...]
    withheld: tuple[Withheld, ...]


def export(a: Assignment, out: Path) -> Bundle:
    """Write the bundle of `a` into `out` (created; it must be empty or absent)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise AuthoringError("public_out_not_empty", out=str(out))
    graders = out / "graders" / a.id
    graders.mkdir(parents=True)
    withheld: list[Withheld] = []
    for path in sorted(a.directory.iterdir()):
        if path.name.startswith((".", "__")):
            continue
        if path.is_dir():  # a course package; any other folder (a TA's notes, data) stays
            if (path / "__init__.py").is_file():
                shutil.copytree(path, graders / path.name, ignore=IGNORED)
        elif path.name == "assignment.toml":
            (graders / path.name).write_text(public_config(path.read_text("utf-8")), "utf-8")
        elif path.name.startswith("test_") and path.suffix == ".py":
            text, cut = public_graders(path.read_text("utf-8"), file=path.name)
            withheld += cut
            if _has_tests(text):
                (graders / path.name).write_text(text, "utf-8")
        elif path.suffix == ".py" or path.name == "messages.toml":  # course modules; no data file of the TA's
            shutil.copy2(path, graders / path.name)
    notebooks = _templates(a, out)
    shutil.copytree(Path(davar.__file__).parent, out / "davar", ignore=IGNORED)
    requires = engine_requirements() + notebook_packages(a)
    for template, target in (("davar.toml", COURSE_MARKER), ("pyproject.toml", "pyproject.toml"),
                             ("README.md", "README.md")):
        (out / target).write_text(_render(template, a, requires), "utf-8")
    (out / WITHHELD).write_text(_withheld_toml(withheld), "utf-8")
    (out / CONSTRAINTS).write_text(_constraints(requires), "utf-8")
    return Bundle(out=out, assignment=a.id, notebooks=notebooks, withheld=tuple(withheld))


def public_config(text: str) -> str:
    """`assignment.toml` without the official answer key, the questions' answers and comments."""
    spec = tomllib.loads(text)
    spec.pop("key", None)
    for question in spec.get("questions", []):
        for name in ANSWER_PARAMS:
            question.pop(name, None)
    header = "# The public part of the assignment's configuration (davar export-public).\n"
    return header + tomli_w.dumps(spec)


def public_graders(source: str, *, file: str) -> tuple[str, list[Withheld]]:
    """A grader module's source with its hidden and reference-needing tests cut (module docstring), and
    what was cut."""
    tree = ast.parse(source)
    defs: dict[str, Definition] = {n.name: n for n in tree.body
                                   if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    constants = _constants(tree)
    module_mark = _module_mark(tree, constants)
    ta_only = _ta_only_fixtures(defs)
    cut: dict[str, Definition] = {}
    withheld = []
    for name, node in defs.items():
        if not name.startswith("test") or isinstance(node, ast.ClassDef):
            continue
        mark = _davar_mark(node.decorator_list, constants) or {}
        hidden = bool(mark.get("hidden", module_mark.get("hidden", False)))
        needs = set(_params(node)) & ta_only
        answers = _reads_answers(node)
        if hidden or needs or answers:
            cut[name] = node
            points = mark.get("points", module_mark.get("points"))
            withheld.append(Withheld(file=file, name=name, question=str(mark.get("question", module_mark.get(
                "question", ""))), points=float(points) if isinstance(points, int | float) else None,
                instances=_instances(node, constants),
                reason="hidden" if hidden else "reference" if needs else "answer_key"))
    while True:  # helpers, fixtures and classes nothing else left names
        kept = [n for n in tree.body if getattr(n, "name", None) not in cut]
        dead = [name for name, node in defs.items() if name not in cut and not name.startswith("test")
                and name not in _names_used([n for n in kept if n is not node])]
        if not dead:
            break
        cut.update((name, defs[name]) for name in dead)
    return _without(source, [defs[name] for name in cut]), withheld


def _instances(node: Definition, constants: dict[str, Any]) -> int | None:
    """How many tests pytest makes of `node`: the product of its literal `parametrize` lists' lengths."""
    count = 1
    for d in node.decorator_list:
        if isinstance(d, ast.Call) and ast.unparse(d.func).endswith("mark.parametrize"):
            values = _value(d.args[1], constants) if len(d.args) > 1 else None
            if not isinstance(values, list | tuple):
                return None
            count *= len(values)
    return count


def _reads_answers(node: Definition) -> bool:
    """Whether a test reads one of `ANSWER_PARAMS` (`params(P).answers`, `extra["answers"]`)."""
    return any((isinstance(n, ast.Attribute) and n.attr in ANSWER_PARAMS)
               or (isinstance(n, ast.Constant) and n.value in ANSWER_PARAMS) for n in ast.walk(node))


def _constants(tree: ast.Module) -> dict[str, Any]:
    """The module's top-level `NAME = literal` assignments (`Q = "5"`, which markers name)."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return found


def _module_mark(tree: ast.Module, constants: dict[str, Any]) -> dict[str, Any]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            values = node.value.elts if isinstance(node.value, ast.List | ast.Tuple) else [node.value]
            return _davar_mark(values, constants) or {}
    return {}


def _davar_mark(decorators: list[ast.expr], constants: dict[str, Any]) -> dict[str, Any] | None:
    """The keyword values of a `pytest.mark.davar(...)` among `decorators` (a module constant's value; another
    expression as its source)."""
    for d in decorators:
        if isinstance(d, ast.Call) and ast.unparse(d.func).endswith("mark.davar"):
            values: dict[str, Any] = {}
            if d.args:
                values["question"] = _value(d.args[0], constants)
            values.update({k.arg: _value(k.value, constants) for k in d.keywords if k.arg})
            return values
    return None


def _value(node: ast.expr, constants: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)


def _params(node: ast.AST) -> list[str]:
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return []
    return [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]


def _ta_only_fixtures(defs: dict[str, Definition]) -> set[str]:
    """`TA_ONLY_FIXTURES` and every fixture of the module that needs one of them, however indirectly."""
    fixtures = {name: set(_params(node)) for name, node in defs.items()
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and any("fixture" in ast.unparse(d) for d in node.decorator_list)}
    found = set(TA_ONLY_FIXTURES)
    while grown := {name for name, needs in fixtures.items() if needs & found} - found:
        found |= grown
    return found


def _names_used(nodes: list[ast.stmt]) -> set[str]:
    """Every name the statements read, and every parameter (a fixture is requested by its name)."""
    used: set[str] = set()
    for top in nodes:
        for node in ast.walk(top):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                used.add(node.value)  # usefixtures("name"), getfixturevalue("name")
            used.update(_params(node))
    return used


def _without(source: str, nodes: list[Definition]) -> str:
    """`source` without the lines of `nodes` (decorators and the comment block right above included)."""
    lines = source.splitlines(keepends=True)
    drop: set[int] = set()
    for node in nodes:
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        while first > 0 and lines[first - 1].lstrip().startswith("#"):
            first -= 1
        drop.update(range(first, node.end_lineno or node.lineno))
    text = "".join(line for i, line in enumerate(lines) if i not in drop)
    return re.sub(r"\n{4,}", "\n\n\n", text)


def _has_tests(source: str) -> bool:
    return any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test")
               for n in ast.parse(source).body)


def _templates(a: Assignment, out: Path) -> tuple[Path, ...]:
    """The notebooks students start from, as `davar assign` wrote them (`reference/<id>/<stem>.template.ipynb`),
    refused when they are missing or older than their masters (the course is not written to)."""
    sources = {name: a.reference_dir / f"{Path(name).stem}.template.ipynb" for name in a.notebooks}
    stale = set()
    if all((a.reference_dir / f"{Path(name).stem}.py").is_file() for name in a.notebooks):  # masters to compare with
        stale = {w.path for w in masters.assign(a, check=True) if w.changed}
    for name, source in sources.items():
        if not source.is_file() or source in stale:
            raise AuthoringError("public_template_missing", assignment=a.id, template=str(source), notebook=name)
        shutil.copy2(source, out / name)
    return tuple(out / name for name in a.notebooks)


def _render(name: str, a: Assignment, requires: list[str]) -> str:
    values = {"id": a.id, "title": a.title.get("en", a.id), "version": metadata.version("davar"),
              "dependencies": "\n".join(f"  {_toml_string(r)}," for r in requires),
              "notebooks": ", ".join(a.notebooks), "notebook": a.notebooks[0]}
    return Template((TEMPLATES / f"bundle.{name}").read_text("utf-8")).substitute(values)


def engine_requirements() -> list[str]:
    """davar's own dependencies: its checkout's pyproject.toml when it runs from one (an editable install's
    metadata is as old as the install), else its installed metadata."""
    checkout = Path(davar.__file__).parent.parent / "pyproject.toml"
    if checkout.is_file():
        project = tomllib.loads(checkout.read_text("utf-8")).get("project", {})
        if project.get("name") == "davar":
            return list(project.get("dependencies", []))
    return [r for r in metadata.requires("davar") or [] if "extra ==" not in r]


def notebook_packages(a: Assignment) -> list[str]:
    """What the assignment's notebooks import beyond davar's own dependencies: its frameworks and the
    packages of its `[environment]` (the bundle depends on them, so `pip install OUT/` is the whole setup)."""
    return sorted({*(FRAMEWORK_PACKAGES.get(f, f) for f in a.frameworks), *a.environment.packages})


def pinned(requirements: list[str]) -> dict[str, str]:
    """The versions this environment has of `requirements` and of everything they require in turn (markers and
    extras followed), by normalised name; a local label (torch's `+cpu`) dropped, as the index a machine installs
    from decides the build.  What is not installed here is left out."""
    found: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [r for r in map(Requirement, requirements) if not r.marker or r.marker.evaluate()]
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            continue
        found[key[0]] = Version(dist.version).public
        for sub in map(Requirement, dist.requires or []):
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in req.extras or {""}):
                todo.append(sub)
    return found


def _constraints(requirements: list[str]) -> str:
    header = ("# The versions the TA grades with (davar export-public): `pip install -c constraints.txt ./` installs\n"
              "# them, as the CI of `davar init-ci` does.\n")
    return header + "".join(f"{name}=={version}\n" for name, version in sorted(pinned(requirements).items()))


def _toml_string(value: str) -> str:
    return tomli_w.dumps({"v": value})[4:].strip()


def _withheld_toml(withheld: list[Withheld]) -> str:
    header = ("# The tests only the TA's grading runs (hidden, or checked against the reference): what they are\n"
              "# called and what they are worth, not what they check.\n")
    tests = [{k: v for k, v in (("file", w.file), ("name", w.name), ("question", w.question),
                                ("points", w.points), ("instances", w.instances),
                                ("reason", w.reason)) if v is not None} for w in withheld]
    return header + tomli_w.dumps({"tests": tests})
