"""Whatever a kernel leaves as its reply (any JSON or none, any files or things that are not files at the names
it gives), reading it raises nothing but a `GradeFailure` (so the grader records a status) and never blocks.

Hypothesis drives the bridge's reading side (`Bridge._answer`, then the array and model-description views
graders use) on a bare bridge: no kernel, a fresh exchange folder per example.  Bounded: a fixed number of
examples, derandomized (the same ones every run), no example database; the whole run is joined with a guard
so a read that blocks fails the test instead of hanging the suite."""

import contextlib
import io
import json
import os
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from davar.errors import GradeFailure
from davar.probe.bridge import Bridge, ModelProbe, _as_array

pytestmark = pytest.mark.filterwarnings("ignore:Stored array in format 3.0")  # field names beyond latin-1

LIMIT = 4096  # the bare bridge's reply_limit: small, so "over the limit" is easy to reach
GUARD_S = 120  # the whole run takes a few seconds: only a read that blocks reaches it
FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=6), kids, max_size=4), max_leaves=12)
file_names = st.sampled_from(["r1-1.npy", "r1.json", "../r1-1.npy", "r1-1", "r1-1.npy/x"]) | st.text(max_size=12)
# Descriptors as the kernel side writes them, mostly naming the arrays planted beside the reply; and others
# of every wrong shape (not a descriptor, a kind with the wrong value, an unknown kind, two kinds).
leaves = st.one_of(
    st.sampled_from([{"npy": "r1-1.npy"}, {"npy": "r1-2.npy"}]),
    json_values.map(lambda v: {"json": v}),
    file_names.map(lambda n: {"npy": n}),
    json_values,
    st.tuples(st.sampled_from(["npy", "list", "dict", "pickle"]), scalars).map(lambda t: {t[0]: t[1]}),
    st.dictionaries(st.sampled_from(["json", "npy", "list", "dict", "pickle"]), json_values, max_size=2))
descriptors = st.recursive(leaves, lambda kids: st.lists(kids, max_size=3).map(lambda v: {"list": v})
                           | st.dictionaries(st.text(max_size=4), kids, max_size=3).map(lambda v: {"dict": v}),
                           max_leaves=8)
oks = st.one_of(leaves, descriptors).map(lambda d: {"ok": d})
replies = st.one_of(oks, oks, oks, json_values.map(lambda v: {"missing": v}), json_values.map(lambda v: {"error": v}),
                    json_values, st.dictionaries(st.sampled_from(["ok", "missing", "error", "npy"]), descriptors,
                                                 max_size=3))


def _npy_bytes(arr: np.ndarray, *, allow_pickle: bool = False) -> bytes:
    f = io.BytesIO()
    np.save(f, arr, allow_pickle=allow_pickle)
    return f.getvalue()


arrays = hnp.arrays(hnp.scalar_dtypes() | hnp.array_dtypes(), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
def _with_header(descr, shape: tuple[int, ...], data: bytes) -> bytes:
    """An .npy file whose header says `descr` and `shape`, whatever `data` follows it."""
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False, "shape": shape})
    return f.getvalue() + data


npy_bytes = st.one_of(
    arrays.map(_npy_bytes),
    arrays.map(_npy_bytes),
    st.just(_npy_bytes(np.array([{"a": 1}, None], dtype=object), allow_pickle=True)),
    st.tuples(arrays.map(_npy_bytes), st.integers(0, 300), st.binary(max_size=8)).map(lambda t: t[0][:t[1]] + t[2]),
    st.builds(_with_header, st.sampled_from(["<f8", "|u1", "<U3", "|S0", "|V0", "|O", "<M8[D]", [("a", "<i4")]]),
              st.lists(st.integers(-2, 2**40), max_size=3).map(tuple), st.binary(max_size=64)),
    st.binary(max_size=300))
# What lies at a name: a file's bytes, or something else (created by `_plant`).
contents = st.one_of(npy_bytes, st.sampled_from(["missing", "fifo", "symlink", "device-link", "folder", "huge"]))
reply_texts = replies.map(lambda r: json.dumps(r).encode())
reply_files = st.one_of(reply_texts, reply_texts, reply_texts, st.binary(max_size=100), contents)


def _plant(path: Path, what: bytes | str) -> None:
    if isinstance(what, bytes):
        path.write_bytes(what)
    elif what == "fifo":
        os.mkfifo(path)
    elif what == "symlink":
        path.symlink_to("/etc/hostname")
    elif what == "device-link":
        path.symlink_to("/dev/zero")
    elif what == "folder":
        path.mkdir()
    elif what == "huge":
        with open(path, "wb") as f:
            f.truncate(2**40)  # sparse: a terabyte on paper


def _bare_bridge(out: Path) -> Bridge:
    bridge = Bridge.__new__(Bridge)  # no kernel: only the reading side is exercised
    bridge._reader(LIMIT)
    bridge.exchange_in = bridge.exchange_out = out
    return bridge


class _Replies:
    """A bridge stand-in for `ModelProbe`: each request answers the next of `answers`."""

    def __init__(self, answers):
        self.answers = list(answers)

    def request(self, op, name=None, *args, timeout=None):
        return self.answers.pop(0) if self.answers else {}


def _only_grade_failures(fn) -> None:
    with contextlib.suppress(GradeFailure):
        fn()


@FUZZ
@given(reply=reply_files, first=contents, second=contents)
def _reading_any_reply(reply, first, second):
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        for name, what in (("r1.json", reply), ("r1-1.npy", first), ("r1-2.npy", second)):
            _plant(out / name, what)
        bridge = _bare_bridge(out)
        _only_grade_failures(lambda: _as_array("x", bridge._answer("r1", "x")))


model_descriptions = st.one_of(
    json_values,
    st.fixed_dictionaries({"framework": st.sampled_from(["torch", "keras", None, 1]) | scalars,
                           "params": json_values, "trainable_params": json_values,
                           "layers": st.lists(st.dictionaries(
                               st.sampled_from(["name", "type", "module", "params", "config", "output_shape"]),
                               json_values), max_size=3) | json_values}))


@FUZZ
@given(info=model_descriptions, trace=json_values, graph=json_values, prediction=json_values)
def _reading_any_model_description(info, trace, graph, prediction):
    def probe():
        model = ModelProbe(_Replies([info, {"info": trace, "graph": graph}, {"graph": graph}, prediction]), "m")
        for view in (model.param_count, lambda: model.layers(example=np.zeros(1)), model.graph, model.graph_error,
                     lambda: model.predict(np.zeros(1)), model.layers, lambda: model.param_count(trainable=True)):
            _only_grade_failures(view)

    _only_grade_failures(probe)


def _run_guarded(fuzz) -> None:
    done: dict[str, BaseException | None] = {}

    def run():
        try:
            fuzz()
            done["error"] = None
        except BaseException as e:  # handed back to the test
            done["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GUARD_S)
    assert not thread.is_alive(), "reading a reply blocked"
    if done["error"] is not None:
        raise done["error"]


def test_any_reply_and_files_raise_only_grade_failures_and_never_block():
    _run_guarded(_reading_any_reply)


def test_any_model_description_raises_only_grade_failures():
    _run_guarded(_reading_any_model_description)
