"""davar.grading.grade: the graders' pytest session holds davar's plugin and pytest's own, nothing else the
grading environment has installed."""

import nbformat

from davar.assignment import load
from davar.grading.grade import grade_submission
from davar.intake import inbox
from davar.run import sandbox

LEVEL = "strict" if sandbox.detect().best == "strict" else "none"
GRADER = '''
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=2)
def test_answer(sub):
    expect(sub.value("answer") == 42, "assertion", detail="answer")
'''
# A pytest plugin installed in the environment (what pytest-randomly or pytest-rerunfailures are, in kind):
# pytest loads every `pytest11` entry point it finds, unless told not to.
PLUGIN = '''
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    pytest.fail("an installed plugin decided")
'''


def test_a_plugin_installed_in_the_environment_does_not_change_a_grade(tmp_path, one_question, monkeypatch):
    site = tmp_path / "site"
    (site / "grade_changer-1.0.dist-info").mkdir(parents=True)
    (site / "grade_changer-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: grade-changer\n"
                                                                 "Version: 1.0\n")
    (site / "grade_changer-1.0.dist-info" / "entry_points.txt").write_text("[pytest11]\nchanger = grade_changer\n")
    (site / "grade_changer.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    from importlib.metadata import entry_points
    assert "changer" in {e.name for e in entry_points(group="pytest11")}  # installed, as pytest would find it

    graders = one_question(tmp_path / "graders" / "tiny", GRADER, points=2)
    student = tmp_path / "subs" / "s1"
    student.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("answer = 42")]), student / "hw.ipynb")
    assignment = load(graders)
    [submission] = inbox.collect(tmp_path / "subs", assignment)
    result = grade_submission(submission, assignment, level=LEVEL, data_root=tmp_path / "data")
    assert (result.score, result.max_score) == (2, 2), result.messages
