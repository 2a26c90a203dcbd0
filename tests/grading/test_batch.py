"""davar.grading.batch through `davar grade`: parallel slots, resume after a killed driver, the cache."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import nbformat
import pytest

from davar import catalogue, commands
from davar.assignment import load
from davar.book import gradebook
from davar.grading import batch
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


@pytest.fixture
def course(tmp_path):
    """A tiny assignment and six students, each notebook sleeping a little; students s3 and s5 are wrong."""
    graders = tmp_path / "graders" / "tiny"
    graders.mkdir(parents=True)
    (graders / "assignment.toml").write_text(
        'id = "tiny"\ntitle = { fa = "کوچک", en = "tiny" }\nnotebooks = ["hw.ipynb"]\n'
        '[limits]\ncell_timeout_s = 60\ntotal_timeout_s = 120\nmemory_mb = 1024\n'
        '[[questions]]\nid = "1"\npoints = 2\ntitle = { fa = "یک", en = "one" }\n')
    (graders / "test_tiny.py").write_text(GRADER)
    for i in range(6):
        student = tmp_path / "subs" / f"s{i}"
        student.mkdir(parents=True)
        cell = f"import time\ntime.sleep(1)\nanswer = {41 if i in (3, 5) else 42}"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)]), student / "hw.ipynb")
    return graders, tmp_path / "subs", tmp_path / "out"


def _rows(out):
    with sqlite3.connect(out / "tiny" / "gradebook.sqlite") as db:
        return db.execute("SELECT student, score FROM results ORDER BY id").fetchall()


def _grade(course, **kw):
    graders, subs, out = course
    return commands.grade(assignment=str(graders), path=subs, out=out, sandbox_level=LEVEL, allow_weak_sandbox=True, **kw)


def test_two_workers_grade_like_one_and_finished_work_is_cached(course):
    graders, subs, out = course
    results = _grade(course, workers=2)
    assert {r.student: r.score for r in results} == {f"s{i}": 0.0 if i in (3, 5) else 2.0 for i in range(6)}
    assert all(r.status == "graded" and r.sandbox.level == LEVEL for r in results)
    assert len(_rows(out)) == 6
    again = _grade(course, workers=1)  # everything cached: nothing runs, nothing is added
    assert [r.to_dict() for r in again] == [r.to_dict() for r in results] and len(_rows(out)) == 6
    _grade(course, workers=1, force=True)
    assert len(_rows(out)) == 12


def test_changing_a_grader_or_a_submission_invalidates_the_cache(course):
    graders, subs, out = course
    a = load(graders)
    before = {s.student: batch.cache_key(s, batch.assignment_digest(a)) for s in inbox.collect(subs, a)}
    (graders / "test_tiny.py").write_text(GRADER.replace("== 42", "== 41"))
    after = {s.student: batch.cache_key(s, batch.assignment_digest(a)) for s in inbox.collect(subs, a)}
    assert not set(before.values()) & set(after.values())
    nb = subs / "s0" / "hw.ipynb"
    nb.write_text(nb.read_text().replace("time.sleep(1)", "time.sleep(0)"))
    changed = {s.student: batch.cache_key(s, batch.assignment_digest(a)) for s in inbox.collect(subs, a)}
    assert [k for k in changed if changed[k] != after[k]] == ["s0"]


def test_a_killed_driver_resumes_without_losing_or_duplicating(course):
    graders, subs, out = course
    cmd = [sys.executable, "-m", "davar.cli", "grade", str(graders), str(subs), "--out", str(out),
           "--sandbox", LEVEL, "--allow-weak-sandbox", "--workers", "1"]
    driver = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and (not (out / "tiny" / "gradebook.sqlite").exists() or len(_rows(out)) < 2):
        time.sleep(0.2)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    first = _rows(out)
    assert 2 <= len(first) < 6, "the driver was killed half way"
    results = _grade(course, workers=1)
    rows = _rows(out)
    assert rows[:len(first)] == first  # what was graded is kept, not regraded
    assert sorted(s for s, _ in rows) == [f"s{i}" for i in range(6)]  # each student exactly once
    assert [r.student for r in results] == [f"s{i}" for i in range(6)]
    assert {r.student for r in gradebook.latest(out / "tiny" / "gradebook.sqlite", "tiny")} == {f"s{i}" for i in range(6)}


def test_a_dask_local_cluster_grades_like_the_local_pool(course, tmp_path):
    pytest.importorskip("distributed")
    graders, subs, out = course
    local = {r.student: (r.status, r.score) for r in _grade(course, workers=2)}
    dask = commands.grade(assignment=str(graders), path=subs, out=tmp_path / "dask", sandbox_level=LEVEL,
                     allow_weak_sandbox=True, workers=2, cluster="local")
    assert {r.student: (r.status, r.score) for r in dask} == local
    assert {r.sandbox.level for r in dask} == {LEVEL}


def test_changed_graders_regrade_from_snapshots_without_running_again(course):
    graders, subs, out = course
    first = {r.student: r for r in _grade(course, workers=1)}
    (graders / "test_tiny.py").write_text(GRADER.replace("== 42", "in (41, 42)"))  # the TA accepts 41 too
    snapshot = out / "tiny" / "snapshots" / "s5" / "hw.ipynb.pkl"
    snapshot.write_bytes(b"not a pickle")  # s5's snapshot cannot serve: it runs again
    again = {r.student: r for r in _grade(course, workers=1)}
    assert {s: r.score for s, r in again.items()} == {f"s{i}": 2.0 for i in range(6)}
    for student in ("s0", "s3"):
        assert [m.key for m in again[student].messages] == ["snapshot_regraded"]
        assert again[student].executions == first[student].executions  # the record of the original run
    [fallback] = again["s5"].messages
    assert fallback.key == "snapshot_fallback" and "hw.ipynb" in catalogue.render(fallback, "en")
    assert again["s5"].executions[0].wall_s != first["s5"].executions[0].wall_s  # it did run again
