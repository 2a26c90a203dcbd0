"""Q5: a CNN for 64×64 colour images of handwritten digits 1–4 (> 90 % on train AND test).

Accuracy is computed here, outside the sandbox: the grader loads the images itself, reproduces the
handout's 80/20 split (seed 42), sends only the images through the bridge to the student's
`predict`, and compares the returned labels with labels the kernel never sees (for the hidden set
they are not even in the file names).

Forgery: the public images carry their labels in their file names, so a `predict` that looks them up
(by their bytes) would score 100 % on train and test without a model.  Every accuracy therefore counts
only when it is the model's: `predict` runs with forward hooks on the notebook's torch models
(`Sub.call_observed`), and its labels must be the argmax of what the model returned during that very
call (`agreement` of assignment.toml, up to a fixed relabelling such as class 0 ↔ digit 1) on the very
images the accuracy is measured on.  This is stronger than a check on fresh images: a lookup that falls
back to the model on images it does not know agrees with the model on fresh images, and not on the
public ones.  The hidden test reports the public test accuracy beside the hidden one and flags a gap
larger than `max_gap` for the TA.

Conventions are detected, not assumed (each detection is said in the test's messages):
- `predict` is the student's own (its preprocessing, batching, device); the model it runs is `model`,
  or the one torch model of the namespace that ran on every image.
- `predict` may answer labels (any integer dtype, shape (N,), (N, 1) or (1, N)) or scores (N, k):
  logits or probabilities, whose argmax is the label (index i is the i-th declared label when k is the
  number of labels, the label itself when k = largest label + 1).
- The assignment declares its labels (`labels`, digits 1–4).  A `predict` answering 0–3 is mapped
  0 → 1, …, 3 → 4 and the message says so: the handout lets students use 0–3 inside the model and the
  order is unambiguous, so failing would cost 13 points for an off-by-one in the interface, not in the
  work.  Labels in neither set fail with a message naming them.
"""

import contextlib
from collections import Counter
from dataclasses import dataclass

import digits14
import numpy as np
import pytest

from davar import expect, flag, note

Q = "5"
pytestmark = pytest.mark.davar(question=Q)


@dataclass(frozen=True)
class Split:
    test_size: float
    random_state: int


@dataclass(frozen=True)
class Params:
    split: Split                # the handout's train/test split of the public images
    labels: tuple[int, ...]     # the labels `predict` answers (digits 1–4)
    agreement: float            # share of images on which predict's label must be the model's
    max_gap: float              # public test − hidden accuracy above this is flagged for the TA


@dataclass(frozen=True)
class Measured:
    accuracy: float
    agreement: float
    model: str
    count: int


def _params(assignment) -> Params:
    return assignment.question(Q).params(Params)


def _as_labels(answer, count: int, labels: tuple[int, ...]) -> np.ndarray:
    """predict's answer as one declared label per image (conventions detected and said, see the docstring)."""
    answer = np.asarray(answer)
    if answer.ndim == 2 and answer.shape[0] == count and answer.shape[1] > 1:  # scores: logits or probabilities
        note("predict_scores", name="predict", classes=int(answer.shape[1]))
        index = np.argmax(answer, axis=1)
        answer = np.asarray(labels)[index] if answer.shape[1] == len(labels) else index
    flat = answer.reshape(-1) if answer.size == count and answer.ndim <= 2 else answer
    expect(flat.shape == (count,) and flat.dtype.kind in "biuf", "prediction_shape", name="predict",
           shape=list(answer.shape), count=count)
    if not (np.all(np.isfinite(flat)) and np.all(flat == np.round(flat))):
        expect(False, "labels_outside", name="predict", found=_show(np.unique(flat)), labels=_show(labels))
    flat = flat.astype(np.int64)
    found = set(np.unique(flat).tolist())
    positions = set(range(len(labels)))
    if found <= set(labels) or not found <= positions:
        expect(found <= set(labels), "labels_outside", name="predict", found=_show(sorted(found)),
               labels=_show(labels))
        return flat
    note("labels_mapped", name="predict", found=_show(sorted(positions)), labels=_show(labels))
    return np.asarray(labels)[flat]


def _show(values) -> str:
    return ", ".join(str(int(v)) for v in list(values)[:12])


def _torch_models(sub) -> list[str]:
    return sorted(k for k, v in sub.find_models().items() if v.get("framework") == "torch")


