"""The bridge accepts only plain data from the kernel: no pickles, no symlinks, nothing oversize."""

import os
import queue
import threading
from pathlib import Path

import numpy as np
import pytest

from davar import assignment, catalogue
from davar.errors import GradeFailure, MissingName, ReplyRejected, StudentCodeRaised
from davar.intake import inbox
from davar.probe.bridge import Bridge, Sub
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
        yield Sub(live)


def test_plain_values_arrays_and_calls_cross(sub):
    assert sub.has("small") and not sub.has("nothing_here")
    np.testing.assert_array_equal(sub.array("small"), np.arange(6).reshape(2, 3))
    assert sub.call("set_mode", "ok") == "ok"
    with pytest.raises(MissingName):
        sub.value("nothing_here")
    with pytest.raises(StudentCodeRaised):
        sub.call("set_mode")  # missing argument: the student's function raises


@pytest.mark.parametrize("mode, why", [("pickle", "array refused"), ("symlink", "a symbolic link"),
                                       ("huge", "over the 16 MB limit")])
def test_tampered_replies_are_refused(sub, mode, why):
    sub.call("set_mode", mode)
    with pytest.raises(ReplyRejected) as e:
        sub.array("small")
    assert why in catalogue.text(e.value.key, "en", e.value.values)
    with pytest.raises(ReplyRejected):
        sub.call("set_mode", "ok")  # restores the encoder, but this reply is still made by the tampered one
    np.testing.assert_array_equal(sub.array("small"), np.arange(6).reshape(2, 3))


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
    assert sub.source("set_mode").startswith("def set_mode(mode):")


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


# ---------------------------------------------------------------------- bounded: what a kernel leaves stalls nothing


class _Chatty:
    """A kernel client whose kernel answers everything but the request (as a student's thread could)."""

    def get_shell_msg(self, timeout):
        return {"parent_header": {"msg_id": "not-the-request"}, "content": {"status": "ok"}}


def _bare_bridge(exchange_out):
    bridge = Bridge.__new__(Bridge)  # no kernel: only the reading side is exercised
    bridge.exchange_out = exchange_out
    bridge.kc = _Chatty()
    return bridge


@pytest.mark.parametrize("plant, kind", [
    (lambda p: os.mkfifo(p), "a named pipe"),
    (lambda p: p.symlink_to("/dev/zero"), "a symbolic link"),
    (lambda p: p.mkdir(), "a folder"),
])
def test_a_reply_that_is_no_regular_file_is_refused_at_once(tmp_path, plant, kind):
    plant(tmp_path / "r1.json")
    result = {}
    reader = threading.Thread(target=lambda: result.setdefault("e", _refusal(_bare_bridge(tmp_path))), daemon=True)
    reader.start()
    reader.join(20)  # a regression blocks forever: fail, do not hang
    assert not reader.is_alive(), "reading the reply blocked"
    e = result["e"]
    assert e.values["name"] == "small"
    assert kind in catalogue.text(e.key, "en", e.values) and "r1.json" in catalogue.text(e.key, "fa", e.values)


def _refusal(bridge):
    try:
        bridge._read("r1.json", budget=[2**20], name="small")
    except ReplyRejected as e:
        return e
    return None


def test_other_messages_do_not_extend_a_requests_time_limit(tmp_path):
    with pytest.raises(queue.Empty):
        _bare_bridge(tmp_path)._reply_to("the-request", 0.2)
