"""Q7 (Q7.ipynb): a CNN with an Inception module on CIFAR-10, as `model` (Keras).

- q7_inception: the module is found in the MODEL GRAPH (ModelProbe.graph(), davar.probe.graph): a
  concatenation joining at least `min_branches` parallel branches that start from one common node,
  each with a convolution or pooling, whose receptive fields take at least `min_kernel_sizes`
  different sizes (assignment.toml `inception`).  Layer names and the notebook's text play no part.
- q7_trained: accuracy on the first `trained_sample` public training images above the most common
  class's share plus `chance_margin`.
- q7_hidden_accuracy (the bonus question "7-bonus", hidden): accuracy on the hidden CIFAR-10 test
  batch above the handout's 80 %; labels never enter the sandbox, images go in in chunks.

Inputs are CIFAR-10 images scaled to [0, 1], float32 (N, 32, 32, 3) (cifar10.py reads
the binary batches; the template's loader is its copy); outputs are 10 class scores (N, 10).
The written parts (the module, the stride, the conv layers explained) are the manual "7-written".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cifar10
import numpy as np
import pytest

from davar import award_accuracy, expect

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


def _scaled(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0


def _predicted(sub, images: np.ndarray) -> np.ndarray:
    model = sub.model(NAME)
    expect(model.framework == "keras", "framework", name=NAME, framework=model.framework, expected="Keras")
    parts = []
    for start in range(0, len(images), CHUNK):
        out = np.asarray(model.predict(_scaled(images[start:start + CHUNK])))
        count = min(CHUNK, len(images) - start)
        if out.shape != (count, len(cifar10.CLASSES)):
            expect(False, "model_outputs", name=NAME, shape=list(out.shape), count=count, expected="(N, 10)")
        parts.append(out.argmax(axis=1))
    return np.concatenate(parts)


def _extents(merge) -> str:
    return ", ".join("×".join(map(str, e)) for e in merge.extents) or "—"


@pytest.mark.davar(question=Q, points=5, timeout=60)
def test_q7_inception(sub, assignment):
    rule = asdict(assignment.question(Q).params(Params).inception)
    model = sub.model(NAME)
    expect(model.framework == "keras", "framework", name=NAME, framework=model.framework, expected="Keras")
    graph = model.graph()
    if graph is None:
        expect(False, "graph_unavailable", name=NAME, why=model.graph_error())
    merges = [m for m in graph.concat_merges() if m.split is not None]
    if not merges:
        expect(False, "inception_no_concat", name=NAME, layers=", ".join(dict.fromkeys(n.type for n in graph.layers())))
    modules = graph.inception_modules(**rule)
    best = modules[0] if modules else max(merges, key=lambda m: (len(m.working_branches), len(set(m.extents))))
    expect(modules, "inception", name=NAME, merge=best.node.name, branches=len(best.working_branches),
           kernels=_extents(best), **rule)


@pytest.mark.davar(question=Q, points=3, timeout=300)
def test_q7_trained(sub, public_data, assignment):
    params = assignment.question(Q).params(Params)
    images, labels = cifar10.load_train(public_data / "cifar10")
    images, labels = images[:params.trained_sample], labels[:params.trained_sample]
    chance = float(np.bincount(labels).max() / len(labels))
    threshold = chance + params.chance_margin
    measured = float(np.mean(_predicted(sub, images) == labels))
    expect(measured > threshold, "model_trained", name=NAME, split="public", measured=measured, threshold=threshold,
           chance=chance)


@pytest.mark.davar(question=BONUS, points=10, hidden=True, timeout=600)
def test_q7_hidden_accuracy(sub, hidden, assignment):
    images, labels = cifar10.load_test(hidden / "cifar10")
    award_accuracy(assignment.question(BONUS), float(np.mean(_predicted(sub, images) == labels)), name=NAME)
