"""davar.grading.snapshot_store without a kernel: the kernel side's container (davar/inside/snapshots.py,
called here in-process) split into content-addressed blobs and assembled again, only what a regrade needs
kept; what the harness refuses.  A regrade through the store in a sandbox: the last test here (a grader
that needs a value left out), tests/grading/test_batch.py and test_kernels.py."""

import io
import json

import nbformat
import numpy as np
import pytest

from davar import catalogue
from davar.assignment import load
from davar.errors import SnapshotUnusable
from davar.grading import snapshot_store
from davar.grading.grade import grade_submission
from davar.grading.snapshot_store import MAGIC, SMALL, Needed, Store, read_layout
from davar.inside import snapshots as kernel_side
from davar.intake import inbox
from davar.run import execute, sandbox


def _save(store, student, ns, needed=None):
    """What a kernel saves and `Kernels` keeps: the container, split into the store."""
    with store.incoming() as container:
        with open(container, "wb") as f:
            kernel_side.save(ns, f)
        store.keep(container, store.root / student / "hw.ipynb.json", needed)
    return store.root / student / "hw.ipynb.json"


def _blobs(store):
    return sorted(p.name for p in store.objects.iterdir())


def test_what_students_share_is_stored_once_and_restores_the_same(tmp_path):
    store = Store(tmp_path / "snapshots")
    data = np.random.default_rng(0).random((500, 64))  # the course's dataset, loaded by both: 256 kB
    a = _save(store, "s1", {"X": data, "answer": 42, "np": np, "_hidden": 1})
    b = _save(store, "s2", {"X": data.copy(), "answer": 41, "np": np})
    assert len(_blobs(store)) == 3  # X once, two answers
    assert json.loads(a.read_text())["modules"] == {"np": "numpy"}
    assert a.stat().st_size < 1000 and b.stat().st_size < 1000  # a student's own share: the manifest
    assert store.bytes_per_student() < data.nbytes  # the shared array counted once for the class
    with store.assembled(b) as container:
        ns: dict = {}
        assert kernel_side.restore(ns, container) == {"restored": 2, "failed": {}}
    np.testing.assert_array_equal(ns["X"], data)
    assert ns["answer"] == 41 and ns["np"] is np
    assert not list(store.root.glob(".assembled-*")) and not list(store.root.glob(".incoming-*"))
    b.unlink()  # s2 runs again (its folder emptied): its own answer is no longer named
    assert store.sweep() > 0 and len(_blobs(store)) == 2


def test_a_missing_or_altered_blob_cannot_serve(tmp_path):
    store = Store(tmp_path / "snapshots")
    manifest = _save(store, "s1", {"X": np.arange(1000), "answer": 42})
    [(_, x, _), _] = json.loads(manifest.read_text())["values"]
    (store.objects / x).write_bytes(b"not what was saved")
    with pytest.raises(SnapshotUnusable) as e, store.assembled(manifest):
        pass
    assert e.value.key == "snapshot_blob_altered" and e.value.values["name"] == "X"
    assert not (store.objects / x).exists()  # removed: the next save stores it anew
    with pytest.raises(SnapshotUnusable) as e, store.assembled(manifest):
        pass
    assert e.value.key == "snapshot_blob_missing" and "variable X" in str(e.value)


