"""davar.grading.batch through `davar grade`: parallel slots, stops and leftovers, the cache (the `course` and
`leftovers` fixtures: conftest.py; a driver killed at any point: test_batch_faults.py)."""

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
from types import SimpleNamespace

import nbformat
import pytest

from davar import catalogue, cli, commands
from davar.assignment import load
from davar.errors import DataNotFound, DavarError
from davar.grading import batch, snapshot_store
from davar.intake import inbox
from davar.run import sandbox
from davar.run.sandbox import Slot, cpu_slots

LEVEL = "strict" if sandbox.detect().best == "strict" else "none"


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
    grader = graders / "test_tiny.py"
    grader.write_text(grader.read_text().replace("== 42", "== 41"))
    after = {s.student: batch.cache_key(s, batch.assignment_digest(a)) for s in inbox.collect(subs, a)}
    assert not set(before.values()) & set(after.values())
    nb = subs / "s0" / "hw.ipynb"
    nb.write_text(nb.read_text().replace("time.sleep(1)", "time.sleep(0)"))
    changed = {s.student: batch.cache_key(s, batch.assignment_digest(a)) for s in inbox.collect(subs, a)}
    assert [k for k in changed if changed[k] != after[k]] == ["s0"]


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
    grader = graders / "test_tiny.py"
    grader.write_text(grader.read_text().replace("== 42", "in (41, 42)"))  # the TA accepts 41 too
    store = out / "tiny" / "snapshots"
    blobs = {p.name for p in (store / "objects").iterdir()}
    kept = {s: snapshot_store.read_manifest(store / s / "hw.ipynb.json") for s in first}
    named = {s: {k: h for k, h, _ in m.values} for s, m in kept.items()}
    replies = {h for m in kept.values() for *_, files in m.replies for _, h, _ in files}
    assert blobs == {h for values in named.values() for h in values.values()} | replies  # each once for the six:
    assert len(blobs) == len(set(named["s0"].values())) + 1 + 2  # all the same but s3's and s5's `answer`,
    assert len(replies) == 2  # and the kernel's reply to `sub.value("answer")`: 42, or 41 for those two
    manifest = json.loads((store / "s5" / "hw.ipynb.json").read_text())
    manifest["values"] = [[k, "0" * 64 if k == "answer" else h, n] for k, h, n in manifest["values"]]
    manifest["replies"] = None
    (store / "s5" / "hw.ipynb.json").write_text(json.dumps(manifest))  # its blob gone, no replies: s5 runs again
    (store / "objects" / ("ab" * 32)).write_bytes(b"named by no snapshot")  # the batch's end sweeps it away
    again = {r.student: r for r in _grade(course, workers=1)}
    assert {p.name for p in (store / "objects").iterdir()} == blobs
    assert {s: r.score for s, r in again.items()} == {f"s{i}": 2.0 for i in range(6)}
    for student in ("s0", "s3"):  # the new grader asks what the old one did: its replies answer, no kernel
        assert [m.key for m in again[student].messages] == ["snapshot_replayed"]
        assert again[student].executions == first[student].executions  # the record of the original run
    [fallback] = again["s5"].messages
    assert fallback.key == "snapshot_fallback" and "hw.ipynb" in catalogue.render(fallback, "en")
    assert "variable answer (000000000000) are missing" in catalogue.render(fallback, "en")
    rewritten = json.loads((store / "s5" / "hw.ipynb.json").read_text())["values"]
    assert {k: h for k, h, _ in rewritten}["answer"] == named["s5"]["answer"]  # it did run again: only a run writes


