"""Q5: a CNN for 64×64 colour images of handwritten digits 1–4 (> 90 % on train AND test).

Accuracy is computed here, outside the sandbox: the grader loads the images itself, reproduces the
handout's 80/20 split (seed 42), sends only the images through the bridge to the student's
`predict`, and compares the returned labels with labels the kernel never sees (for the hidden set
they are not even in the file names).
"""

from dataclasses import dataclass

import digits14
import numpy as np
import pytest

from davar import expect

Q = "5"
pytestmark = pytest.mark.davar(question=Q)


@dataclass(frozen=True)
class Split:
    test_size: float
    random_state: int


@dataclass(frozen=True)
class Params:
    split: Split  # the handout's train/test split of the public images


def _accuracy(sub, images, labels, split, threshold):
    predicted = np.asarray(sub.call("predict", images)).reshape(-1)
    expect(predicted.shape == labels.shape, "prediction_shape", name="predict", shape=list(predicted.shape),
           count=len(labels))
    measured = float(np.mean(predicted.astype(np.int64) == labels))
    expect(measured > threshold, "accuracy", split=split, measured=measured, threshold=threshold)


@pytest.fixture(scope="module")
def split(public_data, assignment):
    params = assignment.question(Q).params(Params).split
    return digits14.split_public(public_data / "digits", test_size=params.test_size,
                                 random_state=params.random_state)


@pytest.mark.davar(points=2)
def test_model_is_cnn(sub):
    model = sub.model("model", framework="torch", discover=True)  # a notebook may name its one model otherwise
    expect(model.framework == "torch", "framework", name="model", framework=model.framework, expected="PyTorch")
    layers = model.layers()
    convs = [layer for layer in layers if layer.type.startswith("Conv")]
    expect(convs, "cnn_layers", name="model", framework=model.framework, convs=len(convs),
           params=model.param_count(), layers=", ".join(sorted({layer.type for layer in layers})))


@pytest.mark.davar(points=5, timeout=300)
def test_train_accuracy(sub, split, assignment):
    train_paths, _, train_labels, _ = split
    _accuracy(sub, digits14.load_images(train_paths), np.asarray(train_labels), "train",
              assignment.question(Q).thresholds["accuracy"])


@pytest.mark.davar(points=5, timeout=300)
def test_test_accuracy(sub, split, assignment):
    _, test_paths, _, test_labels = split
    _accuracy(sub, digits14.load_images(test_paths), np.asarray(test_labels), "test",
              assignment.question(Q).thresholds["accuracy"])


@pytest.mark.davar(points=3, hidden=True, timeout=300)
def test_hidden_accuracy(sub, hidden, assignment):
    images, labels = digits14.load_hidden(hidden / "digits")
    _accuracy(sub, images, labels, "hidden", assignment.question(Q).thresholds["accuracy"])
