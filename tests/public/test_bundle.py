"""`davar export-public`: for every shipped assignment, the student bundle holds no hidden test, nothing of the
reference solution and no answer key, proven by content (no distinctive line of them appears in any file of
the bundle), and what it keeps is runnable (the graders name only what they define or import)."""

import ast
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import davar
from davar import assignment
from davar.errors import AuthoringError
from davar.public import bundle

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "graders").iterdir() if (p / "assignment.toml").is_file())
MIN_LINE = 20  # shorter lines ("return None") are common to any two Python files


def _text(folder: Path) -> str:
    """Every file of `folder` as text; a notebook also as its cells' sources (its JSON escapes quotes)."""
    files = [p for p in sorted(folder.rglob("*")) if p.is_file()]
    return "\n".join([*(p.read_bytes().decode("utf-8", "replace") for p in files),
                      *(_code(p) for p in files if p.suffix == ".ipynb")])


def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if len(line.strip()) >= MIN_LINE}


def _code(notebook: Path) -> str:
    return "\n".join(c.source for c in nbformat.read(notebook, as_version=4).cells)


def _hidden_tests(graders: Path) -> dict[str, str]:
    """Every hidden test's source, read here independently of the exporter: a test function whose
    `pytest.mark.davar(...)` (or its module's `pytestmark`) says `hidden=True`."""
    found = {}
    for path in sorted(graders.glob("test_*.py")):
        source = path.read_text("utf-8")
        tree = ast.parse(source)
        module_hidden = any(isinstance(n, ast.Assign) and "hidden=True" in ast.unparse(n) and "pytestmark" in
                            ast.unparse(n) for n in tree.body)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test") and (module_hidden or any(
                    "hidden=True" in ast.unparse(d) for d in node.decorator_list)):
                found[f"{path.name}::{node.name}"] = ast.get_source_segment(source, node)
    return found


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    made = {}
    for name in ASSIGNMENTS:
        out = tmp_path_factory.mktemp("bundle") / name
        made[name] = bundle.export(assignment.load(ROOT / "graders" / name), out)
    return made


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_no_hidden_test_in_the_bundle(exported, name):
    graders = ROOT / "graders" / name
    text = _text(exported[name].out)
    hidden = _hidden_tests(graders)
    rest = _text(graders)
    for source in hidden.values():
        rest = rest.replace(source, "")
    distinctive = set().union(*map(_lines, hidden.values())) - _lines(rest)
    assert not [test for test, source in hidden.items() if source in text]
    assert not [line for line in distinctive if line in text]
    if hidden:  # the check above is not empty: the hidden tests have lines of their own
        assert distinctive
        assert {t.split("::")[1] for t in hidden} <= {w.name for w in exported[name].withheld if w.reason == "hidden"}


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_nothing_of_the_reference_in_the_bundle(exported, name):
    a = assignment.load(ROOT / "graders" / name)
    out = exported[name].out
    text = _text(out)
    reference = "\n".join([*(p.read_text("utf-8") for p in a.reference_dir.glob("*.py")),  # implementations, masters
                           *(_code(a.reference_dir / n) for n in a.notebooks)])          # the reference solutions
    # what students may see anyway: the engine, the course's modules and graders (its key aside), the templates
    public = "\n".join([*(p.read_text("utf-8") for p in a.directory.iterdir() if p.suffix == ".py"),
                        (a.directory / "messages.toml").read_text("utf-8"), _text(Path(davar.__file__).parent),
                        *(_code(a.reference_dir / f"{Path(n).stem}.template.ipynb") for n in a.notebooks)])
    distinctive = {line for line in _lines(reference) if line not in public}
    assert distinctive  # the solutions and reference implementations have lines of their own
    assert not sorted(line for line in distinctive if line in text)[:5]
    course = [p for p in out.rglob("*") if p.relative_to(out).parts[0] != "davar"]  # the engine has `davar new`'s
    assert not [p for p in course if p.name == "reference.py" or "reference" in p.relative_to(out).parts]
    assert sorted(p.name for p in out.glob("*.ipynb")) == sorted(a.notebooks)
    for n in a.notebooks:  # the notebooks are the templates, byte for byte
        assert (out / n).read_bytes() == (a.reference_dir / f"{Path(n).stem}.template.ipynb").read_bytes()
    assert not (out / "submissions").exists() and not (out / "data").exists()


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_the_bundle_pins_what_it_installs_at_the_versions_the_ta_grades_with(exported, name, read_pins):
    out = exported[name].out
    pins = read_pins(out / bundle.CONSTRAINTS)
    dependencies = tomllib.loads((out / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    assert {canonicalize_name(Requirement(d).name) for d in dependencies} <= set(pins)
    assert len(pins) > 2 * len(dependencies)  # and what they depend on: jupyter_client's pyzmq, pytest's pluggy, ...
    assert pins["pluggy"] == metadata.version("pluggy") and "davar" not in pins
    # the versions `make test` installed this environment with (torch's `+cpu`, the index's build, dropped)
    course = read_pins(ROOT / "constraints.txt")
    assert {n: v for n, v in pins.items() if course.get(n) != v} == {}


def test_pinned_follows_extras_and_markers_and_leaves_out_what_is_not_installed():
    with_extra, without = bundle.pinned(["dask[distributed]"]), bundle.pinned(["dask"])
    assert with_extra["distributed"] == metadata.version("distributed") and "distributed" not in without
    assert set(without) < set(with_extra) and "toolz" in without  # dask's own requirements either way
    assert bundle.pinned(['numpy; python_version < "3"']) == {} == bundle.pinned(["surely-not-installed-here"])
    assert bundle.pinned(["torch"])["torch"] == Version(metadata.version("torch")).public  # no `+cpu`


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_config_without_the_key_and_graders_that_run(exported, name):
    a = assignment.load(ROOT / "graders" / name)
    out = exported[name].out
    shipped = out / "graders" / name
    config = tomllib.loads((shipped / "assignment.toml").read_text("utf-8"))
    assert "key" not in config and "#" not in (shipped / "assignment.toml").read_text("utf-8").split("\n", 1)[1]
    original = (a.directory / "assignment.toml").read_text("utf-8")
    key_table = original.split("\n[key]\n", 1)[1].split("\n[", 1)[0] if "\n[key]\n" in original else ""
    assert bool(key_table) == bool(a.key)
    text = _text(out)
    assert not [line for line in _lines(key_table) if not line.startswith("#") and line in text]
    for q in config["questions"]:  # nor the answers of a choice question
        assert not set(q) & bundle.ANSWER_PARAMS
    loaded = assignment.load(shipped)  # the bundle's own assignment, as `davar check` loads it
    assert [q.id for q in loaded.questions] == [q.id for q in a.questions] and not loaded.key
    assert (out / "davar.toml").is_file() and (out / "davar" / "cli.py").is_file()
    dependencies = tomllib.loads((out / "pyproject.toml").read_text("utf-8"))["project"]["dependencies"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert dependencies == project["dependencies"] + bundle.notebook_packages(a)  # davar's, then the notebooks'
    assert "torch" in bundle.notebook_packages(a) or "torch" not in a.frameworks
    withheld = tomllib.loads((out / bundle.WITHHELD).read_text("utf-8")).get("tests", [])
    assert [t["name"] for t in withheld] == [w.name for w in exported[name].withheld]
    # what is left names only what it defines or imports (a helper still used is not cut)
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated", "--select", "F821,F811",
                           str(shipped)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout


def test_public_graders_cut_hidden_and_reference_tests_and_what_only_they_use():
    source = '''"""doc"""
import pytest

Q = "3"
KINDS = ("x", "y", "z")
pytestmark = pytest.mark.davar(question=Q)


def _shared(x):
    return x


def _only_hidden(x):
    return _shared(x) + 1


@pytest.fixture
def labels(reference):
    return reference.labels()


@pytest.mark.davar(points=2)
def test_public(sub):
    assert _shared(sub)


# the hidden one
@pytest.mark.davar(points=3, hidden=True)
def test_hidden(sub):
    assert _only_hidden(sub) == 42


@pytest.mark.davar(points=1)
def test_against_reference(sub, labels):
    assert sub == labels


@pytest.mark.davar(points=1)
@pytest.mark.parametrize("part", ["a", "b"])
@pytest.mark.parametrize("kind", KINDS)
def test_choice(sub, assignment, part, kind):
    assert sub == assignment.question(Q).params(Params).answers["a"]
'''
    text, cut = bundle.public_graders(source, file="test_x.py")
    assert [(w.name, w.question, w.points, w.instances, w.reason) for w in cut] == [
        ("test_hidden", "3", 3.0, 1, "hidden"), ("test_against_reference", "3", 1.0, 1, "reference"),
        ("test_choice", "3", 1.0, 6, "answer_key")]
    assert "def test_public" in text and "def _shared" in text
    for gone in ("_only_hidden", "test_hidden", "the hidden one", "def labels", "reference", "== 42", "answers"):
        assert gone not in text
    ast.parse(text)


def test_templates_older_than_their_masters_are_refused(tmp_path):
    name = "iust-dl-1403-hw2"
    for part in ("graders", "reference"):
        shutil.copytree(ROOT / part / name, tmp_path / "course" / part / name)
    master = tmp_path / "course" / "reference" / name / "HW2_CNN.py"
    master.write_text(master.read_text("utf-8") + '\n# %% [markdown]\n# A hint added after `davar assign` ran.\n')
    with pytest.raises(AuthoringError) as e:
        bundle.export(assignment.load(tmp_path / "course" / "graders" / name), tmp_path / "out")
    assert e.value.key == "public_template_missing"
    with pytest.raises(AuthoringError) as e:  # nor over a folder that holds something
        bundle.export(assignment.load(ROOT / "graders" / name), tmp_path / "course")
    assert e.value.key == "public_out_not_empty"


def test_only_course_modules_and_messages_leave_the_graders_folder(tmp_path):
    name = "iust-dl-1403-hw2"
    for part in ("graders", "reference"):
        shutil.copytree(ROOT / part / name, tmp_path / "course" / part / name)
    graders = tmp_path / "course" / "graders" / name
    (graders / "hidden_labels.csv").write_text("image,label\n")    # a TA's file beside the graders
    (graders / "notes").mkdir()
    (graders / "notes" / "answers.md").write_text("the answers\n")
    (graders / "helpers").mkdir()                                   # a course package
    (graders / "helpers" / "__init__.py").write_text("")
    made = bundle.export(assignment.load(graders), tmp_path / "out")
    shipped = sorted(p.relative_to(made.out / "graders" / name).as_posix()
                     for p in (made.out / "graders" / name).rglob("*") if p.is_file())
    assert shipped == ["assignment.toml", "cifar100.py", "dental.py", "digits14.py", "helpers/__init__.py",
                       "messages.toml", "q7_model.py", "test_q4.py", "test_q5.py", "test_q6.py", "test_q7.py", "test_q8.py"]