def test_a_running_dask_cluster_regrades_from_snapshots_in_the_kernels_it_kept(course):
    """A cluster that outlives `davar grade` (a TA's scheduler and workers): its worker sees the driver's
    snapshot folder (this machine), so a changed grader regrades from the snapshots, and the worker keeps the
    pool it started for the first version of the graders (a kernel already warm when the regrade comes)."""
    distributed = pytest.importorskip("distributed")
    graders, _, _ = course
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
        pool_now = lambda: id(__import__("davar.run.pool", fromlist=["_pool"])._pool)  # noqa: E731 (sent by value)
        first = {r.student: r for r in _grade(course, workers=1, cluster=cluster.scheduler_address)}
        [kept] = client.run(pool_now).values()
        grader = graders / "test_tiny.py"
        grader.write_text(grader.read_text().replace("== 42", "in (41, 42)"))  # the TA accepts 41 too
        again = {r.student: r for r in _grade(course, workers=1, cluster=cluster.scheduler_address)}
        assert list(client.run(pool_now).values()) == [kept]
    batch._remove_after(pids)
    assert {s: r.score for s, r in first.items()} == {f"s{i}": 0.0 if i in (3, 5) else 2.0 for i in range(6)}
    assert {s: r.score for s, r in again.items()} == {f"s{i}": 2.0 for i in range(6)}
    assert all([m.key for m in r.messages] == ["snapshot_replayed"] for r in again.values())
    assert all(again[s].executions == first[s].executions for s in first)


# ------------------------------------------------------------------------ stops, leftovers, the workers' data

strict = pytest.mark.skipif(LEVEL != "strict", reason="needs the strict sandbox: cgroups and sandbox uids")
ENDLESS = "import time\nwhile True:\n    time.sleep(0.1)"


@pytest.fixture
def endless(course):
    """The tiny assignment with two students whose notebooks never end."""
    graders, subs, out = course
    for i in range(2, 6):
        for f in (subs / f"s{i}").iterdir():
            f.unlink()
        (subs / f"s{i}").rmdir()
    for i in range(2):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(ENDLESS)])
        nbformat.write(nb, subs / f"s{i}" / "hw.ipynb")
    return graders, subs, out


def _driver(endless, tmp_path) -> subprocess.Popen:
    graders, subs, out = endless
    cmd = [sys.executable, "-m", "davar.cli", "grade", str(graders), str(subs), "--out", str(out), "--sandbox", LEVEL,
           "--workers", "2"]
    with open(tmp_path / "stdout", "wb") as stdout:
        return subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL, start_new_session=True)


def _kernels_running(driver, leftovers):
    """The driver's two workers, once each has a kernel running in its run's cgroup."""
    assert driver.poll() is None, "the driver ended before its kernels started"
    busy = [w for w in leftovers.children(driver.pid) if leftovers.sandboxed([w], kernels_only=True)]
    return busy if len(busy) == 2 else None


@strict
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP], ids=lambda s: s.name)
def test_a_stop_signal_ends_the_workers_and_their_kernels_and_leaves_no_run_behind(endless, tmp_path, stop,
                                                                                   leftovers):
    driver = _driver(endless, tmp_path)
    try:
        workers = leftovers.until(lambda: _kernels_running(driver, leftovers), "two kernels")
        assert leftovers.sandboxed(workers) and leftovers.runs(workers)
        driver.send_signal(stop)
        assert driver.wait(timeout=120) == 128 + stop
    finally:
        driver.kill()
    assert not [w for w in workers if leftovers.stat(w)], "a worker outlived its driver"
    assert leftovers.sandboxed(workers) == [] and leftovers.runs(workers) == []
    said = (tmp_path / "stdout").read_text()
    assert said.startswith(f"Stopped by {stop.name}") and "0 results of this run are in the gradebook" in said
    assert "2 submissions were not finished. Run the same command again" in said


@strict
def test_a_killed_driver_takes_its_workers_along_and_the_next_batch_removes_what_it_left(endless, tmp_path, capsys,
                                                                                        leftovers):
    graders, subs, out = endless
    driver = _driver(endless, tmp_path)
    try:
        workers = leftovers.until(lambda: _kernels_running(driver, leftovers), "two kernels")
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=60)
    finally:
        driver.kill()
    leftovers.until(lambda: not [w for w in workers if leftovers.stat(w)], "the workers to die with their driver", 30)
    leftovers.until(lambda: not leftovers.sandboxed(workers), "their kernels to die", 30)
    left = leftovers.runs(workers)
    # a kill -9 leaves cgroups and folders: the two running kernels', and those the pools had started ahead
    assert len([p for p in left if p.parent.parent.name == "pids"]) >= 2, left
    for i in range(2):
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("answer = 42")]),
                       subs / f"s{i}" / "hw.ipynb")
    capsys.readouterr()
    assert cli.main(["grade", str(graders), str(subs), "--out", str(out), "--sandbox", LEVEL, "--workers", "1"]) == 0
    said = re.search(r"Removed what an earlier batch left when it was killed: (\d+) cgroups, (\d+) run folders",
                     capsys.readouterr().out)
    assert said and int(said[1]) >= 2 and int(said[2]) >= 2  # (and any other dead batch's on this machine)
    assert leftovers.runs(workers) == []
    assert _rows(out) == [("s0", 2.0), ("s1", 2.0)]


