"""davar.grading.kernels: a cell that stops the kernel costs only what depends on it (the notebook runs once
more without it, only once, unless the assignment says not to); what the student's code raises in a kernel restored
from a snapshot is not graded as its answer."""

import re

import pytest

from davar import catalogue
from davar.grading.kernels import _fatal_cell
from davar.reporting import report
from davar.results import CellRecord, ExecutionRecord

GRADER = '''
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=2)
def test_answer(sub):
    expect(sub.value("answer") == 42, "assertion", detail="answer")

@pytest.mark.davar(question="1", points=1)
def test_extra(sub):
    expect(sub.value("extra") == 1, "assertion", detail="extra")
'''
EXIT = "import os\nos._exit(1)"
KILL = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"


def _grade(grade_cells, tmp_path, cells, *, policy="", **kw):
    """`grade_cells` with this module's two tests (3 points) and `policy` in assignment.toml."""
    return grade_cells(tmp_path, cells, grader=GRADER, points=3, extra=policy, **kw)


def _outcomes(result):
    return {t.id: t.outcome for q in result.questions for t in q.tests}


def test_a_fatal_last_cell_costs_only_what_it_makes(tmp_path, grade_cells):
    """Two runs: the first dies in cell 3, the second without it keeps `answer` but has no `extra`; its
    snapshot regrades the same, from the graders' replies (no kernel) or in a third kernel, restored."""
    snapshots = tmp_path / "snapshots" / "s1"  # the student's folder; the store's blobs beside it
    result, grade = _grade(grade_cells, tmp_path, ["answer = 42", "x = 1", f"extra = 1\n{EXIT}"],
                           snapshot_dir=snapshots)
    ex = result.execution
    assert (ex.status, ex.skipped_cell, ex.skipped_reason) == ("ok", 2, "kernel_died")
    assert [c.index for c in ex.cells] == [0, 1, 2]  # the student's numbering is kept
    assert result.score == 2 and _outcomes(result) == {"answer": "passed", "extra": "failed"}
    assert result.status == "execution_error"  # as submitted, the notebook did not run through
    assert [m.values for m in result.messages if m.key == "rerun_without_cell"] == [
        {"notebook": "hw.ipynb", "cell": 3, "reason": "kernel_died"}]
    page = re.sub(r"<[^>]+>", "", report.render_report(result, "en"))
    assert "Cell left out" in page and "cell 3: it stopped the first run (the kernel died)" in page
    replayed = grade(snapshot_dir=snapshots, previous=result)
    restored = grade(snapshot_dir=snapshots, previous=result, replay=False)
    for again, how in ((replayed, "snapshot_replayed"), (restored, "snapshot_regraded")):
        assert {how, "rerun_without_cell"} <= {m.key for m in again.messages}
        assert (again.execution, again.score) == (ex, 2)


LOOKUP = '''
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=2)
def test_answer(sub):
    expect(sub.call("lookup", "weights") == 42, "assertion", detail="answer")
'''


def test_what_the_students_code_raises_in_a_restored_kernel_runs_the_notebook_again(tmp_path, grade_cells):
    """A function that finds a value with globals() (as iust-dl-1402-hw4's given tuner_trials finds `tuner`) works
    in the kernel that ran the notebook, and raises KeyError in one restored from its snapshot when the snapshot left
    that value out (2 MB that no grader named): that regrade runs the notebook again instead of grading the error."""
    snapshots = tmp_path / "snapshots" / "s1"
    cells = ["import numpy as np\nweights = np.zeros(2**18)",
             "def lookup(name):\n    return globals()[name].sum() + 42"]
    result, grade = grade_cells(tmp_path, cells, grader=LOOKUP, points=2, snapshot_dir=snapshots)
    assert result.score == 2
    again = grade(snapshot_dir=snapshots, previous=result, replay=False)
    assert again.score == 2 and "snapshot_regraded" not in {m.key for m in again.messages}
    [fallback] = [m.values["reason"] for m in again.messages if m.key == "snapshot_fallback"]
    assert "`lookup` raised KeyError: 'weights'" in fallback["en"]


