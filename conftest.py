"""Project-wide pytest setup: where the repo's assignments, samples and stand-in data are."""

import importlib
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def repo() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def course_module(repo):
    """`course_module(assignment_id, name)`: a course module of `graders/<id>/` (a dataset's stand-in and
    loaders), imported the way graders and `davar data` import it (`davar.assignment.course_imports`)."""
    from davar import assignment

    def load(assignment_id: str, name: str) -> ModuleType:
        with assignment.course_imports(assignment.load(repo / "graders" / assignment_id)):
            return importlib.import_module(name)

    return load


@pytest.fixture(scope="session")
def read_pins():
    """`read_pins(path)`: a constraints file's versions by canonical name; every line but comments must be
    `name==version`, as `make lock` and `davar export-public` write them."""
    from packaging.utils import canonicalize_name

    def read(path: Path) -> dict[str, str]:
        lines = [ln.strip() for ln in path.read_text("utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
        assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==\S+", ln) for ln in lines), f"only `name==version` lines: {path}"
        return {canonicalize_name(ln.partition("==")[0]): ln.partition("==")[2] for ln in lines}

    return read


@pytest.fixture(scope="session")
def one_question():
    """`one_question(graders, grader, points=N)`: write in the folder `graders` (its name is the id) a one-question
    assignment of `points` (cells stopped at 60 s, notebooks at 120 s, 1 GB), its notebook `notebook` (hw.ipynb),
    `extra` top-level lines of assignment.toml, and `grader` as its test_tiny.py; returns the folder."""

    def write(graders: Path, grader: str, *, points: int, notebook: str = "hw.ipynb", extra: str = "") -> Path:
        graders.mkdir(parents=True)
        (graders / "assignment.toml").write_text(
            f'id = "{graders.name}"\ntitle = {{ fa = "کوچک", en = "tiny" }}\nnotebooks = ["{notebook}"]\n{extra}\n'
            '[limits]\ncell_timeout_s = 60\ntotal_timeout_s = 120\nmemory_mb = 1024\n'
            f'[[questions]]\nid = "1"\npoints = {points}\ntitle = {{ fa = "یک", en = "one" }}\n')
        (graders / "test_tiny.py").write_text(grader)
        return graders

    return write


#: A grader of `grade_cells`: 2 points when the notebook's `answer` is 42.
ANSWER_GRADER = '''
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=2)
def test_answer(sub):
    expect(sub.value("answer") == 42, "assertion", detail="answer")
'''


@pytest.fixture(scope="session")
def grade_cells(one_question):
    """`grade_cells(folder, cells, grader=ANSWER_GRADER, points=2, extra="", **kw)`: under `folder`, a
    one-question assignment (`one_question`) and one student whose notebook is `cells`, graded by
    `grade_submission` (its keywords: `kw`) in the best sandbox here; returns (result, grade), where
    `grade(**kw)` grades the same student again."""
    import nbformat

    from davar.assignment import load
    from davar.grading.grade import grade_submission
    from davar.intake import inbox
    from davar.run import sandbox

    level = "strict" if sandbox.detect().best == "strict" else "none"

    def run(folder: Path, cells: list[str], *, grader: str = ANSWER_GRADER, points: int = 2, extra: str = "", **kw):
        assignment = load(one_question(folder / "graders" / "tiny", grader, points=points, extra=extra))
        student = folder / "subs" / "s1"
        student.mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]),
                       student / "hw.ipynb")
        [submission] = inbox.collect(folder / "subs", assignment)

        def grade(**kw):
            return grade_submission(submission, assignment, level=level, data_root=folder / "data", **kw)

        return grade(**kw), grade

    return run


@pytest.fixture(scope="session")
def hw2(repo):
    """iust-dl-1403-hw2 with its stand-in data built (offline, idempotent), as `davar data` builds it."""
    from davar import assignment
    from davar.commands import build_data

    build_data(assignment=str(repo / "graders" / "iust-dl-1403-hw2"))
    return assignment.load(repo / "graders" / "iust-dl-1403-hw2")


def pytest_configure(config):
    config.addinivalue_line("markers", "corpus(*assignment_ids): the test reads these sample corpora (the `corpus` "
                            "fixture; a test, a parameter or a module): they grade in a process of their own from the "
                            "session's first test, and the test runs last; `<id>/<sample>`: that sample alone, with "
                            "the warm pool off")


def _corpora(item: pytest.Item) -> list[str]:
    """The sample corpora a test reads: its `corpus` markers (its own, its parameter's, its module's), where it
    uses the fixture."""
    if "corpus" not in getattr(item, "fixturenames", ()):
        return []
    return [a for m in item.iter_markers("corpus") for a in m.args]


def pytest_collection_modifyitems(items):
    """The tests that read a sample corpus run last, in their order, so the corpora (minutes of training) grade
    beside every other test rather than before them (`corpus`)."""
    items.sort(key=lambda item: bool(_corpora(item)))  # stable


class CorporaAhead:
    """The sample corpora the session's tests read (their `corpus` markers), graded one after the other by
    tests/grade_corpora.py from the session's first test on, in a process of its own."""

    def __init__(self, ids: list[str], out: Path):
        self.out, self.log, self.graded = out, out / "grade_corpora.log", dict.fromkeys(ids, "")
        with self.log.open("w") as log:
            self.process = subprocess.Popen([sys.executable, ROOT / "tests" / "grade_corpora.py", out, *ids],
                                            stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT) if ids else None

    def wait(self, corpus_id: str) -> Path:
        """Its reports folder, once it is graded."""
        if corpus_id not in self.graded:
            pytest.fail(f"a test reads the sample corpus {corpus_id}: mark it (or its module) "
                        f"pytest.mark.corpus({corpus_id!r})")
        while self.process and not self.graded[corpus_id] and (line := self.process.stdout.readline()):
            done, status = line.split()
            self.graded[done] = status
        if self.graded[corpus_id] != "ok":
            pytest.fail(f"grading the sample corpus {corpus_id} failed ({self.log}):\n"
                        f"{self.log.read_text()[-5000:]}")
        return self.out / corpus_id

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # a batch's stop signal: it ends its workers and their kernels
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture(scope="session", autouse=True)
def corpora_ahead(request, tmp_path_factory):
    ids = dict.fromkeys(a for item in request.session.items for a in _corpora(item))
    ahead = CorporaAhead(list(ids), tmp_path_factory.mktemp("corpora"))
    yield ahead
    ahead.stop()


@pytest.fixture(scope="session")
def corpus(corpora_ahead):
    """`corpus(assignment_id)`: the sample corpus `submissions/<id>/` graded once per session (strict sandbox, as
    `davar grade --workers 2` does; `corpora_ahead`), as (reports folder, {student: result}); `corpus("<id>/<sample>")`
    that sample alone, with the warm pool off."""
    from davar.book import gradebook

    cache = {}

    def graded(corpus_id: str):
        if corpus_id not in cache:
            assignment_id = corpus_id.partition("/")[0]
            out = corpora_ahead.wait(corpus_id) / assignment_id
            cache[corpus_id] = (out, {r.student: r for r in gradebook.latest(out / "gradebook.sqlite",
                                                                              assignment_id)})
        return cache[corpus_id]

    return graded