def test_dask_workers_on_one_host_share_its_cores_as_local_slots_do():
    """Two LocalCluster workers get what `cpu_slots(2)` gives (half the cores each: the math libraries' threads
    and the pool's depth); a worker alone on its host is not capped; a worker not named by its rank gets it."""
    cores = len(os.sched_getaffinity(0))
    workers = {"tcp://10.0.0.1:1": {"host": "10.0.0.1"}, "tcp://10.0.0.1:2": {"host": "10.0.0.1"},
               "tcp://10.0.0.2:1": {"host": "10.0.0.2"}}
    first = SimpleNamespace(ip="10.0.0.1", name=0, address="tcp://10.0.0.1:1")
    assert batch._worker_slot(first, workers) == Slot(0, threads=max(1, cores // 2))
    alone = SimpleNamespace(ip="10.0.0.2", name="gpu-box", address="tcp://10.0.0.2:1")
    assert batch._worker_slot(alone, workers) == Slot(2)
    assert [s.threads for s in cpu_slots(2)] == [max(1, cores // 2)] * 2


def test_a_worker_without_the_drivers_data_stops_the_batch_and_no_one_gets_a_result(course, monkeypatch):
    """The workers (processes of their own) see other data than the driver: the first refusal stops the
    batch, naming the worker and the path, and nothing is stored."""
    graders, _, out = course
    real = batch.data_digest
    monkeypatch.setattr(batch, "data_digest", lambda *a, **kw: "not " + real(*a, **kw))  # the driver's only
    with pytest.raises(DavarError) as refused:
        _grade(course, workers=2)
    assert refused.value.key == "worker_data_differs"
    assert refused.value.values["path"] == str(load(graders).data_root().absolute())
    assert refused.value.values["worker"].endswith(")") and "pid " in refused.value.values["worker"]
    assert not (out / "tiny" / "gradebook.sqlite").exists() or _rows(out) == []
    assert list(out.glob("tiny/s*/result.json")) == []


def test_a_dask_worker_without_the_data_refuses_before_grading(hw2, repo, tmp_path, monkeypatch):
    """The Dask task, called as a worker started without --data would run it: the driver's data root is
    empty there, so it refuses, naming the path and what is missing, before anything runs."""
    sub = inbox.collect(repo / "submissions" / hw2.id / "passes", hw2)[0]
    expected = batch.DataExpected(root=tmp_path / "data", digest=batch.data_digest(hw2), batch="b")
    course = batch._course_files(hw2)
    monkeypatch.setattr(batch, "_courses", {})  # where this "worker" writes the graders, removed below
    with pytest.raises(DataNotFound) as refused:
        batch._grade_on_worker(batch._files(sub.root, sub.files, 2**30), sub, course, "k", hw2.id, LEVEL, "standin",
                               expected)
    for folder in batch._courses.values():
        shutil.rmtree(folder)
    assert refused.value.key == "worker_data_missing"
    assert refused.value.values["path"] == str(tmp_path / "data" / hw2.id)
    assert "hidden/digits" in refused.value.values["missing"] and "public/digits" in refused.value.values["missing"]
    assert "worker" in catalogue.text("worker_data_missing", "en", refused.value.values)
    other = batch.DataExpected(root=hw2.data_root().parent, digest=expected.digest, batch="b", version="0.0.1")
    with pytest.raises(DavarError) as refused:  # the same data, read by another davar: another digest
        batch.check_data(hw2, expected=other, profile="standin", worker="w")
    assert refused.value.key == "worker_davar_differs" and refused.value.values["driver_version"] == "0.0.1"
