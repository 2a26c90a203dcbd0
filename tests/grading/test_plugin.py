"""The pytest plugin, black-box through pytester: options, markers, collector, result JSON."""

import json
import shutil
from pathlib import Path

import pytest

from davar import assignment, catalogue
from davar.results import Message

pytest_plugins = ["pytester"]


def text(stored: dict, course: dict, lang: str = "en") -> str:
    """A message of a result.json, worded as a report words it (course messages first)."""
    return catalogue.render(Message(**stored), lang, course)


NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "tampers_with_bridge" / "notebook.ipynb"

GRADERS = '''
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=2)
def test_value(sub):
    expect(sub.array("small").sum() == 15, "accuracy", split="test", measured=1.0, threshold=0.5)

@pytest.mark.davar(question="1", points=1)
def test_missing(sub):
    sub.value("not_defined")

@pytest.mark.davar(question="2", points=3, hidden=True)
def test_hidden(sub):
    assert sub.has("small")
'''


@pytest.fixture
def graders(pytester):
    d = pytester.mkdir("graders") / "p"
    d.mkdir()
    (d / "assignment.toml").write_text(
        'id = "p"\ntitle = { fa = "آزمایش", en = "plugin" }\nnotebooks = ["notebook.ipynb"]\n'
        '[[questions]]\nid = "1"\npoints = 3\ntitle = { fa = "یک", en = "one" }\n'
        '[[questions]]\nid = "2"\npoints = 3\ntitle = { fa = "دو", en = "two" }\n'
        '[[questions]]\nid = "3"\npoints = 4\nmanual = true\ntitle = { fa = "سه", en = "three" }\n')
    (d / "test_p.py").write_text(GRADERS)
    (pytester.path / "data" / "p" / "public").mkdir(parents=True)
    sub = pytester.mkdir("student")
    shutil.copy(NOTEBOOK, sub / "notebook.ipynb")
    return d, sub


def test_grades_a_submission_and_writes_the_result(pytester, graders):
    d, sub = graders
    res = pytester.runpytest_subprocess(str(d), "--submission", str(sub), "--sandbox", "none", "--davar-result", "r.json")
    res.assert_outcomes(passed=2, failed=1)
    result = json.loads((pytester.path / "r.json").read_text())
    assert result["schema_version"] == 3 and result["status"] == "graded", result["sandbox"]
    assert result["score"] == 5 and result["max_score"] == 10
    tests = {t["id"]: t for q in result["questions"] for t in q["tests"]}
    assert tests["missing"]["outcome"] == "failed" and tests["missing"]["messages"][0]["key"] == "missing_name"
    assert text(tests["value"]["messages"][0], {}, "fa") and tests["hidden"]["hidden"] is True
    assert tests["manual"]["outcome"] == "manual"
    assert result["sandbox"]["level"] == "none"


def test_public_only_deselects_hidden_tests(pytester, graders):
    d, sub = graders
    res = pytester.runpytest_subprocess(str(d), "--submission", str(sub), "--sandbox", "none", "--public-only",
                             "--davar-result", "r.json")
    res.assert_outcomes(passed=1, failed=1, deselected=1)
    result = json.loads((pytester.path / "r.json").read_text())
    assert [q["id"] for q in result["questions"]] == ["1", "3"]


def test_points_must_add_up_to_the_assignment(pytester, graders):
    d, sub = graders
    (d / "test_p.py").write_text(GRADERS.replace("points=1)", "points=5)"))
    res = pytester.runpytest_subprocess(str(d), "--submission", str(sub), "--sandbox", "none")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*question 1: graders give 7.0 points, assignment.toml says 3.0*"])