def test_the_policy_off_grades_the_dead_kernel_as_before(tmp_path, grade_cells):
    result, _ = _grade(grade_cells, tmp_path, ["answer = 42", f"extra = 1\n{EXIT}"],
                       policy="rerun_without_fatal_cell = false")
    assert (result.execution.status, result.execution.skipped_cell, result.score) == ("dead", None, 0)
    assert not any(m.key == "rerun_without_cell" for m in result.messages)


def test_a_second_fatal_cell_is_graded_as_it_is(tmp_path, grade_cells):
    """Two runs, not three: the second run dies in the next fatal cell and is graded so."""
    result, _ = _grade(grade_cells, tmp_path, ["answer = 42", KILL, f"extra = 1\n{EXIT}"])
    ex = result.execution
    assert (ex.status, ex.failing_cell, ex.skipped_cell) == ("dead", 2, 1)
    assert result.status == "execution_error" and result.score == 0


def _record(status, reason, failing, running=None):
    cells = tuple(CellRecord(index=i, execution_count=None, duration_s=0.0,
                             status="timeout" if i == running else "ok" if running and i < running else "not_run")
                  for i in range(3))
    return ExecutionRecord(notebook="hw.ipynb", status=status, reason=reason, failing_cell=failing, cells=cells)


@pytest.mark.parametrize(("record", "cell"), [
    (_record("dead", "memory_limit", 1, running=1), 1),
    (_record("timeout", "cell_timeout", 2, running=2), 2),
    (_record("dead", "disk_limit", 2, running=2), 2),
    (_record("timeout", "total_timeout", 2, running=2), None),  # the whole notebook would meet it again
    (_record("timeout", "cpu_limit", 2, running=2), None),  # the run's CPU time, as the whole notebook's time
    (_record("dead", "kernel_died", 0), None),  # died in davar's setup cell: no student cell was running
    (_record("dead", "kernel_start_failed", None), None),
    (_record("error", "", 1, running=None), None),  # a raising cell leaves the kernel alive
])
def test_which_cell_is_left_out(record, cell):
    assert _fatal_cell(record) == cell


def test_a_raising_cell_costs_only_what_it_defines(tmp_path, grade_cells):
    """By default every cell runs after one raised: a failing plot costs nothing defined after it; each cell
    that raised is listed; a name the raising cell would have defined points at it."""
    result, _ = _grade(grade_cells, tmp_path, ["plt.plot([1])", "answer = 42", "extra = 1 / 0", "y = 2"])
    ex = result.execution
    assert (ex.status, ex.failing_cell, ex.error_name) == ("error", 0, "NameError")
    assert [(c.status, c.error_name, c.defines) for c in ex.cells] == [
        ("error", "NameError", ()), ("ok", "", ()), ("error", "ZeroDivisionError", ("extra",)), ("ok", "", ())]
    assert result.score == 2 and result.status == "execution_error"
    assert [(m.key, m.values["cell"]) for m in result.messages] == [("cell_raised", 1), ("cell_raised", 3)]
    [extra] = [t for q in result.questions for t in q.tests if t.id == "extra"]
    assert catalogue.render(extra.messages[0], "en") == (
        "The notebook does not define `extra`: cell 3 of hw.ipynb, which would define it, raised "
        "ZeroDivisionError: division by zero.")


def test_the_stop_policy_ends_the_run_at_the_first_raising_cell(tmp_path, grade_cells):
    result, _ = _grade(grade_cells, tmp_path, ["plt.plot([1])", "answer = 42"], policy='on_cell_error = "stop"')
    assert [c.status for c in result.execution.cells] == ["error", "not_run"] and result.score == 0
    assert [m.key for m in result.messages] == ["cell_failed"]
