"""The bridge accepts only plain data from the kernel: no pickles, no symlinks, nothing oversize."""

from pathlib import Path

import numpy as np
import pytest

from davar import assignment, execute, intake, sandbox
from davar.bridge import Sub
from davar.errors import MissingName, ReplyRejected, StudentCodeRaised

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
