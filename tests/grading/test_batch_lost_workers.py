"""davar.grading.batch when a worker itself fails: one that dies and one that never finishes each cost their
own submission a recorded result, not the batch; the others are graded, and nothing is left running."""

import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from davar import catalogue, commands
from davar.grading import batch
from davar.run import sandbox

LEVEL = "strict" if sandbox.detect().best == "strict" else "none"
# The graders run in the worker: a student's answer here makes them kill it or never return, as a harness
# fault would (a crash in a parser, a request that no limit covers).
GRADER = '''
import os, signal, time
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=2)
def test_answer(sub):
    answer = sub.value("answer")
    if answer == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if answer == "hang":
        time.sleep(3600)
    expect(answer == 42, "assertion", detail="answer")
'''
ANSWERS = {"s0": "42", "s1": "'die'", "s2": "'hang'", "s3": "41"}


@pytest.fixture
def students(course):
    """conftest's tiny course with this file's grader and four students: right, killing, hanging, wrong."""
    graders, subs, _ = course
    (graders / "test_tiny.py").write_text(GRADER)
    shutil.rmtree(subs)
    for student, answer in ANSWERS.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"answer = {answer}")]),
                       subs / student / "hw.ipynb")
    return course


def test_a_dead_or_stuck_worker_costs_its_own_submission_and_the_batch_goes_on(students, monkeypatch):
    graders, subs, out = students
    # s2's graders never return: whatever the machine's load, they pass any limit; 5 s keeps the test short
    monkeypatch.setattr(batch, "stall_limit_s", lambda job: 5 if job.submission.student == "s2" else 3600)
    before = _runs()
    results = commands.grade(assignment=str(graders), path=subs, out=out, sandbox_level=LEVEL,
                             allow_weak_sandbox=True, workers=2)
    got = {r.student: r for r in results}
    assert sorted(got) == sorted(ANSWERS)
    assert (got["s0"].score, got["s3"].score) == (2.0, 0.0)
    for student, key in (("s1", "worker_lost"), ("s2", "worker_stalled")):
        assert got[student].status == "execution_error" and got[student].score == 0
        assert [m.key for m in got[student].messages][:1] == [key]
    assert "exit code -9" in catalogue.render(got["s1"].messages[0], "en")
    # what davar failed to compute is not kept as done: the same command grades those two again
    with sqlite3.connect(out / "tiny" / "gradebook.sqlite") as db:
        rows = dict(db.execute("SELECT student, cache_key IS NOT NULL FROM results").fetchall())
    assert rows == {"s0": 1, "s1": 0, "s2": 0, "s3": 1}
    # the killed workers' kernels went with them, and their cgroups and run folders are gone
    assert [p for p in _runs() - before if not sandbox._owner_alive(p.name)] == []


def _runs():
    """The run folders and cgroups on this machine (`sandbox.run_prefix` names them after their process)."""
    parents = [Path(tempfile.gettempdir()), *sandbox.CGROUP_PARENTS]
    return {p for parent in parents for p in parent.glob(sandbox.RUN_PREFIX + "*")}


def test_workers_that_die_before_taking_a_submission_end_the_batch_with_a_result_each(students, tmp_path):
    """A script that calls davar without `if __name__ == "__main__":` has every spawned worker run the script
    again and die of it before it takes a job: the batch tries a fresh pool once more, then gives each
    submission a result that says so, and ends (it once started workers for ever)."""
    graders, subs, out = students
    script = tmp_path / "grade_all.py"
    script.write_text(f"from pathlib import Path\nfrom davar import commands\n"
                      f"results = commands.grade(assignment={str(graders)!r}, path=Path({str(subs)!r}), "
                      f"out=Path({str(out)!r}), sandbox_level={LEVEL!r}, allow_weak_sandbox=True, workers=1)\n"
                      "print(sorted((r.student, r.status, r.messages[0].key) for r in results))\n")
    before = _runs()
    # no timing: the limit only ends a batch that would never end
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == repr(sorted((s, "execution_error", "workers_failing") for s in ANSWERS))
    assert "if __name__ == '__main__':" in run.stderr  # the workers' own error, multiprocessing's advice
    assert [p for p in _runs() - before if not sandbox._owner_alive(p.name)] == []
