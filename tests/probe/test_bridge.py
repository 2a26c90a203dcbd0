"""The bridge between graders and the kernel: honest answers whatever a notebook patches or plants (a real
sandboxed kernel), and a reading side that accepts only plain data and never blocks (a fake kernel side in this
process: a shell socket that answers each request by planting chosen files)."""

import dataclasses
import json
import os
import queue
import shutil
import signal
import stat
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
import zmq
from jupyter_client.session import Session

from davar import api, assignment, catalogue
from davar.errors import BridgeTimeout, GradeFailure, MissingName, NotReplayed, ReplyRejected, StudentCodeRaised
from davar.inside import protocol
from davar.intake import inbox
from davar.probe import bridge as bridge_module
from davar.probe.bridge import AsTensor, Bridge, Replay, Reply, Sub
from davar.run import execute, sandbox

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"


@pytest.fixture(scope="module")
def sub(tmp_path_factory):
    root = tmp_path_factory.mktemp("bridge")
    (root / "graders" / "b").mkdir(parents=True)
    (root / "graders" / "b" / "assignment.toml").write_text(
        'id = "b"\ntitle = { fa = "پل", en = "bridge" }\nnotebooks = ["notebook.ipynb"]\n[limits]\nreply_mb = 16\n')
    (root / "data" / "b" / "public").mkdir(parents=True)
    spec = assignment.load(root / "graders" / "b")
    level = sandbox.choose_level("auto")
    with execute.run(inbox.collect(NOTEBOOKS / "tampers_with_bridge", spec)[0], spec, notebook=spec.notebooks[0], level=level) as live:
        assert live.execution.status == "ok", live.execution
        yield Sub(live)


def test_plain_values_arrays_and_calls_cross(sub):
    assert sub.has("small") and not sub.has("nothing_here")
    np.testing.assert_array_equal(sub.array("small"), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(sub.call("double", np.arange(3)), [0, 2, 4])
    assert sub.call("double", "ab") == "abab"
    with pytest.raises(MissingName):
        sub.value("nothing_here")
    with pytest.raises(StudentCodeRaised):
        sub.call("double")  # missing argument: the student's function raises


def test_what_the_notebook_tried_changed_no_answer(sub):
    """tests/notebooks/make.py, "tampers_with_bridge": each attempt was made, and every answer here is honest."""
    tried = sub.value("TRIED")
    assert tried["import"] == "ModuleNotFoundError" and tried["private_modules"] == []
    patched = {module for module, names in tried["patched"].items() if names}
    assert {"_davar_ops", "_davar_protocol", "_davar_models", "_davar_snapshots"} <= patched
    assert {"_davar", "_davar_ops", "numpy", "json", "tempfile", "cloudpickle"} <= set(tried["replaced"])
    assert tried["planted"] >= 4 * 190 and tried["cwd"].endswith("/elsewhere")
    for _ in range(3):  # over the links and pipes planted at the next replies' names
        np.testing.assert_array_equal(sub.array("small"), np.arange(6).reshape(2, 3))
        assert sub.value("not_a_model") == [1, 2, 3]


def test_model_probe_matches_the_framework_reference(sub):
    import torch

    probe = sub.model("model")
    reference = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                                    torch.nn.Linear(4 * 6 * 6, 2))
    assert probe.framework == "torch"
    assert probe.param_count() == probe.param_count(trainable=True) == sum(p.numel() for p in reference.parameters())
    assert [layer.type for layer in probe.layers()] == ["Conv2d", "ReLU", "Flatten", "Linear"]
    assert probe.has_layer("Conv2d") and not probe.has_layer("LSTM")
    assert probe.predict(np.zeros((5, 3, 8, 8), dtype=np.float32)).shape == (5, 2)
    assert sub.find_models() == {"model": {"framework": "torch", "class": "Sequential"}}
    with pytest.raises(GradeFailure) as e:
        sub.model("not_a_model")
    assert e.value.key == "not_a_model"


def test_source_of_a_student_function(sub):
    assert sub.source("double").startswith("def double(x):")


def test_answer_walks_the_answers_dict(sub):
    assert sub.answer("q1", "a") is None  # the notebook has no ANSWERS: every step is missing


# ---------------------------------------------------------------------- model structure (davar.probe.graph)


