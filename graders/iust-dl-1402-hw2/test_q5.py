"""Q5 (HW2_Q5.ipynb): an MLP for FashionMNIST in PyTorch, and what overfitting, augmentation and L1/L2
do to its train–test gap.

Every number is measured here, never read from the notebook: the grader sends images through the
bridge and compares the returned outputs' argmax (logits or probabilities alike) with labels that never
enter the sandbox.  The images go in as the notebook's own `to_input` makes them (the template's
preprocessing function, names in 5a's `preprocess`): a student who flattens or standardises there is
graded on what the models were trained on; without one, the template's contract (float32 N×1×28×28 in
[0, 1], fashion_mnist.as_model_input) is used and the message says so.  A model's gap (reference.gap) is
its accuracy on the first `small_train` public training images — what the models of parts b–e are
trained on — minus its accuracy on the hidden test set.

Points follow the design the handout requires; each test says what it presupposes and what it found:
- q5a_mlp: `model` is a torch model whose leaf layers are all Linear / activation / Flatten / Dropout
  (reference.MLP_LAYER_MODULES), with at least two Linear layers: a convolution fails it.
- q5a_loss, q5a_optimizer: `criterion` is an nn.CrossEntropyLoss, `optimizer` a torch.optim.SGD.
- q5a_accuracy: `model`'s hidden test accuracy, with the partial-credit scale of assignment.toml, awarded
  only to the required design (an MLP trained with SGD): a Conv2d + Adam model's accuracy is reported,
  not counted.
- q5b_overfit: `overfit_model` is an MLP with a gap of at least `gap`.
- q5c_augmentation / q5d_regularization: `augmented_model` / `regularized_model` is the same network
  as `overfit_model` (layer types and sizes, in order), its gap is at least `shrink` smaller, and its
  hidden test accuracy not lower than `overfit_model`'s by more than `tolerance` ("improvement" is never
  a loss of test accuracy).  And the technique is there, measured:
  - augmentation: the notebook's augmentation function (names in 5c's `augmentation`) is called on a
    grader batch (the first `probe_images` training images, as a torch tensor) and must change it
    (mean absolute change at least `min_change` of the batch's mean absolute value), keeping its shape;
  - L1/L2: the penalty shows in the weights.  Training without a penalty never shrinks a network's
    weights below their initialisation (stopping early leaves them near it), while an L1 or L2 penalty
    in the loss, or weight decay in the optimizer, pulls them towards zero.  So the L2 or the L1 norm of
    the model's Linear weights must be at most `penalty` × that of a freshly initialised network of the
    same layer sizes (reference.init_norms: PyTorch's default nn.Linear initialisation).  Limitation: a
    notebook that initialises its weights otherwise is measured against the default; the message shows
    both norms so a TA can judge (and override).
- q5e_best (bonus): `best_model` is an MLP, its gap is at least `shrink` smaller and its test accuracy
  at least `gain` higher than `overfit_model`'s, and it combines at least `techniques` of: dropout
  layers (p > 0) in the model, the augmentation function (as above), the penalty visible in its weights.
  Limitation: the grader sees that an augmentation function exists and changes its inputs, not which
  model's training called it.
All but the architecture and class checks need the hidden test set: they are hidden tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import fashion_mnist
import numpy as np
import pytest

from davar import award_accuracy, expect, note
from davar.probe.bridge import AsTensor

CHUNK = 2000  # images per bridge call: bounds the .npy sent into the exchange folder
BASE = "overfit_model"


@dataclass(frozen=True)
class OverfitParams:
    """Question 5b's own keys: the models of parts b–e train on the first `small_train` images."""

    small_train: int


@dataclass(frozen=True)
class Preprocess:
    """5a's `preprocess`: the names of the notebook's own image → model-input function, in order."""

    preprocess: tuple[str, ...] = ("to_input",)


@dataclass(frozen=True)
class Augmentation:
    """5c's keys: where the augmentation function may be found and how it is probed."""

    augmentation: tuple[str, ...]
    probe_images: int
    min_change: float