def test_strict_is_refused_where_unavailable_unless_allowed(pytester, graders, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap, setpriv or prlimit: only level `none` is left
    d, sub = graders
    res = pytester.runpytest_subprocess(str(d), "--submission", str(sub))
    res.assert_outcomes(errors=3)
    res.stdout.fnmatch_lines(["*sandbox level 'strict' is not available here*"])
    res = pytester.runpytest_subprocess(str(d), "--submission", str(sub), "--allow-weak-sandbox", "--davar-result", "r.json")
    res.assert_outcomes(passed=2, failed=1)
    assert json.loads((pytester.path / "r.json").read_text())["sandbox"]["level"] == "none"


def test_without_submission_graders_skip(pytester, graders):
    d, _ = graders
    pytester.runpytest_subprocess(str(d)).assert_outcomes(skipped=3)


SEVERAL = '''
import pytest
from davar import award, expect

@pytest.mark.davar(question="late", points=4)
def test_half(sub):
    award(0.5, "accuracy", split="test", measured=0.8, threshold=0.9)

@pytest.mark.davar(question="late", points=2)
def test_figures(sub):
    expect([f.mime for f in sub.figures()] == ["image/png"] and sub.figures()[0].cell == 1, "assertion", detail="")

@pytest.mark.davar(question="early", points=1)
def test_early(sub):
    expect(sub.value("x") == 1, "assertion", detail="")

@pytest.mark.davar(question="missing", points=3)
def test_missing_notebook(sub):
    expect(False, "assertion", detail="never probed")
'''


def test_each_notebook_runs_in_its_own_kernel(pytester):
    """Tests run grouped by notebook in the assignment's order; a missing notebook costs only its own
    questions; `award` gives part of the points; `sub.figures()` lists the images a notebook showed."""
    import nbformat

    d = pytester.mkdir("graders") / "several"
    d.mkdir()
    (d / "assignment.toml").write_text(
        'id = "several"\ntitle = { fa = "چند", en = "several" }\nnotebooks = ["a.ipynb", "b.ipynb", "c.ipynb"]\n'
        '[[questions]]\nid = "early"\npoints = 1\ntitle = { fa = "الف", en = "a" }\n'
        '[[questions]]\nid = "late"\npoints = 6\nnotebook = "b.ipynb"\ntitle = { fa = "ب", en = "b" }\n'
        '[[questions]]\nid = "missing"\npoints = 3\nnotebook = "c.ipynb"\ntitle = { fa = "پ", en = "c" }\n')
    (d / "test_several.py").write_text(SEVERAL)
    student = pytester.mkdir("student")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), student / "a.ipynb")
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("a plot"),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()")]), student / "b.ipynb")
    res = pytester.runpytest_subprocess(str(d), "--submission", str(student), "--sandbox", "none", "-v",
                                        "--davar-result", "r.json")
    res.stdout.fnmatch_lines(["*test_early PASSED*", "*test_half PASSED*", "*test_figures PASSED*",
                              "*test_missing_notebook ERROR*"])
    result = json.loads((pytester.path / "r.json").read_text())
    tests = {t["id"]: t for q in result["questions"] for t in q["tests"]}
    assert [e["notebook"] for e in result["executions"]] == ["a.ipynb", "b.ipynb"]
    assert tests["half"]["outcome"] == "partial" and tests["half"]["points"] == 2
    assert tests["figures"]["outcome"] == "passed" and tests["early"]["outcome"] == "passed"
    assert tests["missing_notebook"]["outcome"] == "not_run"
    assert tests["missing_notebook"]["messages"][0]["key"] == "notebook_missing"
    assert result["score"] == 5 and result["max_score"] == 10 and result["status"] == "graded"
    assert [m["key"] for m in result["messages"]] == ["notebook_missing"]
    [figure] = result["figures"]
    assert figure["notebook"] == "b.ipynb" and figure["cell"] == 1 and figure["data"]


PARAMETRIZED = '''
import pytest
from davar import expect, expect_close

pytestmark = pytest.mark.davar(question="1", timeout=30)

@pytest.mark.davar(points=1)
@pytest.mark.parametrize("n", [15, pytest.param(16, marks=pytest.mark.davar(points=2))])
def test_sum(sub, n):
    expect(sub.array("small").sum() == n, "course_sum", total=n)

@pytest.mark.davar(points=1, title={"fa": "میانگین", "en": "the mean"})
def test_mean(sub):
    expect_close(sub.array("small").mean(), 2.5, name="small.mean()", tol=1e-9)
'''


