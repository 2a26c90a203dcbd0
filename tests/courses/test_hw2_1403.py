"""iust-dl-1403-hw2 question 5: an accuracy counts only when it is the model's (predict's labels against the
model's own outputs during the same call), the conventions its grader detects (scores, 0-based labels, a
batch axis), the kernel-side observation it rests on, and the samples that reproduce the loophole and the
right work in another shape."""

from pathlib import Path

import numpy as np
import pytest

from davar import assignment, catalogue
from davar.errors import GradeFailure
from davar.inside import models
from davar.run import sandbox

ROOT = Path(__file__).resolve().parents[2]
ID = "iust-dl-1403-hw2"
strict = pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")


@pytest.fixture(scope="module")
def q5(course_module):
    return course_module(ID, "test_q5")


def test_labels_declared_and_thresholds_configured():
    params = assignment.load(ROOT / "graders" / ID).question("5").extra
    assert params["labels"] == [1, 2, 3, 4] and 0.9 <= params["agreement"] <= 1 and 0 < params["max_gap"] < 1


def test_agreement_allows_a_fixed_relabelling_only(q5):
    outputs = np.eye(4)[[0, 1, 2, 3, 0, 1, 2, 3]]                 # the model's classes 0..3
    assert q5._agreement(np.array([1, 2, 3, 4, 1, 2, 3, 4]), outputs) == 1.0   # digit = class + 1
    looked_up = np.array([1, 2, 3, 4, 2, 3, 4, 1])                # the file names' labels, not the model's
    assert q5._agreement(looked_up, outputs) == 0.5
    constant = np.zeros((8, 4))                                   # a model that answers one class for all
    assert q5._agreement(looked_up, constant) == 0.25


def test_predict_conventions_are_detected(q5):
    labels = (1, 2, 3, 4)
    np.testing.assert_array_equal(q5._as_labels(np.array([1, 4, 2]), 3, labels), [1, 4, 2])
    np.testing.assert_array_equal(q5._as_labels(np.array([[0], [3], [1]]), 3, labels), [1, 4, 2])  # 0-based column
    scores = np.array([[0.1, 0.7, 0.1, 0.1], [5.0, -1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]])  # probabilities, logits
    np.testing.assert_array_equal(q5._as_labels(scores, 3, labels), [2, 1, 4])
    np.testing.assert_array_equal(q5._as_labels(np.array([1.0, 2.0, 3.0]), 3, labels), [1, 2, 3])
    with pytest.raises(GradeFailure) as e:
        q5._as_labels(np.array([1, 7, 2]), 3, labels)
    assert e.value.key == "labels_outside"
    with pytest.raises(GradeFailure) as e:
        q5._as_labels(np.array([1, 2]), 3, labels)
    assert e.value.key == "prediction_shape"


def test_observe_records_the_models_outputs_during_the_call():
    torch = pytest.importorskip("torch")
    net, other = torch.nn.Linear(3, 4), torch.nn.Linear(3, 2)
    x = torch.randn(10, 3)

    def predict():
        return torch.cat([net(x[i:i + 4]) for i in range(0, 10, 4)]).argmax(1)

    result, outputs = models.observe({"net": net, "other": other, "plain": 3}, predict)
    assert outputs["other"] is None and outputs["plain"] is None
    np.testing.assert_allclose(outputs["net"], net(x).detach().numpy(), rtol=1e-6)
    np.testing.assert_array_equal(np.argmax(outputs["net"], 1), result.numpy())
    assert not net._forward_hooks and not other._forward_hooks      # removed after the call


def test_messages_exist_in_both_languages():
    course = assignment.load(ROOT / "graders" / ID).messages
    for key, values, variant in [
        ("predict_agrees", dict(name="predict", model="model", agreement=0.3, needed=0.99, count=230,
                                measured=1.0, split="test"), "fail"),
        ("labels_mapped", dict(name="predict", found="0, 1, 2, 3", labels="1, 2, 3, 4"), None),
        ("public_hidden_gap", dict(public=1.0, hidden=0.6, gap=0.4, max_gap=0.1), None),
    ]:
        for lang in ("fa", "en"):
            assert catalogue.text(key, lang, values, variant, course=course)


# ---------------------------------------------------------------- the samples, graded (tests/grading/test_samples.py
# asserts their expected.toml; these check what their messages say)


@strict
def test_lookup_predict_is_not_the_models_accuracy(corpus):
    _, results = corpus(ID)
    r = results["looks_up_public_labels"]
    tests = {t.id: t for q in r.questions for t in q.tests}
    for test_id in ("train_accuracy", "test_accuracy"):
        m = next(m for m in tests[test_id].messages if m.key == "predict_agrees")
        assert m.variant == "fail" and m.values["measured"] == 1.0 and m.values["agreement"] < 0.99
    gap = next(m for m in tests["hidden_accuracy"].messages if m.key == "public_hidden_gap")
    assert gap.values["public"] == 1.0 and gap.values["gap"] > gap.values["max_gap"]


@strict
def test_probabilities_and_zero_based_labels_are_read(corpus):
    _, results = corpus(ID)
    r = results["other_conventions"]
    tests = {t.id: t for q in r.questions for t in q.tests}
    for test_id in ("train_accuracy", "test_accuracy", "hidden_accuracy"):
        keys = [m.key for m in tests[test_id].messages]
        assert "labels_mapped" in keys and "predict_agrees" in keys, keys
    hidden = [m.key for m in tests["hidden_accuracy"].messages]
    assert "public_hidden" in hidden and "public_hidden_gap" not in hidden
