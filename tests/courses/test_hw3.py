"""iust-dl-1402-hw3: the reference implementations against hand-known values, the official key
against the reference, the three notebooks (HW3, DL-Q4, Q7) and their data loaders, and the sample
corpus against its expected.toml (questions 2, 3a, 4, 6f, 7 and the 7 bonus graded automatically)."""

import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from davar import assignment, catalogue
from davar.grading import audit
from davar.grading.grade import grade_submission
from davar.intake import inbox
from davar.run import sandbox

ROOT = Path(__file__).resolve().parents[2]
ID = "iust-dl-1402-hw3"
GRADERS = ROOT / "graders" / ID
REFERENCE = ROOT / "reference" / ID
NOTEBOOKS = ("HW3.ipynb", "DL-Q4.ipynb", "Q7.ipynb")
strict = pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")
pytestmark = pytest.mark.corpus(ID)


def text(message, lang):
    """A message's words as a report shows them (rendered from its key and values, course messages first)."""
    return catalogue.render(message, lang, assignment.load(GRADERS).messages)


@pytest.fixture(scope="module")
def hw3():
    return assignment.load(GRADERS)


@pytest.fixture(scope="module")
def ref(hw3):
    return hw3.reference_module()


# ---------------------------------------------------------------- reference.py


def test_q2_gradients_are_the_seed_values(ref):
    dF, dX = ref.conv_gap_gradients(ref.Q2_X, ref.Q2_F)
    np.testing.assert_allclose(dF, [[2.5, 1.75], [1.25, -1]])
    np.testing.assert_allclose(dX, [[0.5, 0.5, 0], [-0.25, 0, 0.25], [-0.75, -0.5, 0.25]])


def _by_hand(X, F, dO):
    kh, kw = F.shape
    dF, dX = np.zeros_like(F), np.zeros_like(X)
    for i in range(dO.shape[0]):
        for j in range(dO.shape[1]):
            dF += dO[i, j] * X[i:i + kh, j:j + kw]
            dX[i:i + kh, j:j + kw] += dO[i, j] * F
    return dF, dX


@pytest.mark.parametrize("shape, kernel", [((3, 3), (2, 2)), ((4, 7), (3, 2)), ((6, 5), (2, 3)), ((5, 5), (1, 1))])
def test_conv2d_backward_is_the_textbook_gradient(ref, shape, kernel):
    rng = np.random.default_rng(0)
    X, F = rng.normal(size=shape), rng.normal(size=kernel)
    dO = rng.normal(size=(shape[0] - kernel[0] + 1, shape[1] - kernel[1] + 1))
    for got, want in zip(ref.conv2d_backward(X, F, dO), _by_hand(X, F, dO)):
        assert got.shape == want.shape and got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_conv2d_backward_with_a_quarter_everywhere_is_the_gap_case(ref):
    for got, want in zip(ref.conv2d_backward(ref.Q2_X, ref.Q2_F, np.full((2, 2), 0.25)),
                         ref.conv_gap_gradients(ref.Q2_X, ref.Q2_F)):
        np.testing.assert_allclose(got, want)


def test_conv2d_backward_refuses_a_wrong_output_gradient(ref):
    with pytest.raises(ValueError):
        ref.conv2d_backward(np.ones((4, 4)), np.ones((2, 2)), np.ones((2, 2)))


def test_q3a_layers_are_the_keras_numbers(ref):
    layers, total = ref.q3a_layers()
    assert [(l["name"], l["type"], tuple(l["output_shape"]), l["params"], l["activation"]) for l in layers] == [
        ("conv1d", "Conv1D", (498, 16), (7 * 3 + 1) * 16, "relu"),
        ("max_pooling1d", "MaxPooling1D", (249, 16), 0, None),
        ("conv1d_1", "Conv1D", (245, 32), (16 * 5 + 1) * 32, "relu"),
        ("max_pooling1d_1", "MaxPooling1D", (122, 32), 0, None),
        ("conv1d_2", "Conv1D", (118, 64), (32 * 5 + 1) * 64, "relu"),
        ("max_pooling1d_2", "MaxPooling1D", (59, 64), 0, None),
        ("flatten", "Flatten", (3776,), 0, None),
        ("dense", "Dense", (128,), 3776 * 128 + 128, "relu"),
        ("dense_1", "Dense", (5,), 128 * 5 + 5, "softmax"),
    ]
    assert total == 497349 == sum(l["params"] for l in layers)