def test_one_marker_parametrize_titles_and_the_assignments_own_messages(pytester, graders):
    """Module-level `pytestmark`, a test's and a case's markers merge, the closest winning; each
    parametrized case is its own test (id and title from its name); `messages.toml` beside the graders
    adds the course's messages."""
    d, sub = graders
    (d / "test_p.py").write_text(PARAMETRIZED)
    (d / "assignment.toml").write_text(
        'id = "p"\ntitle = { fa = "آزمایش", en = "plugin" }\nnotebooks = ["notebook.ipynb"]\n'
        '[[questions]]\nid = "1"\npoints = 4\ntitle = { fa = "یک", en = "one" }\n'
        '[questions.tests]\nsum = { fa = "جمع", en = "the sum" }\n')
    (d / "messages.toml").write_text('[course_sum.en]\npass = "sums to {total}"\nfail = "does not sum to {total}"\n'
                                     '[course_sum.fa]\npass = "جمع {total} است"\nfail = "جمع {total} نیست"\n')
    res = pytester.runpytest_subprocess(str(d), "--submission", str(sub), "--sandbox", "none", "--davar-result", "r.json")
    res.assert_outcomes(passed=2, failed=1)
    tests = {t["id"]: t for q in json.loads((pytester.path / "r.json").read_text())["questions"] for t in q["tests"]}
    assert {i: t["outcome"] for i, t in tests.items()} == {"sum[15]": "passed", "sum[16]": "failed", "mean": "passed"}
    assert tests["sum[16]"]["title"] == {"fa": "جمع [16]", "en": "the sum [16]"}
    assert (tests["sum[15]"]["max_points"], tests["sum[16]"]["max_points"]) == (1, 2)  # the case's own marker wins
    course = assignment.load(d).messages
    assert text(tests["sum[16]"]["messages"][0], course) == "does not sum to 16"  # worded when read
    assert tests["mean"]["title"]["en"] == "the mean"
    assert tests["mean"]["messages"][0]["key"] == "answer_value" and "2.5" in text(tests["mean"]["messages"][0], course)


def test_a_marker_without_question_or_points_is_a_usage_error(pytester, graders):
    d, sub = graders
    (d / "test_p.py").write_text("import pytest\n\n@pytest.mark.davar(points=1)\ndef test_x(sub):\n    pass\n")
    res = pytester.runpytest_subprocess(str(d), "--submission", str(sub), "--sandbox", "none")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*test_x: pytest.mark.davar(question=..., points=...)*question*"])