def test_what_no_grader_read_is_left_out_unless_small(tmp_path):
    store = Store(tmp_path / "snapshots")
    big, read = np.zeros(SMALL // 8 + 1), np.ones(SMALL // 8 + 1)  # just past the size kept unread
    needed = Needed(frozenset({"read", "absent"}), unpicklable=("gen",))
    manifest = _save(store, "s1", {"big": big, "read": read, "table": np.arange(1000), "np": np}, needed)
    kept = snapshot_store.read_manifest(manifest)
    assert [k for k, _, _ in kept.values] == ["read", "table"] and kept.modules == (("np", "numpy"),)
    [(name, size), unpicklable] = kept.dropped
    assert name == "big" and size > SMALL and unpicklable == ("gen", -1)
    assert not kept.all_models  # no grader listed the models: one may be among what was left out
    assert len(_blobs(store)) == 2 and store.bytes_per_student() < 2 * SMALL
    with store.assembled(manifest) as container:
        ns: dict = {}
        assert kernel_side.restore(ns, container) == {"restored": 2, "failed": {}}
    assert sorted(ns) == ["np", "read", "table"]


def _container(header: bytes, body: bytes = b"", *, length: int | None = None) -> bytes:
    size = len(header) if length is None else length
    return MAGIC + size.to_bytes(8, "big") + header + body


@pytest.mark.parametrize(("data", "problem"), [
    (b"\x80\x04K*.", "magic"),  # a bare pickle
    (_container(b"{}", length=2**40), "header_size"),
    (_container(b'{"values": [', length=snapshot_store.HEADER_LIMIT + 1), "header_size"),
    (_container(b"\xff\xfe"), "header_json"),
    (_container(b"[" * 100_000 + b"]" * 100_000), "header_json"),
    (_container(b'{"values": [["x", -1]], "modules": {}}'), "header_shape"),
    (_container(b'{"values": [["x", 1], ["x", 1]], "modules": {}}', b"ab"), "header_shape"),
    (_container(b'{"values": [["x", true]], "modules": {}}', b"a"), "header_shape"),
    (_container(b'{"values": [], "modules": {"np": 1}}'), "header_shape"),
    (_container(b'{"values": [["x", 5]], "modules": {}}', b"abc"), "lengths"),  # past the end of the file
    (_container(b'{"values": [["x", 1]], "modules": {}}', b"abc"), "lengths"),  # bytes no value owns
])
def test_the_header_parser_refuses_a_malformed_container(data, problem):
    with pytest.raises(SnapshotUnusable) as e:
        read_layout(io.BytesIO(data), len(data))
    assert (e.value.key, e.value.values["problem"]) == ("snapshot_malformed", problem)


LEVEL = "strict" if sandbox.detect().best == "strict" else "none"
NOTEBOOK = """import numpy as np
big = np.arange(300_000, dtype=np.float64)  # 2.4 MB: no grader of the first run reads it
table = np.arange(1000)
answer = 42

def predict(n):
    return float(big[:n].sum())
"""
READS = {  # what each version of the grader asks the kernel about
    "first": 'sub.value("answer") == 42 and sub.call("predict", 3) == 3.0',
    "threshold": 'sub.value("answer") >= 40 and sub.call("predict", 3) > 2.5',  # what "first" asks, judged anew
    "swallows": '_asked(lambda: sub.call("predict", 5)) == 10.0',  # a new request, its errors swallowed
    "kept": 'sub.call("predict", 4) == 6.0 and len(sub.value("table")) == 1000',  # `predict` carries `big`
    "dropped": 'sub.value("big")[2] == 2.0',
    "drawn": 'sub.call("predict", (n := int(rng.integers(2, 10**5)))) == n * (n - 1) / 2',  # fresh inputs
}
GRADER = """import pytest
from davar import expect

def _asked(request):
    try:
        return request()
    except Exception:
        return None

@pytest.mark.davar(question="1", points=2)
def test_answer(sub, rng):
    expect({reads}, "assertion", detail="reads")
"""


@pytest.fixture
def grade(tmp_path, one_question):
    """`grade(reads, previous=None)`: the one student of NOTEBOOK graded by GRADER with READS[reads], its snapshot
    in `tmp_path / "snapshots" / "s1"`."""
    graders = one_question(tmp_path / "graders" / "tiny", "", points=2)
    (tmp_path / "subs" / "s1").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(NOTEBOOK)]),
                   tmp_path / "subs" / "s1" / "hw.ipynb")
    assignment = load(graders)
    [submission] = inbox.collect(tmp_path / "subs", assignment)

    def grade(reads, previous=None):
        (graders / "test_tiny.py").write_text(GRADER.format(reads=READS[reads]))
        return grade_submission(submission, assignment, level=LEVEL, data_root=tmp_path / "data",
                                snapshot_dir=tmp_path / "snapshots" / "s1", previous=previous)
    return grade


