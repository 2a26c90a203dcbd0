"""iust-dl-1403-hw2 question 5: an accuracy counts only when it is the model's (predict's labels against the
model's own outputs during the same call), the conventions its grader detects (scores, 0-based labels, a
batch axis), the kernel-side observation it rests on, and the samples that reproduce the loophole and the
right work in another shape.  Questions 3 and 7: the reference's table against the handout's
cross-checks and both MAC conventions, how the grader reads shapes, the shipped network (plain arrays, the
FGSM threshold reachable, the bundle's path that trains it), and the planted mistakes named in fa and en."""

import functools
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
pytestmark = pytest.mark.corpus(ID)


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


# ---------------------------------------------------------------- question 3: the 17-layer table


@pytest.fixture(scope="module")
def hw2():
    return assignment.load(ROOT / "graders" / ID)


def test_q3_reference_cross_checks(hw2):
    table = dict(hw2.reference_module().q3_table())
    assert len(table) == 17
    assert table["Layer8"]["output_shape"] == (256, 13, 13) and 256 * 13 * 13 == 43_264  # the handout's fc1 input
    assert sum(row["params"] for row in table.values()) == 45_937_034                   # BN as γ and β
    assert table["bn1"]["params"] == 64 and table["Layer3"]["params"] == 0
    assert table["Layer2"]["output_shape"] == (64, 126, 126)                            # (256 − 5) / 2 + 1, floored
    # receptive fields by the recurrence with dilation: Layer4's dilated 3×3 spans 5 at a jump of 4
    assert [table[n]["receptive_field"] for n in ("Layer1", "Layer2", "Layer3", "Layer4", "Layer8", "fc1")] == \
        [7, 11, 13, 29, 65, 256]
    # MACs: weights × output positions + one per output for the bias; BN one per element; pooling k·k per output
    assert table["Layer1"]["macs"] == 32 * 256 * 256 * (7 * 7 * 3) + 32 * 256 * 256
    assert table["bn1"]["macs"] == 32 * 256 * 256 and table["Layer3"]["macs"] == 64 * 63 * 63 * 4
    assert table["fc1"]["macs"] == 43_264 * 1024 + 1024 and table["dropout"]["macs"] == 0


def test_q3_other_mac_convention(hw2):
    ours, other = (dict(hw2.reference_module().q3_table(alternative=a)) for a in (False, True))
    assert other["bn1"]["macs"] == other["Layer3"]["macs"] == 0
    assert other["Layer1"]["macs"] == ours["Layer1"]["macs"] - 32 * 256 * 256   # no bias
    assert {n: r["params"] for n, r in ours.items()} == {n: r["params"] for n, r in other.items()}


def test_q3_shapes_read_channels_first_or_last(course_module):
    q3 = course_module(ID, "test_q3")
    assert (32, 256, 256) in q3._shapes([256, 256, 32]) and (32, 256, 256) in q3._shapes((1, 32, 256, 256))
    assert q3._shapes(1024) == {(1024,)} == q3._shapes([None, 1024])
    assert q3._shapes("32x256x256") == set() and q3._shapes([32, 2.5, 256]) == set()
    assert q3._right("macs", 5, 5, None) and q3._right("macs", 0, 5, 0) and not q3._right("macs", 0, 5, None)


# ---------------------------------------------------------------- question 7: the shipped network and FGSM


def test_q7_network_is_plain_arrays_and_accurate(course_module, hw2):
    torch = pytest.importorskip("torch")
    q7 = course_module(ID, "q7_model")
    with np.load(q7.WEIGHTS, allow_pickle=False) as arrays:           # no pickle in the file at all
        assert all(arrays[name].dtype == np.float32 for name in arrays.files)
    images, labels = q7.digits()
    hidden = q7.splits()["hidden"]
    assert not set(hidden) & set(q7.splits()["train"])
    model = q7.load_model(q7.WEIGHTS)
    x, y = torch.from_numpy(images[hidden]), torch.from_numpy(labels[hidden])
    right = model(x).argmax(1) == y
    assert right.float().mean() > 0.9
    # the reference FGSM flips the required share at every ε the grader may draw (the threshold is reachable)
    params = hw2.question("7b").extra
    x, y = x[right].clone().requires_grad_(True), y[right]
    torch.nn.functional.cross_entropy(model(x), y).backward()
    for eps in params["eps"]:
        adversarial = (x + eps * x.grad.sign()).clamp(0, 1)
        assert (model(adversarial).argmax(1) != y).float().mean() >= params["min_flipped"] + 0.1


