"""iust-dl-1402-hw4: the reference implementations against hand-known values (seed 001's right answers and
the handout's numbers), the graders' readers of answers, the MNIST stand-in and the template's loader, the
reference Grad-CAM on a rebuilt model, and the sample corpus's messages (the seed's windowing bug and extra
Dense named; the failing tuner trials reported)."""

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest

from davar import assignment, catalogue
from davar.run import sandbox

ROOT = Path(__file__).resolve().parents[2]
ID = "iust-dl-1402-hw4"
GRADERS = ROOT / "graders" / ID
REFERENCE = ROOT / "reference" / ID
strict = pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")
pytestmark = pytest.mark.corpus(ID)


@pytest.fixture(scope="module")
def hw4():
    return assignment.load(GRADERS)


@pytest.fixture(scope="module")
def ref(hw4):
    return hw4.reference_module()


def _grader(name: str):
    with assignment.course_imports(assignment.load(GRADERS)):
        spec = importlib.util.spec_from_file_location(f"hw4_{name}", GRADERS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- reference.py


def test_windows_are_labelled_with_the_next_step(ref):
    x, y = ref.rnn_windows(np.arange(12).reshape(6, 2), np.arange(10, 16), 3)
    assert x.shape == (3, 3, 2) and y.tolist() == [13, 14, 15]
    assert x[1].tolist() == [[2, 3], [4, 5], [6, 7]]
    x, y = ref.rnn_windows(np.zeros((3, 2)), np.zeros(3), 3)
    assert x.shape == (0, 3, 2) and y.shape == (0,)


def test_q5a_layers_are_the_handout_numbers(ref):
    assert ref.q5a_layers() == (
        ("layer1", (256, 256, 64), 1792), ("layer2", (124, 124, 32), 51232), ("layer3", (62, 62, 32), 0),
        ("layer4", (62, 62, 128), 36992), ("layer5", (23, 23, 64), 204864), ("layer6", (11, 11, 64), 0),
        ("layer7", (11, 11, 256), 147712), ("layer8", None, 819328), ("layer9", None, 0))


def test_same_padding_and_batchnorm(ref):
    assert [ref.same_padding(f) for f in (1, 3, 5, 7)] == [0, 1, 2, 3]
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    train = ref.batchnorm_forward(x, np.ones(2), np.zeros(2), 0.0, "train", None, None)
    np.testing.assert_allclose(train, [[-1, -1], [1, 1]])
    mean, var = np.array([1.0, 2.0]), np.array([4.0, 1.0])
    test = ref.batchnorm_forward(x, np.full(2, 2.0), np.ones(2), 0.0, "test", mean, var)
    np.testing.assert_allclose(test, [[1, 1], [3, 9]])


def test_bn_trainable_parameters_leave_out_the_moving_statistics(ref):
    assert ref.bn_trainable_params() == (220, 40, 260)


def _layer(name, kind, **config):
    return SimpleNamespace(name=name, type=kind, config=config)


def test_reference_gradcam_on_a_rebuilt_model(ref):
    import keras

    keras.utils.set_random_seed(0)
    layers = [_layer("c1", "Conv2D", filters=2, kernel_size=[3, 3], padding="same", activation="relu"),
              _layer("p1", "MaxPooling2D", pool_size=[2, 2]), _layer("f", "Flatten"),
              _layer("d", "Dense", units=3, activation="linear")]
    weights = [np.random.default_rng(0).normal(size=s).astype(np.float32) for s in [(3, 3, 1, 2), (2,), (98, 3), (3,)]]
    model = ref.rebuild(layers, weights, input_shape=(14, 14, 1))
    heatmap = ref.gradcam(model, np.random.default_rng(1).uniform(size=(14, 14, 1)), "c1")
    assert heatmap.shape == (14, 14) and heatmap.min() >= 0 and heatmap.max() == pytest.approx(1.0)
    with pytest.raises(ref.NotRebuildable):
        ref.rebuild([_layer("l", "Lambda")], [])
    with pytest.raises(ref.NotRebuildable):
        ref.rebuild(layers, weights[:2], input_shape=(14, 14, 1))
    with pytest.raises(ref.NotRebuildable):  # refused before anything is allocated
        ref.rebuild([_layer("d", "Dense", units=10**9)], [])


# ---------------------------------------------------------------- the graders' readers


def test_q5_shapes_read_invalid_and_negative_sizes_alike():
    q5 = _grader("test_q5")
    assert q5._shape([256, 256, 64]) == (256, 256, 64)
    assert q5._shape([None, 124, 124, 32]) == (124, 124, 32)
    assert q5._shape([-10, -10, 128]) == q5._shape("Invalid") == q5.INVALID
    assert q5._shape(None) is None and q5._shape("?") is None
    assert q5._params("invalid") == q5.INVALID and q5._params(3.0) == 3 and q5._params(True) is None


def test_q1_hyperparameters_fall_under_the_handout_maxima():
    q1 = _grader("test_q1")
    hp = lambda cls, **c: {"class_name": cls, "config": c}  # noqa: E731
    assert q1._kind(hp("Int", name="conv_layers", max_value=5)) == "layers"
    assert q1._kind(hp("Float", name="learning_rate", max_value=1e-3)) == "learning_rate"
    assert q1._kind(hp("Int", name="filters", max_value=256)) == "width"
    assert q1._kind(hp("Float", name="dropout", max_value=0.5)) is None
    assert q1._largest(hp("Choice", name="lr", values=[1e-3, 1e-2])) == 1e-2


# ---------------------------------------------------------------- data and notebooks


def test_standin_is_mnist_shaped_and_the_template_reads_it(course_module, tmp_path):
    mnist = course_module(ID, "mnist_digits")
    root = tmp_path / ID
    mnist.build_mnist(root)
    (x, y), (xt, _) = mnist.load_mnist(root / "public" / "mnist")
    hx, _ = mnist.load_hidden(root / "hidden" / "mnist")
    assert x.shape == (1197, 28, 28) and x.dtype == np.uint8 and xt.shape == (200, 28, 28) and hx.shape == (400, 28, 28)
    assert set(np.unique(y)) == set(range(10)) and x[:, :4].max() == 0 and x.max() == 255
    assert (root / "public" / "downloads" / "mnist" / "mnist.npz").is_file()
    cell = next(c for c in nbformat.read(REFERENCE / "Q7.template.ipynb", as_version=4).cells if c.get("id") == "data")
    assert "def load_mnist" in cell.source and "allow_pickle=False" in cell.source


def test_every_question_of_the_handout_is_here(hw4):
    assert hw4.notebooks == ("HW4.ipynb", "Q7.ipynb")
    assert {q.id: q.points for q in hw4.questions if not q.bonus} == {
        "1": 15, "2": 20, "3": 10, "4": 10, "5a": 5, "5b": 5, "6": 15, "7": 20}
    assert {q.id for q in hw4.questions if q.manual} == {"1-bonus", "2", "4", "6-bonus"}
    assert set(hw4.datasets) == {"mnist"}


def test_templates_hold_no_solution():
    hw4 = nbformat.read(REFERENCE / "HW4.template.ipynb", as_version=4)
    q7 = nbformat.read(REFERENCE / "Q7.template.ipynb", as_version=4)
    text = "\n".join(c.source for nb in (hw4, q7) for c in nb.cells if c.cell_type == "code")
    assert "labels[i + look_back]" not in text and "f // 2" not in text and "reduce_max" not in text
    assert "def tuner_trials" in text and "def gradcam_probe" in text  # the given cells the graders call


# ---------------------------------------------------------------- the corpus, graded


@pytest.fixture(scope="module")
def graded(corpus):
    return corpus(ID)[1]


def _messages(result, test_id):
    test = next(t for q in result.questions for t in q.tests if t.id == test_id)
    return test.outcome, test.messages


@strict
def test_seed_windowing_bug_shows_one_expected_and_one_submitted_window(graded, hw4):
    outcome, messages = _messages(graded["seed_001"], "q3_windows")
    m = next(m for m in messages if m.key == "q3_window")
    assert outcome == "failed" and m.values["expected"] != m.values["submitted"] and "→" in m.values["submitted"]
    assert "labels[i + look_back]" in catalogue.render(m, "en", hw4.messages)


@strict
def test_seed_extra_dense_is_named_and_its_failing_trials_reported(graded, hw4):
    outcome, messages = _messages(graded["seed_001"], "q7_architecture")
    m = next(m for m in messages if m.key == "q7_extra_layer")
    assert outcome == "failed" and m.values["layer"] == "dense_1" and "units=128" in m.values["what"]
    outcome, messages = _messages(graded["seed_001"], "q1_tuner")
    finding = next(m for m in messages if m.key == "q1_failed_trials")
    assert outcome == "passed" and 0 < finding.values["failed"] < finding.values["count"]
    assert "٪" not in catalogue.render(finding, "fa", hw4.messages)


@strict
def test_planted_heatmap_and_parameters_are_caught(graded):
    _, messages = _messages(graded["planted_wrong"], "q7_gradcam_values")
    assert any(m.key == "q7_gradcam_range" and m.variant == "fail" for m in messages)
    _, messages = _messages(graded["planted_wrong"], "q6_trainable_params")
    assert next(m for m in messages if m.key == "q6_trainable").values["submitted"] == "300"