def test_a_grader_that_needs_a_value_left_out_grades_by_running_the_notebook(tmp_path, grade):
    """Four kernels: the full run; a changed grader that reads only what was kept (restored: it asks what the
    first did not); one that reads the big array left out (restored, then run for real)."""
    folder = tmp_path / "snapshots" / "s1"
    first = grade("first")
    assert first.score == 2
    kept = snapshot_store.read_manifest(folder / "hw.ipynb.json")
    assert {"table", "answer", "predict"} <= {k for k, _, _ in kept.values}  # read, or small
    assert [k for k, _ in kept.dropped] == ["big"]
    again = grade("kept", previous=first)
    assert (again.score, [m.key for m in again.messages]) == (2, ["snapshot_regraded"])
    changed = grade("dropped", previous=first)
    assert changed.score == 2
    [fallback] = changed.messages
    assert catalogue.render(fallback, "en") == ("The saved state of hw.ipynb could not be restored (a grader needs "
                                                "`big`, which the snapshot did not keep), so it was run again.")
    # It did run again: only a run writes the manifest, and this one kept what the new grader read.
    assert "big" in [k for k, _, _ in snapshot_store.read_manifest(folder / "hw.ipynb.json").values]


def test_a_regrade_that_asks_what_the_last_grading_asked_starts_no_kernel(tmp_path, grade, monkeypatch):
    """The full run keeps its graders' replies with the snapshot.  A new threshold asks the same: answered from
    them, no kernel started.  A grader that asks something new, even one that swallows the miss, is graded in
    the restored kernel, whose replies then serve the next regrade.  A reply's blob altered: restored."""
    manifest = tmp_path / "snapshots" / "s1" / "hw.ipynb.json"

    def without_kernel(reads, previous):
        with monkeypatch.context() as m:
            m.setattr(execute, "start", lambda *a, **kw: pytest.fail("a kernel started"))
            return grade(reads, previous)

    first = grade("first")
    assert len(snapshot_store.read_manifest(manifest).replies) == 2
    again = without_kernel("threshold", first)
    assert (again.score, [m.key for m in again.messages]) == (2, ["snapshot_replayed"])
    assert again.executions == first.executions
    swallowed = grade("swallows", first)
    assert (swallowed.score, [m.key for m in swallowed.messages]) == (2, ["snapshot_regraded"])
    replayed = without_kernel("swallows", first)
    assert (replayed.score, [m.key for m in replayed.messages]) == (2, ["snapshot_replayed"])
    [(_, _, _, [(_, digest, _)])] = snapshot_store.read_manifest(manifest).replies
    (tmp_path / "snapshots" / "objects" / digest).write_bytes(b'{"ok": {"json": 11.0}}')  # altered: not answered
    altered = grade("swallows", first)
    assert (altered.score, [m.key for m in altered.messages]) == (2, ["snapshot_regraded"])


def test_a_regrade_draws_the_inputs_the_last_grading_drew(tmp_path, grade, monkeypatch):
    """The `rng` seed is kept with the test's result; a regrade draws the same inputs, so it is answered from the
    last grading's replies."""
    first = grade("drawn")
    [[test]] = [q.tests for q in first.questions]
    assert first.score == 2 and isinstance(test.seed, int)
    with monkeypatch.context() as m:
        m.setattr(execute, "start", lambda *a, **kw: pytest.fail("a kernel started"))
        again = grade("drawn", first)
    assert (again.score, [m.key for m in again.messages]) == (2, ["snapshot_replayed"])
    assert [t.seed for q in again.questions for t in q.tests] == [test.seed]


def test_a_grading_that_cannot_stand_stops_at_its_first_miss(tmp_path, grade):
    """The replayed grading that missed runs no test after that one: only the restored kernel's grading does."""
    ran = tmp_path / "ran"
    (tmp_path / "graders" / "tiny" / "test_zlast.py").write_text(
        "import pytest\n\n@pytest.mark.davar(question='1', points=0)\n"
        f"def test_last():\n    open({str(ran)!r}, 'a').write('ran\\n')\n")
    first = grade("first")
    assert ran.read_text() == "ran\n"
    swallowed = grade("swallows", first)
    assert (swallowed.score, [m.key for m in swallowed.messages]) == (2, ["snapshot_regraded"])
    assert ran.read_text() == "ran\n" * 2
