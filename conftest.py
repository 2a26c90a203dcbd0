"""Project-wide pytest setup: where the repo's assignments, samples and stand-in data are."""

import importlib
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


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """`corpus(assignment_id)` grades `submissions/<id>/` once per session (strict sandbox, as
    `davar grade --workers 2` does) and returns (reports folder, {student: result})."""
    cache = {}

    def graded(assignment_id: str):
        if assignment_id not in cache:
            from davar.commands import grade

            out = tmp_path_factory.mktemp(f"reports-{assignment_id}")
            # two slots even on two cores: a sample that runs to its cell time limit (never_ends: 150 s of
            # one core) then overlaps the others instead of adding to them
            results = grade(assignment=str(ROOT / "graders" / assignment_id),
                            path=ROOT / "submissions" / assignment_id, out=out, workers=2)
            cache[assignment_id] = (out / assignment_id, {r.student: r for r in results})
        return cache[assignment_id]

    return graded
