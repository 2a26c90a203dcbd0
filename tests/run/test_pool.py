"""davar.run.pool: a kernel started ahead of time serves one run of one student and is destroyed after it; it
draws what a cold one draws; one that died while it waited is not handed out; grader modules are fresh for every
submission graded in a worker; closing a pool does not wait for the imports of a kernel it destroys."""

import dataclasses
import signal
import threading
import time

import nbformat
from jupyter_core.utils import run_sync

from davar.assignment import load
from davar.grading.grade import grade_submission
from davar.intake import inbox
from davar.run import execute, sandbox
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


def _drawn_after_the_setup_cell(seed: int) -> list[float]:
    """What a notebook that does not seed itself draws first: Python, numpy and torch seeded with `seed`, as the
    setup cell davar puts in front of the student's cells seeds them (execute._SEED_LINES)."""
    import random

    import numpy
    import torch

    # generators of their own, seeded as the global ones are: this process's global state is left alone
    torch_rng = torch.Generator().manual_seed(seed)
    return [random.Random(seed).random(), float(numpy.random.RandomState(seed).rand()),
            float(torch.rand(1, generator=torch_rng))]


def test_a_warm_kernel_draws_what_a_cold_one_draws_the_assignments_seed(tmp_path, one_question):
    """A warm kernel has the assignment's frameworks imported before the student's files arrive; they are seeded
    after, so a notebook that does not seed itself draws the same numbers with the pool on and off."""
    expected = _drawn_after_the_setup_cell(42)  # the assignment's seed (not set: the default)
    grader = f"""
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=1)
def test_drawn(sub):
    expect(sub.value("drawn") == {expected!r}, "assertion", detail="the numbers drawn")
"""
    graders = one_question(tmp_path / "graders" / "tiny", grader, points=1, extra='frameworks = ["torch"]')
    (tmp_path / "subs" / "s0").mkdir(parents=True)
    cell = "import random, numpy, torch\ndrawn = [random.random(), float(numpy.random.rand()), float(torch.rand(1))]"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)]),
                   tmp_path / "subs" / "s0" / "hw.ipynb")
    assignment = load(graders)
    [submission] = inbox.collect(tmp_path / "subs", assignment)
    assert assignment.seed == 42
    pool = Pool(assignment, level=LEVEL, depth=1)
    try:
        warm = grade_submission(submission, assignment, level=LEVEL, pool=pool)
    finally:
        pool.close()
    cold = grade_submission(submission, assignment, level=LEVEL)
    assert [(r.status, r.score) for r in (warm, cold)] == [("graded", 1.0)] * 2, [warm.messages, cold.messages]


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


def test_no_kernel_starts_beyond_what_its_owner_will_take(tmp_path, one_question, monkeypatch):
    """A batch's last job, or a one-student regrade: the pool starts only the kernels still wanted, so none
    is started only to be destroyed."""
    assignment, _ = _course(tmp_path, one_question, students=1)
    monkeypatch.setattr(execute, "start", lambda *a, **kw: Ready())
    left = [2]  # one student's two notebooks

    def wanted(taken):
        left[0] -= taken
        return left[0]

    pool = Pool(assignment, level=LEVEL, depth=1, wanted=wanted)
    try:
        assert len(pool._next) == 1
        assert pool.take() is not None
        assert len(pool._next) == 1  # for the second notebook
        assert pool.take() is not None
        assert not pool._next and left == [0]  # none for nobody
        assert pool.take() is None  # one more than it said (a re-run): that run starts its own kernel
    finally:
        pool.close()
    left = [1]
    bounded = Pool(assignment, level=LEVEL, depth=2, wanted=wanted)
    try:
        assert len(bounded._next) == 1  # not the depth: one is wanted
    finally:
        bounded.close()
    unbounded = Pool(assignment, level=LEVEL, depth=2)
    try:
        assert len(unbounded._next) == 2
        assert unbounded.take() is not None
        assert len(unbounded._next) == 2
    finally:
        unbounded.close()


@dataclasses.dataclass(frozen=True)
class Ready:
    """What `execute.start` gives, for the pool's bookkeeping alone: alive, and closed for nothing."""

    closer: object = None

    def alive(self):
        return True

    def close(self):
        pass


def _slow_to_import(tmp_path, one_question, monkeypatch, code):
    """An assignment whose cells may run for an hour, kernels whose warm-up imports run `code` (a wait for them
    that is not cut short would outlast every margin below), and an event set once a kernel is sent them."""
    graders = one_question(tmp_path / "graders" / "tiny", GRADER, points=1)
    toml = graders / "assignment.toml"
    toml.write_text(toml.read_text().replace("cell_timeout_s = 60\ntotal_timeout_s = 120",
                                             "cell_timeout_s = 3600\ntotal_timeout_s = 7200"))
    importing = threading.Event()

    def preload_code(frameworks):
        importing.set()
        return code

    monkeypatch.setattr(execute, "preload_code", preload_code)
    return load(graders), importing


def _within(seconds, fn):
    """`fn()` in a thread; its value, or a failure when it has not returned after `seconds` (a margin of minutes
    around what takes a second: the test is about never returning, not about speed)."""
    out = []
    thread = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    return out[0] if out else None


def test_closing_the_pool_cuts_short_a_kernel_still_importing(tmp_path, one_question, monkeypatch):
    assignment, importing = _slow_to_import(tmp_path, one_question, monkeypatch,
                                            "import time\nwhile True:\n    time.sleep(0.05)\n")
    pool = Pool(assignment, level=LEVEL, depth=1)
    [starting] = pool._next
    assert importing.wait(300), "the kernel never got to its imports"
    _within(300, pool.close)
    ready = starting.result()
    assert ready.error.startswith("cancelled"), ready.error
    assert not ready.rundir.exists() and not run_sync(ready.km.is_alive)()


def test_a_kernel_that_dies_importing_is_not_waited_for(tmp_path, one_question, monkeypatch):
    assignment, _ = _slow_to_import(tmp_path, one_question, monkeypatch, "import os\nos._exit(3)\n")
    ready = _within(300, lambda: execute.start(assignment, level=LEVEL, preload=0, entries=0))
    try:
        assert ready.error.startswith("the kernel died while importing numpy"), ready.error
        assert not ready.alive()
    finally:
        ready.close()
    assert not ready.rundir.exists()