def test_q7_bundle_without_reference_trains_the_network(course_module, tmp_path, monkeypatch):
    """The student bundle ships nothing of reference/: `davar data` there trains the same network."""
    torch = pytest.importorskip("torch")
    q7 = course_module(ID, "q7_model")
    monkeypatch.setattr(q7, "WEIGHTS", tmp_path / "absent.npz")
    monkeypatch.setattr(q7, "train", functools.partial(q7.train, epochs=3))  # the path, not the full training
    q7.build_q7(tmp_path / "root")
    model = q7.load_model(tmp_path / "root" / "public" / "q7" / "model.npz")
    images, labels = q7.load_images(tmp_path / "root" / "hidden" / "q7")
    assert (model(torch.from_numpy(images)).argmax(1).numpy() == labels).mean() > 0.8
    public, _ = q7.load_images(tmp_path / "root" / "public" / "q7")
    assert not {x.tobytes() for x in public} & {x.tobytes() for x in images}


def test_new_messages_exist_in_both_languages(hw2):
    for key, values, variant in [
        ("q3_mac_convention", {}, None),
        ("q3_mac_convention_alternative", {}, None),
        ("q7_class_probability", dict(name="visualize_class(3)", target=3, probability=0.5, needed=0.9), "fail"),
        ("q7_not_a_digit", dict(name="visualize_class(3)", distance=0.01, needed=0.1), "fail"),
        ("q7_fgsm_bound", dict(name="fgsm", eps=0.2, largest=0.4, count=64), "fail"),
        ("q7_fgsm_range", dict(name="fgsm", eps=0.2, low=-0.2, high=1.2, outside=9), "fail"),
        ("q7_fgsm_flips", dict(name="fgsm", eps=0.2, flipped=0.3, needed=0.8, count=64), "fail"),
        ("q4_matches", dict(name="match_template", found=1, count=3), "fail"),
    ]:
        for lang in ("fa", "en"):
            assert catalogue.text(key, lang, values, variant, course=hw2.messages)


@strict
def test_planted_mistakes_are_named_with_expected_and_submitted(corpus):
    _, results = corpus(ID)
    r = results["planted_wrong"]
    tests = {t.id: t for q in r.questions for t in q.tests}
    wrong = {m.values["name"]: m for t in ("q3_table[macs]", "q3_table[receptive_field]")
             for m in tests[t].messages if m.key == "answer_value"}
    macs = wrong['ANSWERS["q3"]["Layer1"]["macs"]']                # the bias counted twice
    assert int(macs.values["submitted"]) - int(macs.values["expected"]) == 32 * 256 * 256
    rf = wrong['ANSWERS["q3"]["Layer4"]["receptive_field"]']       # dilation ignored
    assert (rf.values["expected"], rf.values["submitted"]) == ("29", "21")
    assert len(wrong) == 5 + 8
    bound = next(m for m in tests["q7_fgsm_bound"].messages if m.key == "q7_fgsm_bound")
    assert bound.values["largest"] == pytest.approx(2 * bound.values["eps"])   # a step of 2ε
    clip = next(m for m in tests["q7_fgsm_range"].messages if m.key == "q7_fgsm_range")
    assert clip.values["low"] < 0 and clip.values["high"] > 1                  # nothing clipped
    course = assignment.load(ROOT / "graders" / ID).messages
    for m in (macs, rf):  # the cell, the expected and the submitted value, in both languages
        for lang in ("fa", "en"):
            text = catalogue.render(m, lang, course)
            assert m.values["name"] in text and m.values["expected"] in text and m.values["submitted"] in text
    for m in (bound, clip):
        assert catalogue.render(m, "en", course) != catalogue.render(m, "fa", course)
