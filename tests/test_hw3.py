"""iust-dl-1402-hw3 (questions 2 and 3a): the reference implementations against hand-known values,
the official key against the reference, and the sample corpus against its expected.toml."""

import importlib.util
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from davar import assignment, audit, cli, intake, sandbox
from davar.grade import grade_submission

ROOT = Path(__file__).resolve().parent.parent
ID = "iust-dl-1402-hw3"
GRADERS = ROOT / "graders" / ID
REFERENCE = ROOT / "reference" / ID
strict = pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")


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


def _generator():
    spec = importlib.util.spec_from_file_location("hw3_make_notebooks", REFERENCE / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebooks_on_disk_are_the_generated_ones():
    for path, nb in _generator().build().items():
        assert nbformat.read(path, as_version=4) == nb, f"{path}: run reference/{ID}/make_notebooks.py"


@pytest.mark.parametrize("name", ["HW3.template.ipynb", "HW3.ipynb"])
def test_notebooks_have_parameters_and_no_outputs(name):
    nb = nbformat.read(REFERENCE / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    assert all(k in code[0].source for k in ("DATA_DIR", "SEED", "OUTPUT_DIR", "PROFILE"))
    assert not any(c.outputs for c in code)
    assert nb.metadata.kernelspec.name == "python3"
    # keras/tensorflow imported only where question 3 needs it; never torchvision
    assert [c.id for c in code if "import keras" in c.source or "tensorflow" in c.source] == ["q3-model"]
    assert not any("torchvision" in c.source for c in code)


def test_reference_sample_is_the_reference_notebook():
    assert (ROOT / "submissions" / ID / "reference_solution" / "HW3.ipynb").read_bytes() == \
        (REFERENCE / "HW3.ipynb").read_bytes()


# ---------------------------------------------------------------- the corpus, graded


@pytest.fixture(scope="module")
def graded(corpus, hw3, tmp_path_factory):
    """The sample corpus (graded once for the session), plus the untouched template."""
    out, results = corpus(ID)
    template = tmp_path_factory.mktemp("hw3-template") / "template"
    template.mkdir()
    shutil.copyfile(REFERENCE / "HW3.template.ipynb", template / "HW3.ipynb")
    result = grade_submission(intake.collect(template, hw3)[0], hw3, level="strict")
    return out, {**results, "template": result}


@strict
def test_manual_questions_wait_for_the_ta(graded):
    _, results = graded
    r = results["reference_solution"]
    manual = {q.id: q for q in r.questions if q.manual}
    assert set(manual) == {"1", "3b", "5"}
    assert all(q.tests[0].outcome == "manual" and q.tests[0].points == 0 for q in manual.values())
    assert r.score == sum(q.max_points for q in r.questions if not q.manual) == 25


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
    sign = _messages(r, "q2_dL_dF")[0]
    assert sign.values["expected"] == "[[2.5, 1.75], [1.25, -1]]"
    assert sign.values["submitted"] == "[[-2.5, -1.75], [-1.25, 1]]"
    assert "[[2.5, 1.75], [1.25, -1]]" in sign.en and "\u2068[[-2.5, -1.75], [-1.25, 1]]\u2069" in sign.fa
    probe = next(m for m in _messages(r, "conv2d_backward") if m.key == "function_probe")
    assert probe.values["part"] == "dF"
    params = {m.values["name"]: (m.values["expected"], m.values["submitted"])
              for m in _messages(r, "q3a_params") if m.key == "answer_value"}
    assert params == {f'ANSWERS["q3a"]["layers"]["{name}"]["params"]': values for name, values in [
        ("conv1d", ("352", "336")), ("conv1d_1", ("2592", "2560")), ("conv1d_2", ("10304", "10240"))]}
    layer = next(m for m in _messages(r, "q3_model") if m.key == "model_layers")
    assert (layer.values["index"], layer.values["what"], layer.values["expected"], layer.values["submitted"]) == \
        (4, "layer_type", "MaxPooling1D", "AveragePooling1D")


@strict
def test_reference_solution_passes_the_audit(capsys):
    assert cli.main(["audit-key", str(GRADERS)]) == 0
    out = capsys.readouterr().out
    assert "100 %" in out and "3a.conv1d_2.output_shape" in out and "3a.max_pooling1d_2.output_shape" in out
