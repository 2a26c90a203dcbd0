"""Q6 (Resnext.ipynb): a ResNeXt block and a network of them, trained on CIFAR-100.

- q6_resnext_block: the block is found in the MODEL GRAPH (ModelProbe.graph(), davar.probe.graph): a
  residual addition (`residual_adds`: a main path added to a shortcut, identity or projection) whose
  main path holds a grouped convolution (`grouped_convs`: `groups` ≥ `min_cardinality`, ResNeXt's
  cardinality).  A network without grouping (a ResNet block) or without the residual (grouped
  convolutions in a plain stack) is not a ResNeXt block; the message says which part is missing, with
  what was expected and what was found.  Layer and class names play no part.
- q6_hidden_accuracy: the grader reads the CIFAR-100 test records (hidden/cifar100, labels never enter the
  sandbox), sends only the images to the student's `predict(images)` and compares its labels with the
  true ones: full points above `thresholds.accuracy`, else the `partial` scale.  The accuracy counts only
  when it is the model's: while `predict` runs the grader records what the notebook's torch models return
  (`Sub.call_observed`) and predict's labels must be the argmax of `model`'s outputs on at least
  `agreement` of the images.  Presupposes the design: a model without a ResNeXt block is not awarded it,
  whatever its accuracy (the accuracy is still measured and shown).

`predict` takes uint8 (N, 32, 32, 3) RGB images (cifar100.py's loaders) and answers labels 0–99, shape
(N,), or scores (N, 100) whose argmax is the label.  The explanation of the paper is assessed at the
presentation (the handout: no written report): the manual question "6-presentation".
"""

from __future__ import annotations

from dataclasses import dataclass

import cifar100
import numpy as np
import pytest

from davar import award_accuracy, expect, note

Q = "6"
NAME = "model"
EXAMPLE = np.zeros((2, 3, cifar100.SIZE, cifar100.SIZE), np.float32)  # a batch for the torch trace


@dataclass(frozen=True)
class Params:
    min_cardinality: int  # groups of the block's grouped convolution
    agreement: float      # share of images on which predict's label must be the model's argmax


@dataclass(frozen=True)
class Design:
    found: bool
    key: str
    values: dict

    @classmethod
    def of(cls, found: bool, values: dict) -> Design:
        """From the message's values with its `key` among them (the catalogue test finds the key there)."""
        rest = dict(values)
        return cls(found, rest.pop("key"), rest)


def _params(assignment) -> Params:
    return assignment.question(Q).params(Params)


def _torch_model(sub):
    model = sub.model(NAME, discover=True)
    expect(model.framework == "torch", "framework", name=NAME, framework=model.framework, expected="PyTorch")
    return model


def design(graph, min_cardinality: int) -> Design:
    """Whether `graph` holds a ResNeXt block, and the message that says so or what is missing."""
    grouped = [n for n in graph.grouped_convs() if n.groups >= min_cardinality]
    residuals = graph.residual_adds()
    for r in residuals:
        inside = [n for n in r.main.convs if n.groups >= min_cardinality]
        if inside:
            return Design.of(True, {
                "key": "q6_resnext_block", "add": r.node.name or r.node.id, "conv": inside[0].name or inside[0].id,
                "groups": inside[0].groups, "blocks": sum(1 for x in residuals if any(
                    n.groups >= min_cardinality for n in x.main.convs)), "needed": min_cardinality})
    most = max((n.groups for n in graph.nodes if n.is_conv), default=1)
    if not residuals:
        return Design.of(False, {"key": "q6_no_residual", "grouped": len(grouped), "groups": most,
                                 "needed": min_cardinality})
    if not grouped:
        return Design.of(False, {"key": "q6_no_grouping", "residuals": len(residuals), "groups": most,
                                                "needed": min_cardinality})
    return Design.of(False, {"key": "q6_grouping_outside", "residuals": len(residuals), "grouped": len(grouped),
                                                 "conv": grouped[0].name or grouped[0].id, "needed": min_cardinality})


def _design(sub, assignment) -> Design:
    model = _torch_model(sub)
    graph = model.graph(example=EXAMPLE)
    if graph is None:
        return Design.of(False, {"key": "torch_graph_unavailable", "why": model.graph_error(example=EXAMPLE)})
    return design(graph, _params(assignment).min_cardinality)


def as_labels(answer, count: int) -> np.ndarray:
    """predict's answer as one label 0–99 per image: labels (N,), (N, 1), or scores (N, 100) (argmax)."""
    answer = np.asarray(answer)
    if answer.ndim == 2 and answer.shape == (count, cifar100.CLASSES):
        note("predict_scores", name="predict", classes=cifar100.CLASSES)
        answer = np.argmax(answer, axis=1)
    flat = answer.reshape(-1) if answer.size == count else answer
    expect(flat.shape == (count,) and flat.dtype.kind in "biuf" and bool(np.all(np.isfinite(flat))),
           "prediction_shape", name="predict", shape=list(answer.shape), count=count)
    return flat.astype(np.int64)


@pytest.mark.davar(question=Q, points=5, timeout=120)
def test_q6_resnext_block(sub, assignment):
    d = _design(sub, assignment)
    expect(d.found, d.key, name=NAME, **d.values)


@pytest.mark.davar(question=Q, points=7, hidden=True, timeout=300)
def test_q6_hidden_accuracy(sub, hidden, assignment):
    """Presupposes the ResNeXt block: not awarded without one, whatever the accuracy."""
    params = _params(assignment)
    images, labels = cifar100.load_test(hidden / "cifar100")
    _torch_model(sub)
    observed = sub.call_observed("predict", images, models=[NAME])
    predicted = as_labels(observed.result, len(labels))
    outputs = observed.outputs.get(NAME)
    expect(outputs is not None and len(outputs) == len(labels), "predict_uses_model", name="predict",
           models=NAME, count=len(labels))
    assert outputs is not None
    agreement = float(np.mean(predicted == np.argmax(outputs, axis=1)))
    accuracy = float(np.mean(predicted == labels))
    expect(agreement >= params.agreement, "predict_agrees", name="predict", model=NAME, agreement=agreement,
           needed=params.agreement, count=len(labels), measured=accuracy, split="hidden")
    d = _design(sub, assignment)
    expect(d.found, "q6_needs_resnext", name=NAME, measured=accuracy)
    award_accuracy(assignment.question(Q), accuracy, name=NAME, split="hidden")