def test_the_result_is_built_from_plain_values(tmp_path):
    """`build_result` needs no pytest: the tests' outcomes and the notebooks' runs in, the result out."""
    from davar.assignment import load
    from davar.grading.outcome import Ran, build_result
    from davar.intake.inbox import Submission
    from davar.results import ExecutionRecord, SandboxRecord, TestResult

    (tmp_path / "assignment.toml").write_text(
        'id = "p"\ntitle = { fa = "آزمایش", en = "plugin" }\nnotebooks = ["a.ipynb", "b.ipynb", "c.ipynb"]\n'
        '[[questions]]\nid = "1"\npoints = 3\ntitle = { fa = "یک", en = "one" }\n'
        '[[questions]]\nid = "2"\npoints = 3\nnotebook = "b.ipynb"\ntitle = { fa = "دو", en = "two" }\n'
        '[[questions]]\nid = "3"\npoints = 4\nmanual = true\ntitle = { fa = "سه", en = "three" }\n', "utf-8")
    assignment = load(tmp_path)
    submission = Submission(student="s", root=tmp_path, notebooks={"a.ipynb": tmp_path / "a.ipynb",
                                                                   "b.ipynb": tmp_path / "b.ipynb"},
                            files=(), digest="d")
    passed = TestResult(id="x", title={"fa": "x", "en": "x"}, outcome="passed", points=2, max_points=2)
    net = {"kind": "network", "target": "example.org:443"}
    ran = {nb: Ran(ExecutionRecord(notebook=nb, status="ok"),
                   SandboxRecord(level="strict", network=False, limits={"memory_mb": 1}, blocked=blocked), ())
           for nb, blocked in (("b.ipynb", (net,)), ("a.ipynb", ()))}
    before = SandboxRecord(level="strict", network=False, blocked=(net,))  # a first run, re-run without a cell
    result = build_result(assignment, submission, [("1", passed)], ran, level="strict", profile="standin",
                          public_only=True, sandboxes_before=(before,))
    assert [e.notebook for e in result.executions] == ["a.ipynb", "b.ipynb"]  # the assignment's order
    assert [q.id for q in result.questions] == ["1", "3"] and result.max_score == 6  # public-only: what ran
    assert result.sandbox.blocked == (net,) and result.status == "sandbox_violation"
    assert [m.key for m in result.messages] == ["notebook_missing", "sandbox_blocked"]
    # without walls (`none`) nothing was blocked: what the network use would be in the course's grading is said
    unwalled = {nb: Ran(run.execution, SandboxRecord(level="none", network=True, not_blocked=run.sandbox.blocked), ())
                for nb, run in ran.items()}
    result = build_result(assignment, submission, [("1", passed)], unwalled, level="none", profile="standin")
    assert result.sandbox.blocked == () and result.sandbox.not_blocked == (net,)
    assert result.status == "sandbox_violation" and result.messages[-1].key == "sandbox_not_blocked"
    assert result.messages[-1].values == {"count": 1, "targets": "example.org:443"}
    # a path the cells named outside the sandbox, refused there: said, and the status is the run's
    mine = {"kind": "file", "op": "open", "target": "/home/ali/train.csv"}
    refused = {nb: Ran(run.execution, SandboxRecord(level="none", network=True, refused=(mine,)), ())
               for nb, run in ran.items()}
    result = build_result(assignment, submission, [("1", passed)], refused, level="none", profile="standin")
    assert result.sandbox.refused == (mine,) and result.status == "graded"
    assert [(m.key, m.values) for m in result.messages[-1:]] == [
        ("sandbox_refused", {"count": 1, "targets": "/home/ali/train.csv"})]


def test_a_run_that_filled_its_disk_quota_is_a_disk_limit_message(tmp_path):
    """A cell stopped by the quota (or a notebook that ended with it full) says so, with the quota; the
    limits the level did not enforce stay in the result."""
    from davar import catalogue
    from davar.assignment import load
    from davar.grading.outcome import Ran, build_result
    from davar.intake.inbox import Submission
    from davar.results import ExecutionRecord, SandboxRecord

    (tmp_path / "assignment.toml").write_text(
        'id = "p"\ntitle = { fa = "آزمایش", en = "plugin" }\nnotebooks = ["a.ipynb"]\n[limits]\ndisk_mb = 64\n'
        '[[questions]]\nid = "1"\npoints = 3\ntitle = { fa = "یک", en = "one" }\n', "utf-8")
    assignment = load(tmp_path)
    submission = Submission(student="s", root=tmp_path, notebooks={"a.ipynb": tmp_path / "a.ipynb"}, files=(),
                            digest="d")
    box = SandboxRecord(level="strict", network=False, limits={"disk_mb": 64}, not_enforced=("tmp_mb",))
    for status, key in (("error", "disk_limit"), ("dead", "disk_limit"), ("ok", "disk_limit_full")):
        ran = {"a.ipynb": Ran(ExecutionRecord(notebook="a.ipynb", status=status, reason="disk_limit", failing_cell=2,
                                              error_name="OSError", error_value="[Errno 28] No space left on device"),
                              box, ())}
        result = build_result(assignment, submission, [], ran, level="strict", profile="standin")
        assert [m.key for m in result.messages] == [key] and result.sandbox.not_enforced == ("tmp_mb",)
        assert result.status == ("graded" if status == "ok" else "execution_error")
        text = catalogue.render(result.messages[0], "en")
        assert "64 MB" in text and ("cell 3" in text) == (status != "ok")
        assert "۶۴" in catalogue.render(result.messages[0], "fa")
