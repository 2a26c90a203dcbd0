"""Q1: KerasTuner on MNIST.

The notebook's tuner is read through the template's given `tuner_trials("tuner")` (its class, search space
and trials as plain data: a tuner object cannot cross the bridge), once the grader has checked that the
notebook's `tuner_trials` is the given one (given.py): a helper rewritten to describe a search that never ran
earns nothing.

- q1_tuner: `tuner` is a KerasTuner tuner (any kind: RandomSearch, Hyperband, BayesianOptimization, ...)
  whose oracle holds at least one completed trial.  Trials that failed (e.g. a search space that builds
  models whose feature maps shrink below the kernel: on 28×28 inputs, a fourth unpadded 3×3 convolution
  after three 2×2 poolings) are reported with their count, as a finding for the TA; they cost no points
  while some trial completed.
- q1_search_space: every hyperparameter of the space within assignment.toml's `maxima`, matched by name
  (see there).
- q1_accuracy (hidden): `best_model` on the hidden digits; full points above the threshold, else the
  partial scale.  Awarded only where q1_tuner finds a search that ran: a model trained without one is
  measured and reported, not awarded (the points are for the search's best model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import mnist_digits
import numpy as np
import pytest
from given import expect_given, is_given

from davar import award_accuracy, expect, note
from davar.errors import MissingName, StudentCodeRaised

Q = "1"
pytestmark = pytest.mark.davar(question=Q)


@dataclass(frozen=True)
class Maxima:
    layers: int
    width: int
    learning_rate: float


@dataclass(frozen=True)
class Params:
    maxima: Maxima


def _trials(sub, assignment) -> dict[str, Any]:
    expect_given(sub, assignment, notebook="HW4.ipynb", cell="q1-given", name="tuner_trials")
    found = sub.call("tuner_trials", "tuner", timeout=60)
    if not isinstance(found, dict) or not isinstance(found.get("trials"), list):
        expect(False, "q1_no_tuner", name="tuner")
    return found


def _largest(hp: dict[str, Any]) -> float | None:
    config = hp.get("config") or {}
    if hp.get("class_name") in ("Int", "Float"):
        value = config.get("max_value")
    elif hp.get("class_name") == "Choice":
        values = [v for v in config.get("values") or [] if isinstance(v, (int, float)) and not isinstance(v, bool)]
        value = max(values) if values else None
    elif hp.get("class_name") == "Fixed":
        value = config.get("value")
    else:
        value = None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _kind(hp: dict[str, Any]) -> str | None:
    """Which of the handout's maxima a hyperparameter falls under, by its name and type (assignment.toml)."""
    name = str((hp.get("config") or {}).get("name", "")).lower()
    if "lr" in name or "learning" in name:
        return "learning_rate"
    if "layer" in name or "num_conv" in name or "num_dense" in name:
        return "layers"
    if hp.get("class_name") == "Int" or (hp.get("class_name") in ("Choice", "Fixed") and
                                         float(_largest(hp) or 0).is_integer() and (_largest(hp) or 0) > 1):
        return "width"
    return None


def _statuses(found: dict[str, Any]) -> list[str]:
    return [str(t.get("status")) for t in found["trials"] if isinstance(t, dict)]


def _searched(sub, assignment) -> bool:
    """What q1_tuner awards, without its messages: the given helper finds a KerasTuner tuner with a completed
    trial."""
    try:
        found = sub.call("tuner_trials", "tuner", timeout=60) \
            if is_given(sub, assignment, notebook="HW4.ipynb", cell="q1-given", name="tuner_trials") else None
    except (MissingName, StudentCodeRaised):
        return False
    return isinstance(found, dict) and isinstance(found.get("trials"), list) \
        and str(found.get("module", "")).startswith("keras_tuner") and "COMPLETED" in _statuses(found)


@pytest.mark.davar(points=5, timeout=90)
def test_q1_tuner(sub, assignment):
    found = _trials(sub, assignment)
    module = str(found.get("module", ""))
    expect(module.startswith("keras_tuner"), "q1_tuner_kind", name="tuner", cls=str(found.get("class"))[:100])
    statuses = _statuses(found)
    completed, failed = statuses.count("COMPLETED"), statuses.count("FAILED")
    if failed:
        note("q1_failed_trials", name="tuner", failed=failed, count=len(statuses))
    expect(completed > 0, "q1_tuner_ran", name="tuner", cls=str(found.get("class"))[:100], completed=completed,
           count=len(statuses))


@pytest.mark.davar(points=5, timeout=90)
def test_q1_search_space(sub, assignment):
    maxima = assignment.question(Q).params(Params).maxima
    limit = {"layers": maxima.layers, "width": maxima.width, "learning_rate": maxima.learning_rate}
    space = _trials(sub, assignment).get("space") or []
    over = []
    for hp in space if isinstance(space, list) else []:
        if not isinstance(hp, dict):
            continue
        kind, largest = _kind(hp), _largest(hp)
        if kind is not None and largest is not None and largest > limit[kind] * (1 + 1e-9):
            name = str((hp.get("config") or {}).get("name"))[:60]
            over.append(expect(False, "q1_space_over", soft=True, name=name, largest=f"{largest:g}", kind=kind,
                               limit=f"{limit[kind]:g}"))
    if over:
        raise over[0]
    expect(len(space) > 0, "q1_space_ok", name="tuner", count=len(space))


@pytest.mark.davar(points=5, hidden=True, timeout=300)
def test_q1_accuracy(sub, hidden, assignment):
    images, labels = mnist_digits.load_hidden(hidden / "mnist")
    model = sub.model("best_model")
    out = np.asarray(model.predict(images.astype(np.float32)[..., None] / 255.0))
    if out.ndim != 2 or out.shape[0] != len(labels):
        expect(False, "model_outputs", name="best_model", shape=list(out.shape), count=len(labels), expected="(N, 10)")
    measured = float(np.mean(out.argmax(axis=1) == labels))
    expect(_searched(sub, assignment), "q1_accuracy_without_search", name="best_model", measured=measured)
    award_accuracy(assignment.question(Q), measured, name="best_model")
