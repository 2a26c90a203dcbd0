"""Q5 (HW2_Q5.ipynb): an MLP for FashionMNIST in PyTorch, and what overfitting, augmentation and L1/L2
do to its train–test gap.

Every number is measured here, never read from the notebook: the grader sends images through the
bridge (ModelProbe.predict: float32 N×1×28×28 in [0, 1], fashion_mnist.as_model_input)
and compares the returned logits with labels that never enter the sandbox.  A model's gap
(reference.gap) is its accuracy on the first `small_train` public training images — what the models
of parts b–e are trained on — minus its accuracy on the hidden test set.

- q5a_mlp: `model` is a torch model whose leaf layers are all Linear / activation / Flatten / Dropout
  (reference.MLP_LAYER_MODULES), with at least two Linear layers: a convolution fails it.
- q5a_loss, q5a_optimizer: `criterion` is an nn.CrossEntropyLoss, `optimizer` a torch.optim.SGD.
- q5a_accuracy: `model`'s hidden test accuracy, with the partial-credit scale of assignment.toml.
- q5b_overfit: `overfit_model` is an MLP with a gap of at least `gap`.
- q5c_augmentation / q5d_regularization: `augmented_model` / `regularized_model` is the same network
  as `overfit_model` (layer types and sizes, in order), its gap is at least `shrink` smaller, and its
  test accuracy at most `drop` lower (a model that learned nothing has no gap either).
- q5e_best (bonus): `best_model` is an MLP (dropout allowed), its gap is at least `shrink` smaller and
  its test accuracy at least `gain` higher than `overfit_model`'s.
All but the architecture and class checks need the hidden test set: they are hidden tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import fashion_mnist
import numpy as np
import pytest

from davar import award_accuracy, expect

CHUNK = 2000  # images per bridge call: bounds the .npy sent into the exchange folder
BASE = "overfit_model"


@dataclass(frozen=True)
class OverfitParams:
    """Question 5b's own keys: the models of parts b–e train on the first `small_train` images."""

    small_train: int


@dataclass(frozen=True)
class Measured:
    train: float
    test: float

    @property
    def gap(self) -> float:
        return self.train - self.test


@pytest.fixture(scope="module")
def images(public_data, hidden, assignment):
    """(small training images, their labels, hidden test images, their labels) as models take them."""
    small = assignment.question("5b").params(OverfitParams).small_train
    train_x, train_y = fashion_mnist.load_public(public_data / fashion_mnist.NAME)
    test_x, test_y = fashion_mnist.load_hidden(hidden / fashion_mnist.NAME)
    return (fashion_mnist.as_model_input(train_x[:small]), train_y[:small],
            fashion_mnist.as_model_input(test_x), test_y)


@pytest.fixture(scope="module")
def measured() -> dict[str, Measured]:
    """Accuracies already measured in this run, by model name (part b's are reused by c, d and e)."""
    return {}


def _probe(sub, name: str):
    model = sub.model(name)
    if model.framework != "torch":
        expect(False, "framework", name=name, framework=model.framework, expected="PyTorch")
    return model


def _accuracy(model, x: np.ndarray, y: np.ndarray, reference) -> float:
    classes = len(fashion_mnist.CLASSES)
    logits = []
    for start in range(0, len(x), CHUNK):
        out = np.asarray(model.predict(x[start:start + CHUNK]))
        count = min(CHUNK, len(x) - start)
        if out.shape != (count, classes):
            expect(False, "model_outputs", name=model.name, shape=list(out.shape), count=count,
                   expected=f"(N, {classes})")
        logits.append(out)
    return reference.accuracy(np.concatenate(logits), y)


def _measure(sub, name: str, images, measured, reference) -> Measured:
    if name not in measured:
        model = _probe(sub, name)
        small_x, small_y, test_x, test_y = images
        measured[name] = Measured(train=_accuracy(model, small_x, small_y, reference),
                                  test=_accuracy(model, test_x, test_y, reference))
    return measured[name]


def _expect_mlp(model, reference) -> None:
    layers = model.layers()
    foreign = reference.mlp_violations(layers)
    linear = reference.linear_count(layers)
    expect(not foreign and linear >= reference.MLP_MIN_LINEAR, "mlp_layers", name=model.name,
           layers=", ".join(layer.type for layer in layers)[:300], foreign=", ".join(dict.fromkeys(foreign)) or "—",
           linear=linear, min_linear=reference.MLP_MIN_LINEAR)


