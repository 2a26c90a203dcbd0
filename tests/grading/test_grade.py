"""davar.grading.grade: the graders' pytest session holds davar's plugin, pytest's own and the assignment folder's
conftest.py, nothing else the grading environment has installed or the course's folder holds."""

from importlib.metadata import entry_points

# A pytest plugin installed in the environment (what pytest-randomly or pytest-rerunfailures are, in kind):
# pytest loads every `pytest11` entry point it finds, unless told not to.
PLUGIN = '''
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    pytest.fail("an installed plugin decided")
'''


def test_a_plugin_installed_in_the_environment_does_not_change_a_grade(tmp_path, grade_cells, monkeypatch):
    site = tmp_path / "site"
    (site / "grade_changer-1.0.dist-info").mkdir(parents=True)
    (site / "grade_changer-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: grade-changer\n"
                                                                 "Version: 1.0\n")
    (site / "grade_changer-1.0.dist-info" / "entry_points.txt").write_text("[pytest11]\nchanger = grade_changer\n")
    (site / "grade_changer.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    assert "changer" in {e.name for e in entry_points(group="pytest11")}  # installed, as pytest would find it
    result, _ = grade_cells(tmp_path, ["answer = 42"])
    assert (result.score, result.max_score) == (2, 2), result.messages


def test_a_conftest_of_the_course_folder_does_not_change_a_grade(tmp_path, grade_cells):
    """The session's root is the course's folder (graders/<id>/ two levels down), where a course keeps its own
    tests: their conftest.py (hooks, autouse fixtures) is not the assignment's and stays out of its grading."""
    (tmp_path / "conftest.py").write_text(PLUGIN)
    (tmp_path / "graders").mkdir()
    (tmp_path / "graders" / "conftest.py").write_text(PLUGIN)
    result, _ = grade_cells(tmp_path, ["answer = 42"])
    assert (result.score, result.max_score) == (2, 2), result.messages