def test_reference_module_imports_without_the_frameworks(hw3):
    import subprocess
    import sys

    code = (f"import importlib.util, sys; spec = importlib.util.spec_from_file_location('r', {str(REFERENCE / 'reference.py')!r}); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            "print(sorted(k for k in ('torch', 'tensorflow', 'keras') if k in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


# ---------------------------------------------------------------- the official key


def test_key_values_cover_every_official_key(hw3, ref):
    assert set(hw3.key) <= set(ref.key_values())


def test_official_key_disagrees_only_where_the_seed_is_wrong(hw3):
    wrong = {c.key: (c.official, c.reference) for c in audit.check_key(hw3) if not c.agrees}
    assert wrong == {
        "3a.conv1d_2.output_shape": ([245, 32], [118, 64]),  # the second Conv1D's shape copied
        "3a.max_pooling1d_2.output_shape": ([3776], [59, 64]),  # the Flatten output written under the pool
    }


# ---------------------------------------------------------------- notebooks


KERAS_CELLS = {"HW3": ["q3-model", "q6-model"], "DL-Q4": ["models"], "Q7": ["model"]}


@pytest.mark.parametrize("name", [f"{n}{kind}.ipynb" for n in KERAS_CELLS for kind in (".template", "")])
def test_notebooks_have_parameters_and_no_outputs(name):
    nb = nbformat.read(REFERENCE / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    assert all(k in code[0].source for k in ("DATA_DIR", "SEED", "OUTPUT_DIR", "PROFILE"))
    epochs = {"HW3": [], "DL-Q4": ["EPOCHS"], "Q7": ["CIFAR_EPOCHS"]}[name.split(".")[0]]  # the profile's, by notebook
    assert [line.split()[0] for line in code[0].source.splitlines() if "EPOCHS" in line] == epochs
    assert not any(c.outputs for c in code)
    assert nb.metadata.kernelspec.name == "python3"
    assert '<div dir="rtl">' in nb.cells[0].source                        # fa + en intro
    # keras imported only where a question builds a model; never torchvision
    assert [c.id for c in code if "import keras" in c.source or "tensorflow" in c.source] == \
        KERAS_CELLS[name.split(".")[0]]
    assert not any("torchvision" in c.source or "pickle" in c.source for c in code)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_reference_sample_is_the_reference_notebook(name):
    assert (ROOT / "submissions" / ID / "reference_solution" / name).read_bytes() == (REFERENCE / name).read_bytes()


@pytest.fixture(scope="module")
def brain_mri(course_module):
    return course_module(ID, "brain_mri")


@pytest.fixture(scope="module")
def cifar10(course_module):
    return course_module(ID, "cifar10")


@pytest.fixture(scope="module")
def standin(brain_mri, cifar10, tmp_path_factory):
    root = tmp_path_factory.mktemp("hw3-data") / ID
    brain_mri.build_brain_mri(root)
    cifar10.build_cifar10(root)
    return root


def _loaders(notebook: str) -> dict:
    """The template's given "loaders" cell, run on its own (as the notebook runs it)."""
    cell = next(c for c in nbformat.read(REFERENCE / notebook, as_version=4).cells if c.get("id") == "loaders")
    namespace: dict = {}
    exec(compile(cell.source, notebook, "exec"), namespace)
    return namespace


def test_q4_template_reads_the_slices_as_the_grader_does(brain_mri, standin):
    got = _loaders("DL-Q4.template.ipynb")["load_public"](str(standin / "public" / "brain_mri"))
    want = brain_mri.load_public(standin / "public" / "brain_mri")
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_q7_template_reads_the_binary_batches_as_the_grader_does(cifar10, standin):
    got = _loaders("Q7.template.ipynb")["load_train"](str(standin / "public" / "cifar10"))
    want = cifar10.load_train(standin / "public" / "cifar10")
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_every_question_of_the_handout_is_here(hw3):
    assert hw3.notebooks == NOTEBOOKS
    assert {q.id: q.notebook for q in hw3.questions if q.notebook != "HW3.ipynb"} == {
        "4": "DL-Q4.ipynb", "7": "Q7.ipynb", "7-written": "Q7.ipynb", "7-bonus": "Q7.ipynb"}
    assert sum(q.points for q in hw3.questions if not q.bonus) == 100
    assert {q.id: q.points for q in hw3.questions if q.bonus} == {"3b": 10, "7-bonus": 10}
    assert set(hw3.datasets) == {"brain_mri", "cifar10"}


# ---------------------------------------------------------------- the corpus, graded


@pytest.fixture(scope="module")
def graded(corpus, hw3, tmp_path_factory):
    """The sample corpus (graded once for the session), plus the untouched template."""
    out, results = corpus(ID)
    template = tmp_path_factory.mktemp("hw3-template") / "template"
    template.mkdir()
    for name in NOTEBOOKS:
        shutil.copyfile(REFERENCE / name.replace(".ipynb", ".template.ipynb"), template / name)
    result = grade_submission(inbox.collect(template, hw3)[0], hw3, level="strict")
    return out, {**results, "template": result}


@strict
def test_manual_questions_wait_for_the_ta(graded):
    _, results = graded
    r = results["reference_solution"]
    manual = {q.id: q for q in r.questions if q.manual}
    assert set(manual) == {"1", "3b", "5", "6a-e", "7-written"}
    assert all(q.tests[0].outcome == "manual" and q.tests[0].points == 0 for q in manual.values())
    assert r.score == sum(q.max_points for q in r.questions if not q.manual) == 68   # the Q7 bonus included


@strict
def test_template_runs_and_earns_nothing(graded):
    _, results = graded
    r = results["template"]
    assert r.status == "graded" and r.score == 0
    assert {t.outcome for q in r.questions for t in q.tests} == {"failed", "manual"}


def _messages(result, test_id):
    test = next(t for q in result.questions for t in q.tests if t.id == test_id)
    return test.messages


@strict
def test_planted_mistakes_are_named_with_both_values(graded):
    _, results = graded
    r = results["planted_wrong"]
    sign = _messages(r, "q2_gradient[dL_dF]")[0]
    assert sign.values["expected"] == "[[2.5, 1.75], [1.25, -1]]"
    assert sign.values["submitted"] == "[[-2.5, -1.75], [-1.25, 1]]"
    assert "[[2.5, 1.75], [1.25, -1]]" in text(sign, "en") and "\u2068[[-2.5, -1.75], [-1.25, 1]]\u2069" in text(sign, "fa")
    probe = next(m for m in _messages(r, "conv2d_backward") if m.key == "function_probe")
    assert probe.values["part"] == "dF"
    params = {m.values["name"]: (m.values["expected"], m.values["submitted"])
              for m in _messages(r, "q3a_layers[params]") if m.key == "answer_value"}
    assert params == {f'ANSWERS["q3a"]["layers"]["{name}"]["params"]': values for name, values in [
        ("conv1d", ("352", "336")), ("conv1d_1", ("2592", "2560")), ("conv1d_2", ("10304", "10240"))]}
    layer = next(m for m in _messages(r, "q3_model") if m.key == "model_layers")
    assert (layer.values["index"], layer.values["what"], layer.values["expected"], layer.values["submitted"]) == \
        (4, "layer_type", "MaxPooling1D", "AveragePooling1D")


@strict
def test_planted_architecture_difference_names_the_layer_and_both_values(graded):
    _, results = graded
    first = next(m for m in _messages(results["planted_wrong"], "q4_same_architecture") if m.key == "same_architecture")
    assert (first.values["index"], first.values["type"], first.values["what"], first.values["a_value"],
            first.values["b_value"]) == (3, "Conv2D", "kernel_size", "[3, 3]", "[5, 5]")
    assert "kernel_size" in text(first, "fa") and "[5, 5]" in text(first, "en")


@strict
def test_planted_one_by_one_with_stride_2_is_caught_twice(graded):
    _, results = graded
    r = results["planted_wrong"]
    layer = _messages(r, "q6_one_by_one")[-1]
    assert (layer.values["input"], layer.values["output"], layer.values["problem"]) == \
        ("32×32×64", "16×16×16", "spatial_changed")
    probe = _messages(r, "q6_shapes")[-1]
    assert (probe.values["input"], probe.values["output"], probe.values["problem"]) == \
        ("32×32×3", "16×16×16", "spatial_changed")


@strict
def test_inception_is_read_from_the_graph(graded):
    _, results = graded
    found = _messages(results["reference_solution"], "q7_inception")[-1]
    assert found.key == "inception" and found.values["branches"] == 4
    assert found.values["kernels"] == "1×1, 3×3, 5×5, 3×3"
    same = _messages(results["planted_wrong"], "q7_inception")[-1]
    assert same.values["kernels"] == "3×3, 3×3, 3×3, 3×3"


@strict
def test_accuracies_are_measured_on_hidden_data(graded):
    _, results = graded
    for test_id, floor in [("q4_accuracy[Sequential]", 0.9), ("q4_accuracy[Functional]", 0.9)]:
        m = _messages(results["reference_solution"], test_id)[-1]
        assert m.key == "model_accuracy" and m.values["split"] == "hidden" and m.values["measured"] > floor
    untrained = _messages(results["crashes"], "q7_hidden_accuracy")[-1]
    assert untrained.values["measured"] < 0.3 and untrained.values["earned"] == 0


@strict
def test_q7_bonus_follows_the_handout_split_and_shows_both(graded):
    """"Above 80 % in training": judged on the public training images by default, the hidden test accuracy
    shown beside it."""
    _, results = graded
    messages = _messages(results["reference_solution"], "q7_hidden_accuracy")
    both = next(m for m in messages if m.key == "q7_both_accuracies")
    assert both.values["split"] == "train" and both.values["train"] > 0.85 and both.values["hidden"] > 0.85
    assert both.values["train_count"] == 2000 and both.values["hidden_count"] > 0
    last = messages[-1]
    assert (last.key, last.values["split"], last.values["measured"]) == ("model_accuracy", "train", both.values["train"])
    assert "training" in text(last, "en") and "آموزشی" in text(last, "fa")
    assert "\u2068" in text(both, "fa") and "hidden test images" in text(both, "en")


@strict
def test_loopholes_are_not_awarded_and_say_why(graded):
    _, results = graded
    r = results["loopholes"]
    for test_id in ("q4_same_architecture", "q4_trained[Functional]", "q4_accuracy[Functional]"):
        shared = next(m for m in _messages(r, test_id) if m.key == "q4_shared_weights")
        assert shared.variant == "fail" and shared.values["shared"] == shared.values["total"] == 8
        assert text(shared, "en").startswith("Not awarded") and text(shared, "fa").startswith("نمره داده نشد")
    assert next(m for m in _messages(r, "q4_trained[Sequential]") if m.key == "model_trained").variant == "pass"
    for test_id in ("q7_trained", "q7_hidden_accuracy"):
        gate = _messages(r, test_id)[-1]
        assert (gate.key, gate.variant) == ("q7_needs_inception", "fail")
        assert "no Inception module" in text(gate, "en") and "Inception" in text(gate, "fa")
    both = next(m for m in _messages(r, "q7_hidden_accuracy") if m.key == "q7_both_accuracies")
    assert both.values["train"] > 0.8                       # accurate, yet not the model of the question
    assert _messages(r, "q7_inception")[-1].key == "inception_no_concat"


@strict
def test_other_shapes_are_read_from_the_model(graded):
    _, results = graded
    r = results["other_shapes"]
    for test_id in ("q4_trained[Sequential]", "q4_accuracy[Functional]", "q7_trained", "q7_hidden_accuracy"):
        keys = [m.key for m in _messages(r, test_id)]
        assert "input_rescaled" in keys, test_id
        assert ("outputs_logits" in keys) == test_id.startswith("q4"), test_id
    rescaled = next(m for m in _messages(r, "q4_trained[Sequential]") if m.key == "input_rescaled")
    assert rescaled.values["scale"] == pytest.approx(1 / 255) and "[0, 255]" in text(rescaled, "en")


# ---------------------------------------------------------------- conventions read from the model (issue 14)


@pytest.fixture(scope="module")
def conventions(course_module):
    return course_module(ID, "conventions")


def _layer(type_, params=0, name="l", **config):
    from davar.probe.bridge import Layer

    return Layer(name=name, type=type_, module="keras.layers", params=params, config=config)


@pytest.mark.parametrize("layers, found", [
    ([_layer("Rescaling", name="scale", scale=1 / 255), _layer("Conv2D", 160)], ("scale", 1 / 255)),
    ([_layer("InputLayer"), _layer("Rescaling", scale=1 / 127.5, offset=-1.0), _layer("Conv2D", 160)],
     ("l", 1 / 127.5)),
    ([_layer("Conv2D", 160), _layer("Rescaling", scale=1 / 255)], None),  # after the first weights: not the input's
    ([_layer("Rescaling", scale=2.0), _layer("Conv2D", 160)], None),      # does not bring pixels to [0, 1]
    ([_layer("Conv2D", 160), _layer("Dense", 17)], None),
])
def test_a_rescaling_layer_before_the_weights_means_raw_pixels(conventions, layers, found):
    got = conventions.input_rescaling(layers)
    assert (got.layer, got.scale) == found if found else got is None
    images = np.array([[0.0, 0.5, 1.0]], np.float32)
    assert conventions.fed(images, got).tolist() == ([[0.0, 128.0, 255.0]] if found else images.tolist())


@pytest.mark.parametrize("outputs, kind, classes", [
    ([[0.9], [0.2], [0.5]], "probabilities", [1, 0, 0]),
    ([[2.3], [-0.4], [0.2]], "logits", [1, 0, 1]),           # a logit of 0.2 is a tumour, a probability not
    ([0.7, -1.5], "logits", [1, 0]),
    ([[0.3, 0.7], [0.8, 0.2]], "scores", [1, 0]),
    ([[-3.0, 4.0], [5.0, 1.0]], "scores", [1, 0]),            # two logits: argmax as for softmax
])
def test_outputs_are_read_as_probabilities_or_logits(conventions, outputs, kind, classes):
    assert conventions.output_kind(np.array(outputs)) == kind
    assert conventions.predicted_classes(np.array(outputs), 2).tolist() == classes


def test_ten_class_logits_are_read_by_argmax_and_other_shapes_refused(conventions):
    logits = np.array([[-1.0] * 10, [0.0] * 9 + [3.0]])
    logits[0, 4] = 2.0
    assert conventions.predicted_classes(logits, 10).tolist() == [4, 9]
    with pytest.raises(ValueError):
        conventions.predicted_classes(np.zeros((4, 3)), 2)
    with pytest.raises(ValueError):
        conventions.predicted_classes(np.zeros((4, 1)), 10)


def test_shared_weights_are_told_apart_from_the_same_network_built_twice():
    """The kernel side's model description names each weight tensor by its identity: a Functional wrapper of
    a Sequential model's layers shares all of them, the same CNN built again shares none."""
    import keras
    from keras import layers

    from davar.inside import models

    def cnn():
        return [layers.Conv2D(4, 3, activation="relu"), layers.GlobalMaxPooling2D(), layers.Dense(1)]

    seq = keras.Sequential([keras.Input(shape=(8, 8, 1)), *cnn()])
    wrapper = keras.Model(seq.inputs, seq.outputs)
    inputs = keras.Input(shape=(8, 8, 1))
    x = inputs
    for layer in cnn():
        x = layer(x)
    built = keras.Model(inputs, x)
    ids = {name: {i for i, _ in models.keras_info(m)["variables"]} for name, m in
           (("seq", seq), ("wrapper", wrapper), ("built", built))}
    assert len(ids["seq"]) == 4 and ids["wrapper"] == ids["seq"] and not ids["built"] & ids["seq"]
    assert [n for _, n in models.keras_info(seq)["variables"]][0].endswith("kernel")


def test_weights_equal_value_for_value_are_one_network(course_module):
    same_values = course_module(ID, "test_q4").same_values
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(3, 3, 1, 4)).astype(np.float32), np.zeros(4, np.float32)]
    assert same_values(weights, [w.copy() for w in weights])               # set_weights(get_weights())
    assert not same_values(weights, [weights[0] + 1e-3, weights[1]])        # trained apart
    assert not same_values(weights, weights[:1]) and not same_values([], [])
