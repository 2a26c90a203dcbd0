"""davar/inside/snapshots.py without a kernel: a namespace saved value by value comes back as one namespace, its
functions' globals the restored values, as in the kernel that saved them."""

import json

from davar.inside import snapshots

NOTEBOOK = """
import json
from json import dumps

class Net:
    def forward(self):
        return scale

    @staticmethod
    def version():
        return scale

model = Net()
scale = [2]

def predict(x):
    return model

def given(name):
    return globals()[name]
"""


def test_a_restored_function_runs_the_restored_values_not_copies_of_its_own(tmp_path):
    """Each value is pickled on its own, so `predict` came back with a `model` of its own: a grader watching the
    namespace's `model` (`call_observed`) saw predict run no model, and a `globals()` lookup missed the names."""
    saved = {"__name__": "__main__"}
    exec(NOTEBOOK, saved)
    with open(tmp_path / "snapshot", "wb") as f:
        snapshots.save(saved, f)
    ns = {"__name__": "__main__"}
    assert snapshots.restore(ns, tmp_path / "snapshot")["failed"] == {}
    assert ns["predict"](None) is ns["model"]
    assert ns["given"]("model") is ns["model"] and ns["given"]("scale") is ns["scale"]
    assert ns["model"].forward() is ns["scale"] and ns["Net"].version() is ns["scale"]  # the notebook's methods too
    assert ns["dumps"] is json.dumps and "model" not in json.dumps.__globals__  # a library's own are left alone


def test_a_value_the_snapshot_left_out_stays_the_functions_own_copy(tmp_path):
    """A large value no grader read is left out of what a regrade restores (davar/grading/snapshot_store.py): a
    function that runs it still has the copy it was saved with."""
    ns = {"__name__": "__main__"}
    exec("class Weights:\n    pass\nmodel = Weights()\ndef predict():\n    return model\n", ns)
    with open(tmp_path / "snapshot", "wb") as f:
        snapshots.save({"__name__": "__main__", "predict": ns["predict"]}, f)  # `model` left out
    new = {"__name__": "__main__"}
    snapshots.restore(new, tmp_path / "snapshot")
    assert "model" not in new and type(new["predict"]()).__name__ == "Weights"