@dataclass(frozen=True)
class Measured:
    train: float
    test: float

    @property
    def gap(self) -> float:
        return self.train - self.test


@pytest.fixture(scope="module")
def raw_images(public_data, hidden, assignment):
    """(small training images, their labels, hidden test images, their labels) as uint8 N×28×28."""
    small = assignment.question("5b").params(OverfitParams).small_train
    train_x, train_y = fashion_mnist.load_public(public_data / fashion_mnist.NAME)
    test_x, test_y = fashion_mnist.load_hidden(hidden / fashion_mnist.NAME)
    return train_x[:small], train_y[:small], test_x, test_y


@pytest.fixture(scope="module")
def converted() -> dict[str, np.ndarray]:
    """The model inputs already made in this run (by the notebook's `to_input`, or the grader's)."""
    return {}


@pytest.fixture
def images(sub, raw_images, converted, assignment):
    """(small training images, their labels, hidden test images, their labels) as the models take them:
    made by the notebook's own preprocessing function when it has one, else by the template's contract."""
    small_x, small_y, test_x, test_y = raw_images
    names = assignment.question("5a").params(Preprocess).preprocess
    own = next((n for n in names if sub.has(n)), None)
    if "small" not in converted:
        converted["small"], converted["test"] = _convert(sub, own, small_x), _convert(sub, own, test_x)
    if own is None:
        note("preprocess_template", names=", ".join(names))
    return converted["small"], small_y, converted["test"], test_y


def _convert(sub, own: str | None, raw: np.ndarray) -> np.ndarray:
    if own is None:
        return fashion_mnist.as_model_input(raw)
    chunks = [np.asarray(sub.call(own, raw[start:start + CHUNK])) for start in range(0, len(raw), CHUNK)]
    return np.concatenate(chunks) if chunks else fashion_mnist.as_model_input(raw)


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
        if out.ndim > 2 and out.size == count * classes:  # a batch axis kept: (N, 1, 10)
            out = out.reshape(count, classes)
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
    """The accuracy points presuppose the handout's design: an MLP (Linear and activation layers only)
    trained with SGD.  Another design's accuracy is measured and reported, never awarded."""
    model = _probe(sub, "model")
    layers = model.layers()
    foreign = reference.mlp_violations(layers)
    linear = reference.linear_count(layers)
    optimizer = _class_of(sub, "optimizer")
    mlp = not foreign and linear >= reference.MLP_MIN_LINEAR
    sgd = optimizer == "torch.optim.SGD"
    accuracy = _measure(sub, "model", images, measured, reference).test
    found = [", ".join(dict.fromkeys(foreign)) if foreign else f"{linear} Linear"]
    found.append(optimizer or "—")
    expect(mlp and sgd, "design_required", name="model", found="; ".join(found)[:300], measured=accuracy)
    award_accuracy(assignment.question("5a"), accuracy, name="model")


def _class_of(sub, name: str) -> str | None:
    """`module.Class` of a namespace value (torch.optim.sgd.SGD is reported as torch.optim.SGD), None when absent."""
    if not sub.has(name):
        return None
    found, module = sub.value(f"{name}.__class__.__name__"), str(sub.value(f"{name}.__class__.__module__"))
    if module.startswith("torch.optim.") and module.rsplit(".", 1)[-1] == str(found).lower():
        module = "torch.optim"
    return f"{module}.{found}"


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
    ok = this.gap <= base.gap - limits["shrink"] and this.test >= base.test - limits["tolerance"]
    expect(ok, "gap_shrinks", name=name, gap=this.gap, train=this.train, test=this.test, base=BASE,
           base_gap=base.gap, base_test=base.test, shrink=limits["shrink"], tolerance=limits["tolerance"])


