"""The bridge accepts only plain data from the kernel: no pickles, no symlinks, nothing oversize."""

from pathlib import Path

import numpy as np
import pytest

from davar import assignment, execute, intake, sandbox
from davar.bridge import Sub
from davar.errors import GradeFailure, MissingName, ReplyRejected, StudentCodeRaised

NOTEBOOKS = Path(__file__).parent / "notebooks"


@pytest.fixture(scope="module")
def sub(tmp_path_factory):
    root = tmp_path_factory.mktemp("bridge")
    (root / "graders" / "b").mkdir(parents=True)
    (root / "graders" / "b" / "assignment.toml").write_text(
        'id = "b"\ntitle = { fa = "پل", en = "bridge" }\nnotebooks = ["notebook.ipynb"]\n[limits]\nreply_mb = 16\n')
    (root / "data" / "b" / "public").mkdir(parents=True)
    spec = assignment.load(root / "graders" / "b")
    level = sandbox.choose_level("auto")
    with execute.run(intake.collect(NOTEBOOKS / "tampers_with_bridge", spec)[0], spec, level=level) as live:
        yield Sub(live)


def test_plain_values_arrays_and_calls_cross(sub):
    assert sub.has("small") and not sub.has("nothing_here")
    np.testing.assert_array_equal(sub.array("small"), np.arange(6).reshape(2, 3))
    assert sub.call("set_mode", "ok") == "ok"
    with pytest.raises(MissingName):
        sub.value("nothing_here")
    with pytest.raises(StudentCodeRaised):
        sub.call("set_mode")  # missing argument: the student's function raises


@pytest.mark.parametrize("mode, why", [("pickle", "array refused"), ("symlink", "cannot open"), ("huge", "larger than")])
def test_tampered_replies_are_refused(sub, mode, why):
    sub.call("set_mode", mode)
    with pytest.raises(ReplyRejected) as e:
        sub.array("small")
    assert why in e.value.values["why"]
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