def _model_outputs(sub, observed, count: int) -> tuple[str, np.ndarray]:
    """The model `predict` ran and its outputs: `model` when it ran, else the one model that ran on every image."""
    ran = {k: v for k, v in observed.outputs.items() if v is not None}
    if not ran:
        expect(False, "predict_uses_model", name="predict", models=", ".join(observed.outputs) or "—", count=count)
    if "model" in ran:
        name = "model"
    else:
        whole = sorted(k for k, v in ran.items() if len(v) == count)
        expect(len(whole) == 1, "predict_model_rows", name="predict", model=", ".join(sorted(ran)),
               rows=", ".join(str(len(v)) for v in ran.values()), count=count)
        name = whole[0]
        note("predict_model_used", name="predict", found=name, expected="model")
    outputs = ran[name]
    expect(len(outputs) == count, "predict_model_rows", name="predict", model=name, rows=str(len(outputs)),
           count=count)
    return name, outputs


def _agreement(predicted: np.ndarray, outputs: np.ndarray) -> float:
    """Share of images whose label is what the model's argmax stands for, each argmax index standing for the
    label predict gives it most often (a fixed relabelling: class 0 ↔ digit 1, a LabelEncoder's order...)."""
    index = np.argmax(outputs, axis=1)
    meaning = {i: Counter(predicted[index == i].tolist()).most_common(1)[0][0] for i in np.unique(index)}
    return float(np.mean(predicted == np.array([meaning[i] for i in index])))


def _measure(sub, images, labels, split, params, measured) -> Measured:
    models = _torch_models(sub)
    observed = sub.call_observed("predict", images, models=models)
    predicted = _as_labels(observed.result, len(labels), params.labels)
    accuracy = float(np.mean(predicted == labels))
    measured[split] = Measured(accuracy=accuracy, agreement=0.0, model="—", count=len(labels))  # not yet the model's
    name, outputs = _model_outputs(sub, observed, len(labels))
    agreement = _agreement(predicted, outputs)
    measured[split] = Measured(accuracy=accuracy, agreement=agreement, model=name, count=len(labels))
    expect(agreement >= params.agreement, "predict_agrees", name="predict", model=name, agreement=agreement,
           needed=params.agreement, count=len(labels), measured=accuracy, split=split)
    return measured[split]


def _accuracy(sub, images, labels, split, assignment, measured) -> Measured:
    params = _params(assignment)
    m = _measure(sub, images, np.asarray(labels), split, params, measured)
    threshold = assignment.question(Q).thresholds["accuracy"]
    expect(m.accuracy > threshold, "accuracy", split=split, measured=m.accuracy, threshold=threshold)
    return m


@pytest.fixture(scope="module")
def split(public_data, assignment):
    params = _params(assignment).split
    return digits14.split_public(public_data / "digits", test_size=params.test_size,
                                 random_state=params.random_state)


@pytest.fixture(scope="module")
def measured() -> dict[str, Measured]:
    """What this run measured, by split (the hidden test reports the public test beside its own)."""
    return {}


@pytest.mark.davar(points=2)
def test_model_is_cnn(sub):
    model = sub.model("model", framework="torch", discover=True)  # a notebook may name its one model otherwise
    expect(model.framework == "torch", "framework", name="model", framework=model.framework, expected="PyTorch")
    layers = model.layers()
    convs = [layer for layer in layers if layer.type.startswith("Conv")]
    expect(convs, "cnn_layers", name="model", framework=model.framework, convs=len(convs),
           params=model.param_count(), layers=", ".join(sorted({layer.type for layer in layers})))


@pytest.mark.davar(points=5, timeout=300)
def test_train_accuracy(sub, split, assignment, measured):
    train_paths, _, train_labels, _ = split
    _accuracy(sub, digits14.load_images(train_paths), train_labels, "train", assignment, measured)


@pytest.mark.davar(points=5, timeout=300)
def test_test_accuracy(sub, split, assignment, measured):
    _, test_paths, _, test_labels = split
    _accuracy(sub, digits14.load_images(test_paths), test_labels, "test", assignment, measured)


@pytest.mark.davar(points=3, hidden=True, timeout=300)
def test_hidden_accuracy(sub, split, hidden, assignment, measured):
    params = _params(assignment)
    if "test" not in measured:  # run on its own (pytest -k): measure the public test split too
        _, test_paths, _, test_labels = split
        with contextlib.suppress(Exception):  # its own test says why; here it is only the comparison
            _measure(sub, digits14.load_images(test_paths), np.asarray(test_labels), "test", params, measured)
    images, labels = digits14.load_hidden(hidden / "digits")
    try:
        _accuracy(sub, images, labels, "hidden", assignment, measured)
    finally:
        public, mine = measured.get("test"), measured.get("hidden")
        if public is not None and mine is not None:
            gap = public.accuracy - mine.accuracy
            note("public_hidden", public=public.accuracy, hidden=mine.accuracy, gap=gap)
            if gap > params.max_gap:
                flag("public_hidden_gap", public=public.accuracy, hidden=mine.accuracy, gap=gap,
                     max_gap=params.max_gap)