@pytest.fixture(scope="module")
def branches(tmp_path_factory):
    root = tmp_path_factory.mktemp("branches")
    (root / "graders" / "g").mkdir(parents=True)
    (root / "graders" / "g" / "assignment.toml").write_text(
        'id = "g"\ntitle = { fa = "گراف", en = "graph" }\nnotebooks = ["notebook.ipynb"]\n')
    (root / "data" / "g" / "public").mkdir(parents=True)
    spec = assignment.load(root / "graders" / "g")
    submission = inbox.collect(NOTEBOOKS / "models_with_branches", spec)[0]
    with execute.run(submission, spec, notebook=spec.notebooks[0], level=sandbox.choose_level("auto")) as live:
        assert live.execution.status == "ok", live.execution
        yield Sub(live)


def test_keras_functional_inception_modules(branches):
    graph = branches.model("keras_inception").graph()
    modules = graph.inception_modules()
    assert len(modules) == 2 and len(graph.concat_merges()) == 3  # three identical 3x3 branches are not one
    first, second = modules
    assert first.split.kind == "input" and second.split == first.node
    assert [b.kernel_sizes for b in first.branches] == [((1, 1),), ((1, 1), (3, 3)), ((1, 1), (5, 5)), ((1, 1),)]
    assert [b.has_pool for b in first.branches] == [False, False, False, True]
    assert first.node.output_shape == (None, 16, 16, 16) and first.axis == -1
    assert not graph.residual_adds() and not graph.grouped_convs()