def _expect_class(sub, name: str, expected: str, module_prefix: str) -> None:
    if not sub.has(name):
        expect(False, "missing_name", name=name)
    found = sub.value(f"{name}.__class__.__name__")
    module = sub.value(f"{name}.__class__.__module__")
    expect(found == expected and str(module).startswith(module_prefix), "object_class", name=name,
           found=f"{module}.{found}", expected=f"{module_prefix}.{expected}")


def _describe(layers) -> str:
    return ", ".join(f"{t} ({p})" for t, p in layers)[:300]


# ---------------------------------------------------------------- part a


@pytest.mark.davar(question="5a", points=3)
def test_q5a_mlp(sub, reference):
    _expect_mlp(_probe(sub, "model"), reference)


@pytest.mark.davar(question="5a", points=2)
def test_q5a_loss(sub):
    _expect_class(sub, "criterion", "CrossEntropyLoss", "torch.nn")


@pytest.mark.davar(question="5a", points=2)
def test_q5a_optimizer(sub):
    _expect_class(sub, "optimizer", "SGD", "torch.optim")


@pytest.mark.davar(question="5a", points=7, hidden=True, timeout=300)
def test_q5a_accuracy(sub, images, measured, reference, assignment):
    accuracy = _measure(sub, "model", images, measured, reference).test
    award_accuracy(assignment.question("5a"), accuracy, name="model")


# ---------------------------------------------------------------- parts b–e


@pytest.mark.davar(question="5b", points=6, hidden=True, timeout=300)
def test_q5b_overfit(sub, images, measured, reference, assignment):
    _expect_mlp(_probe(sub, BASE), reference)
    base = _measure(sub, BASE, images, measured, reference)
    threshold = assignment.question("5b").thresholds["gap"]
    expect(base.gap >= threshold, "overfit_gap", name=BASE, train=base.train, test=base.test, gap=base.gap,
           count=len(images[1]), threshold=threshold)


def _check_shrinks(sub, name: str, qid: str, images, measured, reference, assignment) -> None:
    model, base_model = _probe(sub, name), _probe(sub, BASE)
    _expect_mlp(model, reference)
    mine, theirs = reference.architecture(model.layers()), reference.architecture(base_model.layers())
    expect(mine == theirs, "same_network", name=name, base=BASE, layers=len(mine), params=model.param_count(),
           mine=_describe(mine), theirs=_describe(theirs))
    base = _measure(sub, BASE, images, measured, reference)
    this = _measure(sub, name, images, measured, reference)
    limits = assignment.question(qid).thresholds
    ok = this.gap <= base.gap - limits["shrink"] and this.test >= base.test - limits["drop"]
    expect(ok, "gap_shrinks", name=name, gap=this.gap, train=this.train, test=this.test, base=BASE,
           base_gap=base.gap, base_test=base.test, shrink=limits["shrink"], drop=limits["drop"])


@pytest.mark.davar(question="5c", points=6, hidden=True, timeout=300)
def test_q5c_augmentation(sub, images, measured, reference, assignment):
    _check_shrinks(sub, "augmented_model", "5c", images, measured, reference, assignment)


@pytest.mark.davar(question="5d", points=6, hidden=True, timeout=300)
def test_q5d_regularization(sub, images, measured, reference, assignment):
    _check_shrinks(sub, "regularized_model", "5d", images, measured, reference, assignment)


@pytest.mark.davar(question="5e", points=10, hidden=True, timeout=300)
def test_q5e_best(sub, images, measured, reference, assignment):
    name = "best_model"
    _expect_mlp(_probe(sub, name), reference)
    base = _measure(sub, BASE, images, measured, reference)
    this = _measure(sub, name, images, measured, reference)
    limits = assignment.question("5e").thresholds
    ok = this.gap <= base.gap - limits["shrink"] and this.test >= base.test + limits["gain"]
    expect(ok, "combination_improves", name=name, gap=this.gap, train=this.train, test=this.test, base=BASE,
           base_gap=base.gap, base_test=base.test, shrink=limits["shrink"], gain=limits["gain"])
