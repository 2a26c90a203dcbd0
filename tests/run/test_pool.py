"""davar.run.pool: a kernel started ahead of time serves one run of one student and is destroyed after it; one
that died while it waited is not handed out; grader modules are fresh for every submission graded in a worker."""

import signal
import time

import nbformat
from jupyter_core.utils import run_sync

from davar.assignment import load
from davar.grading.grade import grade_submission
from davar.intake import inbox
from davar.run import sandbox
from davar.run.pool import Pool

LEVEL = "strict" if sandbox.detect().best == "strict" else "none"
GRADER = '''
import pytest
from davar import expect

CALLS = []  # module-level state: a grader module must be fresh for every submission

@pytest.mark.davar(question="1", points=1)
def test_fresh(sub):
    CALLS.append(1)
    expect(CALLS == [1], "assertion", detail="the grader module's state")
    expect(sub.value("seen") == [False, False, False], "assertion", detail="what an earlier student left")
'''
# What one student could leave for the next in a kernel or its folder; each student looks for it first.
CELL = """import builtins, os, sys
seen = [os.path.exists('left.txt'), hasattr(builtins, 'LEFT'), 'left_behind' in sys.modules]
open('left.txt', 'w').write('x')
builtins.LEFT = 1
sys.modules['left_behind'] = os
"""


def _course(tmp_path, one_question, students=3):
    graders = one_question(tmp_path / "graders" / "tiny", GRADER, points=1)
    for i in range(students):
        (tmp_path / "subs" / f"s{i}").mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)]),
                       tmp_path / "subs" / f"s{i}" / "hw.ipynb")
    assignment = load(graders)
    return assignment, inbox.collect(tmp_path / "subs", assignment)


def test_each_kernel_serves_one_student_and_is_destroyed_after_it(tmp_path, one_question, monkeypatch):
    assignment, submissions = _course(tmp_path, one_question)
    pool = Pool(assignment, level=LEVEL)
    taken = []
    take = pool.take
    monkeypatch.setattr(pool, "take", lambda: taken.append(take()) or taken[-1])
    try:
        results = [grade_submission(s, assignment, level=LEVEL, pool=pool) for s in submissions]
    finally:
        pool.close()  # the kernels waiting, and the closing of those that ran
    assert [(r.status, r.score) for r in results] == [("graded", 1.0)] * 3, [r.messages for r in results]
    assert all(ready is not None for ready in taken) and len(taken) == 3
    assert len({id(ready.km) for ready in taken}) == 3
    assert not any(ready.rundir.exists() or run_sync(ready.km.is_alive)() for ready in taken)


def test_a_kernel_that_died_waiting_is_not_handed_out(tmp_path, one_question):
    assignment, [submission] = _course(tmp_path, one_question, students=1)
    pool = Pool(assignment, level=LEVEL, depth=1)
    try:
        waiting = pool._next[0].result()  # started, not yet taken
        run_sync(waiting.km.signal_kernel)(signal.SIGKILL)
        for _ in range(100):  # the kernel's process group is killed; wait until it is seen gone
            if not waiting.alive():
                break
            time.sleep(0.1)
        assert pool.take() is None  # the run starts a kernel of its own instead
        assert not waiting.rundir.exists()
        result = grade_submission(submission, assignment, level=LEVEL, pool=pool)
    finally:
        pool.close()
    assert (result.status, result.score) == ("graded", 1.0), result.messages