def test_keras_sequential_is_a_chain(branches):
    probe = branches.model("keras_chain")
    graph = probe.graph()
    assert [n.type for n in graph.nodes] == ["InputLayer", "Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    assert all(n.inputs == (prev.id,) for prev, n in zip(graph.nodes, graph.nodes[1:]))
    assert not graph.concat_merges() and not graph.residual_adds()
    assert [n.output_shape for n in graph.nodes[1:]] == [l.output_shape for l in probe.layers()]


def test_keras_custom_layer_inside_a_subclassed_model_is_replayed(branches):
    graph = branches.model("keras_custom").graph()
    (module,) = graph.inception_modules()
    assert module.node.id.startswith("inception_block/") and module.split.kind == "input"
    assert [b.kernel_sizes for b in module.branches] == [((1, 1),), ((1, 1), (3, 3)), ((1, 1),)]
    assert graph.nodes[-1].type == "Dense" and graph.nodes[-1].output_shape == (None, 2)


def _reference_shapes(model, x):
    """Each leaf module's output shape, by forward hooks here (the framework is the truth)."""
    import torch

    shapes = {}

    def record(module, inputs, output):
        shapes.setdefault(names[module], tuple(output.shape))

    names = {m: qual for qual, m in model.named_modules() if not list(m.children())}
    for m in names:
        m.register_forward_hook(record)
    with torch.no_grad():
        model.eval()(torch.from_numpy(x))
    return shapes


def _fixture_models():
    """The fixture notebook's torch models built here, from make.py's source (our own trusted code)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    namespace = {}
    exec(make.NOTEBOOKS["models_with_branches"][0], namespace)
    return namespace


def test_torch_inception_and_per_layer_output_shapes(branches):
    probe = branches.model("torch_inception")
    x = np.zeros((2, 3, 8, 8), dtype=np.float32)
    graph = probe.graph()
    assert all(n.output_shape is None for n in graph.nodes)  # no example input: no shapes
    (module,) = graph.inception_modules()
    assert module.node.type == "cat" and module.axis == 1 and module.split.kind == "input"
    assert [b.extent for b in module.branches] == [(1, 1), (3, 3), (5, 5), (3, 3)]
    assert graph.by_name("0.b2.2").kernel_size == (3, 3)
    want = _reference_shapes(_fixture_models()["torch_inception"], x)
    got = {layer.name: layer.output_shape for layer in probe.layers(example=x)}
    assert got == want and got["0.b4.0"] == (2, 3, 8, 8)
    assert probe.graph(example=x).node(module.node.id).output_shape == (2, 16, 8, 8)
    assert all(layer.output_shape is None for layer in probe.layers())


def test_torch_resnext_block_residual_and_grouped_conv(branches):
    graph = branches.model("torch_resnext").graph()
    (residual,) = graph.residual_adds()
    assert residual.identity and residual.split.name == "0"
    assert [n.type for n in residual.main.convs] == ["Conv2d"] * 3
    (grouped,) = graph.grouped_convs()
    assert grouped.name == "1.grouped" and grouped.groups == 4 and grouped in residual.main.nodes
    assert not graph.concat_merges()


def test_untraceable_torch_model_has_shapes_but_no_graph(branches):
    probe = branches.model("torch_picky")
    x = np.ones((1, 3, 8, 8), dtype=np.float32)
    assert probe.graph() is None and "control flow" in probe.graph_error()
    assert probe.graph(example=x) is None
    want = _reference_shapes(_fixture_models()["torch_picky"], x)
    got = {layer.name: layer.output_shape for layer in probe.layers(example=x)}
    assert got == want and set(want) == {"conv", "fc"}
    assert probe.predict(x).shape == (1, 2)
    assert branches.value("torch_picky.training") is True  # the forward passes restored the training mode


def test_a_model_under_another_name_is_discovered_not_guessed(sub):
    assert sub.model("net", discover=True).name == "model"  # the notebook's only model
    assert sub.model("not_a_model", discover=True).name == "model"  # a placeholder left as it was
    with pytest.raises(GradeFailure) as e:
        sub.model("net", framework="keras", discover=True)
    assert e.value.key == "model_not_found"
    with pytest.raises(MissingName):
        sub.model("net")


def test_an_assignment_alias_is_used_when_the_name_is_missing_and_said(sub):
    kinds = {name: info.get("class") for name, info in sub.find_models().items()}
    aliased = Sub(sub._live, aliases={"net": ("no_such_model", "model"), "model": ("net",)})
    verdict = api.Verdict()
    token = api.current.set(verdict)
    try:
        assert aliased.model("net").name == "model" and aliased.has("net")
        assert aliased.model("model").name == "model"  # the notebook has the name itself: no alias
    finally:
        api.current.reset(token)
    assert [(m.key, m.values) for m in verdict.messages] == [("name_alias", {"expected": "net", "found": "model"})] * 2
    assert sub.model("net", kind=kinds["model"], discover=True).name == "model"  # the one model of its class
    with pytest.raises(GradeFailure, match="model_not_found"):
        sub.model("net", kind="Functional", discover=True)


def test_the_snapshot_is_saved_where_the_kernel_started_and_restores(sub, tmp_path):
    """The notebook left named pipes at the snapshot's name and its old temporary name, then moved away: the
    kernel side writes over them, in the folder it started in, and reads the file back."""
    kept = sub._live.save_snapshot(tmp_path / "snapshot.pkl")
    assert {"small", "model", "double", "TRIED"} <= set(kept["kept"])
    assert stat.S_ISREG(os.lstat(tmp_path / "snapshot.pkl").st_mode)
    restored = sub._bridge.request("restore")
    assert restored["failed"] == {} and restored["restored"] == len(kept["kept"])
    np.testing.assert_array_equal(sub.array("small"), np.arange(6).reshape(2, 3))


def test_a_probed_function_that_never_returns_is_interrupted_and_the_kernel_serves_on(sub):
    """An endless loop in a probed function fails that request at its limit; the interrupt (a KeyboardInterrupt
    in the loop) leaves the kernel idle, so the tests after it are still graded."""
    with pytest.raises(BridgeTimeout):
        sub.call("spin", timeout=2)
    assert not sub._bridge.broken
    np.testing.assert_array_equal(sub.call("double", np.arange(3)), [0, 2, 4])


# ---------------------------------------------------------------------- the reading side, against a fake kernel side

LIMIT = 2**20  # the fake bridge's reply_limit
GUARD_S = 20  # far above what a request to the fake takes: only a read that blocks reaches it


class FakeKernel:
    """The kernel side as a stub in this process, and its kernel manager: a shell socket that answers each
    ``davar_request`` by calling ``plant(rid, out)``, which writes what it likes into the exchange folder `out`,
    then with a ``davar_reply`` whose content is what `plant` returned, or ``{"status": "ok"}``."""

    def __init__(self, out: Path):
        self.out, self.plant, self.requests, self.signals = out, lambda rid, out: None, [], []
        self.folder = tempfile.mkdtemp(prefix="davar-fake-")  # short: an ipc path has a length limit
        self.session = Session(key=b"fake-key")
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.bind(f"ipc://{self.folder}/k-1")
        self.info = {"transport": "ipc", "ip": f"{self.folder}/k", "shell_port": 1, "iopub_port": 2, "stdin_port": 3,
                     "control_port": 4, "hb_port": 5, "key": "fake-key", "signature_scheme": "hmac-sha256"}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            if not self.socket.poll(50):
                continue
            idents, frames = self.session.feed_identities(self.socket.recv_multipart())
            request = self.session.deserialize(frames)
            self.requests.append(request)
            content = self.plant(request["content"]["rid"], self.out) or {"status": "ok"}
            self.session.send(self.socket, protocol.REPLY, content, parent=request, ident=idents)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close(linger=0)
        self.context.term()
        shutil.rmtree(self.folder)

    # what the bridge asks of a kernel manager
    def get_connection_info(self):
        return self.info

    async def is_alive(self):
        return True

    async def signal_kernel(self, signum):
        self.signals.append(signum)


@pytest.fixture
def fake(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    kernel = FakeKernel(tmp_path / "out")
    bridge = Bridge(kernel, exchange_in=tmp_path / "in", exchange_out=tmp_path / "out", reply_limit=LIMIT)
    yield kernel, bridge
    bridge.close()
    kernel.close()


def _bounded(fn):
    """fn() in a thread joined with `GUARD_S`: what it returned or raised; a failure, not a hang, if it blocks."""
    done = {}

    def run():
        try:
            done["value"] = fn()
        except BaseException as e:  # handed back to the test
            done["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GUARD_S)
    assert not thread.is_alive(), "reading the reply blocked"
    return done


def _reply(obj, **files):
    """A plant: the reply ``<rid>.json`` holding `obj` (text as it is, else JSON with NaN allowed) and each of
    `files` (name with ``{rid}``: a function of the path) planted."""
    def plant(rid, out):
        for name, make in files.items():
            make(out / name.format(rid=rid))
        if obj is not None:
            text = obj if isinstance(obj, str) else json.dumps(obj)
            (out / f"{rid}.json").write_text(text.replace("{rid}", rid))
    return plant


def _array(make):
    return _reply({"ok": {"npy": "{rid}-1.npy"}}, **{"{rid}-1.npy": make})


def _npy(arr, **kw):
    return lambda p: np.save(p, arr, **kw)


def _sparse(size):
    def make(p):
        with open(p, "wb") as f:
            f.truncate(size)
    return make


def _forged_header(p):
    """An .npy header that claims a terabyte over eight bytes."""
    np.save(p, np.zeros(1, dtype=np.float64))
    data = p.read_bytes().replace(b"(1,)", b"(2**40,)".replace(b"2**40", str(2**40).encode()))
    p.write_bytes(data)


def _device(p):
    os.mknod(p, stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null's numbers: needs CAP_MKNOD


REFUSED = {
    "pickled object array": (_array(_npy(np.array([{"a": 1}], dtype=object), allow_pickle=True)), "array refused"),
    "structured dtype": (_array(_npy(np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]))), "array refused"),
    "datetime dtype": (_array(_npy(np.array(["2024-01-01"], dtype="datetime64[D]"))), "array refused"),
    "forged array header": (_array(_forged_header), "array refused"),
    "random bytes as an array": (_array(lambda p: p.write_bytes(os.urandom(100))), "array refused"),
    "array that is a link": (_array(lambda p: p.symlink_to("/etc/hostname")), "a symbolic link"),
    "array that is a pipe": (_array(os.mkfifo), "a named pipe"),
    "array that is a device": (_array(_device), "a device node"),
    "array that is a folder": (_array(os.mkdir), "a folder"),
    "array over the limit": (_array(_sparse(LIMIT + 1)), "over the 1 MB limit"),
    "arrays over the limit together": (
        _reply({"ok": {"list": [{"npy": "{rid}-1.npy"}, {"npy": "{rid}-2.npy"}]}},
               **{"{rid}-1.npy": _npy(np.zeros(LIMIT // 2)), "{rid}-2.npy": _npy(np.zeros(LIMIT // 2))}),
        "over the"),
    "reply that is a link": (_reply(None, **{"{rid}.json": lambda p: p.symlink_to("/etc/hostname")}),
                             "a symbolic link"),
    "reply that is a pipe": (_reply(None, **{"{rid}.json": os.mkfifo}), "a named pipe"),
    "reply that is a folder": (_reply(None, **{"{rid}.json": os.mkdir}), "a folder"),
    "reply over the limit": (_reply(None, **{"{rid}.json": _sparse(LIMIT + 1)}), "over the 1 MB limit"),
    "malformed JSON": (_reply("{not json"), "invalid reply"),
    "JSON nested too deeply": (_reply('{"ok": ' + '{"list": [' * 5000 + "]}" * 5000 + "}"), "refused"),
    "a file outside the exchange folder": (_reply({"ok": {"npy": "../../etc/passwd"}}), "bad file name"),
    "an unknown kind of value": (_reply({"ok": {"pickle": "gASV"}}), "unknown reply kind"),
    "a list that is none": (_reply({"ok": {"list": 5}}), "malformed reply"),
    "two answers": (_reply({"ok": {"json": 1}, "missing": "x"}), "malformed reply"),
    "no reply file": (_reply(None), "cannot open reply"),
    "no reply and an error": (lambda rid, out: {"status": "error"}, "did not answer"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_reply_that_is_not_plain_data_is_refused_without_blocking(fake, case, tmp_path):
    kernel, bridge = fake
    if case == "array that is a device":
        try:
            _device(tmp_path / "device")
        except PermissionError:
            pytest.skip("making a device node needs CAP_MKNOD")
    kernel.plant, words = REFUSED[case]
    done = _bounded(lambda: bridge.request("value", "small"))
    e = done.get("error")
    assert isinstance(e, ReplyRejected), done
    assert e.values["name"] == "small" and words in catalogue.text(e.key, "en", e.values)
    assert catalogue.text(e.key, "fa", e.values)
    assert not bridge.broken and not [p for p in kernel.out.iterdir() if not p.is_dir()]  # the reply's files removed


ACCEPTED = {
    "NaN and infinities in JSON": (_reply('{"ok": {"json": [NaN, Infinity, -Infinity, 1e400]}}'),
                                   [np.nan, np.inf, -np.inf, np.inf]),
    "NaN and infinities in an array": (_array(_npy(np.array([np.nan, np.inf, -np.inf]))), [np.nan, np.inf, -np.inf]),
    "an array of another byte order": (_array(_npy(np.arange(3, dtype=">i8"))), [0, 1, 2]),
    "an array of text": (_array(_npy(np.array(["cat", "dog"]))), ["cat", "dog"]),
}


@pytest.mark.parametrize("case", ACCEPTED)
def test_plain_data_of_any_plain_kind_is_accepted(fake, case):
    kernel, bridge = fake
    kernel.plant, want = ACCEPTED[case]
    got = _bounded(lambda: bridge.request("value", "small"))
    np.testing.assert_array_equal(got["value"], want)


def test_a_request_is_a_message_on_the_shell_channel_and_nothing_the_kernel_prints_is_heard(fake):
    """The request names its op and arguments (JSON text: NaN goes through); besides shell, only control (to
    interrupt) is connected: no iopub, whose messages would pile up unread."""
    kernel, bridge = fake
    kernel.plant = _reply({"ok": {"json": "done"}})
    assert bridge.request("call", "f", np.ones(2), float("nan")) == "done"
    (request,) = kernel.requests
    assert request["header"]["msg_type"] == protocol.REQUEST
    content = request["content"]
    assert (content["rid"], content["op"], content["name"]) == ("r1", "call", "f")
    assert json.loads(content["args"])[0] == {"npy": "r1-in0.npy"} and np.isnan(json.loads(content["args"])[1]["json"])
    kc = bridge.kc
    assert (kc._iopub_channel, kc._stdin_channel, kc._hb_channel) == (None, None, None)


def test_a_reply_message_over_the_size_cap_is_dropped_and_the_request_times_out(fake):
    """A forged huge ``davar_reply`` never reaches the harness's memory: zmq drops it at the socket."""
    kernel, bridge = fake
    kernel.plant = lambda rid, out: {"status": "ok", "padding": "x" * 4 * 2**16}
    done = _bounded(lambda: bridge.request("value", "small", timeout=1.0))
    assert isinstance(done.get("error"), BridgeTimeout), done
    assert bridge.broken == "bridge_timeout" and kernel.signals == [signal.SIGKILL]


class _Chatty:
    """A kernel client whose kernel answers everything but the request (as a student's thread could), and
    sends what cannot be read."""

    def __init__(self):
        self.calls = 0

    def get_shell_msg(self, timeout):
        self.calls += 1
        if self.calls % 2:
            raise ValueError("Invalid Signature")
        return {"parent_header": {"msg_id": "not-the-request"}, "content": {"status": "ok"}}


def test_other_messages_do_not_extend_a_requests_time_limit():
    bridge = Bridge.__new__(Bridge)  # no kernel: only the waiting is exercised
    bridge.kc = _Chatty()
    with pytest.raises(queue.Empty):
        bridge._reply_to("the-request", 0.2)


# ------------------------------------------------------------------ replies kept for a regrade (Replay)

ANSWERS = {  # what the fake kernel answers each request of the grading below, by op and name
    ("value", "small"): _array(_npy(np.arange(6))),
    ("call", "double"): _reply({"ok": {"json": [0, 2, 4]}}),
    ("value", "gone"): _reply({"missing": True}),
    ("call", "broken"): _reply({"error": {"type": "ValueError", "message": "no", "traceback": ""}}),
}


def _grading(bridge, start=0):
    """A grader's requests (an array from `start`); what each answered or raised (by type)."""
    x, out = np.arange(start, start + 3), []
    for ask in (lambda: bridge.request("value", "small"), lambda: bridge.request("call", "double", x, AsTensor(x)),
                lambda: bridge.request("value", "gone"), lambda: bridge.request("call", "broken", "a")):
        try:
            out.append(np.asarray(ask()).tolist())
        except GradeFailure as e:
            out.append(type(e).__name__)
    return out


def _answering(kernel):
    def plant(rid, out):
        request = kernel.requests[-1]["content"]
        return ANSWERS[request["op"], request["name"]](rid, out)
    kernel.plant = plant


def test_a_recorded_grading_is_answered_again_without_a_kernel_while_it_asks_the_same(fake):
    """Values, a call with an array and a tensor, a missing name and the student's error: recorded once the
    bridge is told to (not the request before), each answered again in order by `Replay`, the same."""
    kernel, bridge = fake
    _answering(kernel)
    bridge.request("value", "small")  # before `record`: not kept (the snapshot's own request)
    bridge.record()
    live = _grading(bridge)
    assert live == [[0, 1, 2, 3, 4, 5], [0, 2, 4], "MissingName", "StudentCodeRaised"]
    assert [dict(r.files).keys() for r in bridge.replies] == [{"r2.json", "r2-1.npy"}, {"r3.json"}, {"r4.json"},
                                                              {"r5.json"}]
    replay = Replay(bridge.replies, reply_limit=LIMIT)
    assert _grading(replay) == live and not replay.missed
    assert _grading(Replay(bridge.replies[:2], reply_limit=LIMIT))[:2] == live[:2]  # fewer recorded: a prefix serves


@pytest.mark.parametrize("other", ["argument", "order", "more", "shorter limit"])
def test_a_request_the_replies_lack_misses_and_every_later_one_too(fake, other):
    kernel, bridge = fake
    _answering(kernel)
    bridge.record()
    _grading(bridge)
    replay = Replay(bridge.replies, reply_limit=LIMIT)
    if other == "shorter limit":  # the kernel took 5 s then: a grader now allowing 1 s is not answered from it
        replay = Replay([dataclasses.replace(bridge.replies[0], seconds=5.0)], reply_limit=LIMIT)
        with pytest.raises(NotReplayed):
            replay.request("value", "small", timeout=1.0)
    elif other == "argument":  # the same request with another array
        assert _grading(replay, start=1)[1:] == ["NotReplayed"] * 3
    elif other == "order":
        with pytest.raises(NotReplayed):
            replay.request("value", "gone")
        assert _grading(replay) == ["NotReplayed"] * 4  # a miss is for good: what follows is not answered
    else:
        _grading(replay)
        with pytest.raises(NotReplayed):
            replay.request("value", "small")
    assert replay.missed


def test_a_request_without_its_answer_or_too_many_bytes_leaves_no_replies(fake, monkeypatch):
    kernel, bridge = fake
    _answering(kernel)
    bridge.record()
    bridge.request("value", "small")
    kernel.plant = _reply("not json")
    with pytest.raises(ReplyRejected):
        bridge.request("value", "small")
    assert bridge.replies is None  # a regrade could not give the same answer: it restores the kernel
    _answering(kernel)
    monkeypatch.setattr(bridge_module, "REPLIES_LIMIT", 200)  # the array's 176 bytes fit, not its reply file too
    bridge.record()
    bridge.request("call", "double", np.arange(3))
    assert len(bridge.replies) == 1
    bridge.request("value", "small")
    assert bridge.replies is None


def test_replayed_files_pass_the_checks_a_live_reply_does(tmp_path):
    """A reply altered in the store (an object array, a reply past the limit) is refused as a kernel's would be."""
    np.save(tmp_path / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    key = bridge_module.request_key("value", "small", ())
    forged = Reply(key, "r1", 0.1, (("r1.json", b'{"ok": {"npy": "r1-1.npy"}}'),
                               ("r1-1.npy", (tmp_path / "pickled.npy").read_bytes())))
    with pytest.raises(ReplyRejected, match="array refused"):
        Replay([forged], reply_limit=LIMIT).request("value", "small")
    with pytest.raises(ReplyRejected):
        Replay([forged], reply_limit=30).request("value", "small")