def _augmentation(sub, images, assignment, *, soft: bool):
    """The notebook's augmentation function, probed on a grader batch: does it change its inputs?"""
    params = assignment.question("5c").params(Augmentation)
    found = next((n for n in params.augmentation if sub.has(n)), None)
    if found is None:
        return expect(False, "augmentation_missing", names=", ".join(params.augmentation), soft=soft)
    batch = np.ascontiguousarray(images[0][:params.probe_images])
    try:
        out = np.asarray(sub.call(found, AsTensor(batch)), dtype=np.float64)
    except Exception as e:  # the student's function raised, or returned no array
        return expect(False, "augmentation_raises", name=found, error=f"{type(e).__name__}: {e}"[:300], soft=soft)
    change = float(np.mean(np.abs(out - batch))) if out.shape == batch.shape else 0.0
    scale = float(np.mean(np.abs(batch))) or 1.0
    return expect(out.shape == batch.shape and change >= params.min_change * scale, "augmentation_changes",
                  name=found, count=len(batch), shape=list(out.shape), expected=list(batch.shape),
                  change=change / scale, needed=params.min_change, soft=soft)


def _penalty(sub, name: str, model, reference, limit: float, *, soft: bool):
    """The L1/L2 penalty (or weight decay) as the weights show it: smaller than a fresh network's."""
    linear = [layer.name for layer in model.layers() if layer.type in ("Linear", "LazyLinear")]
    state = sub.call(f"{name}.state_dict")
    weights = [np.asarray(state[f"{n}.weight"]) for n in linear if isinstance(state, dict) and f"{n}.weight" in state]
    norms = reference.weight_norms(weights)
    fresh = reference.init_norms([w.shape for w in weights])
    ratio = min(norms[k] / fresh[k] for k in ("l2", "l1")) if weights and all(fresh.values()) else float("inf")
    return expect(ratio <= limit, "penalty_in_weights", name=name, l2=norms["l2"], l1=norms["l1"],
                  fresh_l2=fresh["l2"], fresh_l1=fresh["l1"], ratio=min(ratio, 99.0), limit=limit, soft=soft)


@pytest.mark.davar(question="5c", points=6, hidden=True, timeout=300)
def test_q5c_augmentation(sub, images, measured, reference, assignment):
    _augmentation(sub, images, assignment, soft=False)
    _check_shrinks(sub, "augmented_model", "5c", images, measured, reference, assignment)


@pytest.mark.davar(question="5d", points=6, hidden=True, timeout=300)
def test_q5d_regularization(sub, images, measured, reference, assignment):
    name = "regularized_model"
    _penalty(sub, name, _probe(sub, name), reference, assignment.question("5d").thresholds["penalty"], soft=False)
    _check_shrinks(sub, name, "5d", images, measured, reference, assignment)


@pytest.mark.davar(question="5e", points=10, hidden=True, timeout=300)
def test_q5e_best(sub, images, measured, reference, assignment):
    name = "best_model"
    model = _probe(sub, name)
    _expect_mlp(model, reference)
    limits = assignment.question("5e").thresholds
    dropout = [layer for layer in model.layers()
               if layer.type.endswith("Dropout") and float(layer.config.get("p") or 0) > 0]
    expect(dropout, "dropout_layers", name=name, count=len(dropout), soft=True)
    used = {"Dropout": bool(dropout),  # named as the handout does; the same words in fa and en
            "augmentation": _augmentation(sub, images, assignment, soft=True) is None,
            "L1/L2": _penalty(sub, name, model, reference, assignment.question("5d").thresholds["penalty"],
                              soft=True) is None}
    techniques = [k for k, v in used.items() if v]
    expect(len(techniques) >= limits["techniques"], "techniques_combined", name=name,
           found=", ".join(techniques) or "—", needed=int(limits["techniques"]))
    base = _measure(sub, BASE, images, measured, reference)
    this = _measure(sub, name, images, measured, reference)
    ok = this.gap <= base.gap - limits["shrink"] and this.test >= base.test + limits["gain"]
    expect(ok, "combination_improves", name=name, gap=this.gap, train=this.train, test=this.test, base=BASE,
           base_gap=base.gap, base_test=base.test, shrink=limits["shrink"], gain=limits["gain"])
