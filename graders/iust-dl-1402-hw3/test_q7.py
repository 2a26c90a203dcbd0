"""Q7 (Q7.ipynb): a CNN with an Inception module on CIFAR-10, as `model` (Keras).

- q7_inception: the module is found in the MODEL GRAPH (ModelProbe.graph(), davar.probe.graph): a
  concatenation joining at least `min_branches` parallel branches that start from one common node,
  each with a convolution or pooling, whose receptive fields take at least `min_kernel_sizes`
  different sizes (assignment.toml `inception`).  Layer names and the notebook's text play no part.
- q7_trained: accuracy on the first `trained_sample` public training images above the most common
  class's share plus `chance_margin`.
- q7_hidden_accuracy (the bonus question "7-bonus"): the handout's "above 80 % in training".  Both
  measurements are taken and shown in its messages: accuracy on the public training images (the first
  `train_sample` of them, 0: all) and on the hidden CIFAR-10 test batch (labels never enter the
  sandbox); the bonus follows the one `split` names in assignment.toml ("train", the handout's words, by
  default; "hidden" for the test batch), full above the threshold, else its `partial` scale.

The design these points presuppose: the model of the question, a CNN WITH AN INCEPTION MODULE.  A model
without one (q7_inception's rule) is not awarded q7_trained or the bonus, however accurate, and their
messages say so ("not awarded: the model has no Inception module").

Inputs are CIFAR-10 images scaled to [0, 1], float32 (N, 32, 32, 3) (cifar10.py reads the binary
batches; the template's loader is its copy) — or raw pixels in [0, 255] for a model that rescales its
input itself (a `Rescaling(1/255)` layer before its first weights; conventions.py).  Outputs are 10
class scores (N, 10), probabilities or logits alike (argmax).
The written parts (the module, the stride, the conv layers explained) are the manual "7-written".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import cifar10
import conventions
import numpy as np
import pytest

from davar import award_accuracy, expect, note

Q, BONUS = "7", "7-bonus"
NAME = "model"
CHUNK = 2000  # images per bridge call: bounds the .npy sent into the exchange folder


@dataclass(frozen=True)
class Inception:
    min_branches: int  # parallel branches joined by one concatenation
    min_kernel_sizes: int  # different receptive-field sizes among them


@dataclass(frozen=True)
class Params:
    inception: Inception
    chance_margin: float  # "trained": above the most common class's share plus this
    trained_sample: int  # on this many public training images


@dataclass(frozen=True)
class Bonus:
    split: Literal["train", "hidden"]  # where "above 80 %" is measured: the public training images or the hidden test
    train_sample: int  # the first this many public training images (0: all)


def _keras_model(sub):
    model = sub.model(NAME)
    expect(model.framework == "keras", "framework", name=NAME, framework=model.framework, expected="Keras")
    return model


def _predicted(model, images: np.ndarray, *, say: bool = True) -> np.ndarray:
    """The classes `model` (a ModelProbe) predicts for uint8 `images`, given as it wants them (conventions.py;
    `say`: note it in the test's messages when that is raw pixels)."""
    rescaling = conventions.input_rescaling(model.layers())
    if rescaling and say:
        note("input_rescaled", name=NAME, layer=rescaling.layer, scale=rescaling.scale)
    parts = []
    for start in range(0, len(images), CHUNK):
        chunk = images[start:start + CHUNK].astype(np.float32) / conventions.PIXEL_MAX
        out = np.asarray(model.predict(conventions.fed(chunk, rescaling)))
        count = len(chunk)
        if out.shape != (count, len(cifar10.CLASSES)):
            expect(False, "model_outputs", name=NAME, shape=list(out.shape), count=count, expected="(N, 10)")
        parts.append(out.argmax(axis=1))
    return np.concatenate(parts)


def _extents(merge) -> str:
    return ", ".join("×".join(map(str, e)) for e in merge.extents) or "—"


def _inception(sub, assignment):
    """(found, the message values): whether `model`'s graph has an Inception module by question 7's rule,
    and what was found (the module, or the closest concatenation; `key` is the message to show)."""
    rule = asdict(assignment.question(Q).params(Params).inception)
    model = sub.model(NAME)
    graph = model.graph()
    if graph is None:
        return False, {"key": "graph_unavailable", "name": NAME, "why": model.graph_error()}
    merges = [m for m in graph.concat_merges() if m.split is not None]
    if not merges:
        return False, {"key": "inception_no_concat", "name": NAME,
                       "layers": ", ".join(dict.fromkeys(n.type for n in graph.layers()))}
    modules = graph.inception_modules(**rule)
    best = modules[0] if modules else max(merges, key=lambda m: (len(m.working_branches), len(set(m.extents))))
    return bool(modules), {"key": "inception", "name": NAME, "merge": best.node.name,
                           "branches": len(best.working_branches), "kernels": _extents(best), **rule}


def _requires_inception(sub, assignment) -> None:
    """Not awarded (the test fails, saying why) when `model` has no Inception module."""
    found, _ = _inception(sub, assignment)
    expect(found, "q7_needs_inception", name=NAME)


@pytest.mark.davar(question=Q, points=5, timeout=60)
def test_q7_inception(sub, assignment):
    _keras_model(sub)
    found, values = _inception(sub, assignment)
    key = values.pop("key")
    expect(found, key, **values)


@pytest.mark.davar(question=Q, points=3, timeout=300)
def test_q7_trained(sub, public_data, assignment):
    """Presupposes the Inception model: not awarded when `model` has no Inception module."""
    _requires_inception(sub, assignment)
    params = assignment.question(Q).params(Params)
    images, labels = cifar10.load_train(public_data / "cifar10")
    images, labels = images[:params.trained_sample], labels[:params.trained_sample]
    chance = float(np.bincount(labels).max() / len(labels))
    threshold = chance + params.chance_margin
    measured = float(np.mean(_predicted(_keras_model(sub), images) == labels))
    expect(measured > threshold, "model_trained", name=NAME, split="public", measured=measured, threshold=threshold,
           chance=chance)


@pytest.mark.davar(question=BONUS, points=10, hidden=True, timeout=600)
def test_q7_hidden_accuracy(sub, public_data, hidden, assignment):
    """The bonus: "above 80 % in training" (assignment.toml `split`: the public training images by default,
    or the hidden test batch); both accuracies are measured and shown.  Presupposes the Inception model:
    not awarded when `model` has no Inception module, whatever its accuracy."""
    question = assignment.question(BONUS)
    bonus = question.params(Bonus)
    train_images, train_labels = cifar10.load_train(public_data / "cifar10")
    if bonus.train_sample > 0:
        train_images, train_labels = train_images[:bonus.train_sample], train_labels[:bonus.train_sample]
    test_images, test_labels = cifar10.load_test(hidden / "cifar10")
    model = _keras_model(sub)
    measured = {"train": float(np.mean(_predicted(model, train_images) == train_labels)),
                "hidden": float(np.mean(_predicted(model, test_images, say=False) == test_labels))}
    note("q7_both_accuracies", name=NAME, train=measured["train"], train_count=len(train_labels),
         hidden=measured["hidden"], hidden_count=len(test_labels), split=bonus.split)
    _requires_inception(sub, assignment)
    award_accuracy(question, measured[bonus.split], name=NAME, split=bonus.split)
