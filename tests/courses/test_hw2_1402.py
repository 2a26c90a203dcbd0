"""iust-dl-1402-hw2: the reference implementations against hand-known values (1c, 2c) and real torch
models (5: what counts as an MLP), the official key against the reference, the notebooks' contract
with the graders (4, 5), and the sample corpus against its expected.toml."""

import inspect
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pytest

from davar import assignment, catalogue, commands
from davar.grading import audit
from davar.grading.grade import grade_submission
from davar.intake import inbox
from davar.run import sandbox

ROOT = Path(__file__).resolve().parents[2]
ID = "iust-dl-1402-hw2"
GRADERS = ROOT / "graders" / ID
REFERENCE = ROOT / "reference" / ID
strict = pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")
pytestmark = pytest.mark.corpus(ID)

OUTPUT = [[1.6, -0.7, -0.2, 1.9], [-2.3, 2.5, 2.5, -0.9], [-0.5, 3.2, 3.7, -0.4], [1.3, -0.4, -2.6, 1.2]]


def text(message, lang):
    """A message's words as a report shows them (rendered from its key and values, course messages first)."""
    return catalogue.render(message, lang, assignment.load(GRADERS).messages)


@pytest.fixture(scope="module")
def hw2():
    return assignment.load(GRADERS)


@pytest.fixture(scope="module")
def ref(hw2):
    return hw2.reference_module()


@pytest.fixture(scope="module")
def fashion_mnist(course_module):
    return course_module(ID, "fashion_mnist")


# ---------------------------------------------------------------- reference.py


def test_keep_probability_is_eight_of_sixteen(ref):
    assert ref.keep_probability(ref.Q1C_MASK) == 0.5
    assert ref.keep_probability([[1, 1], [1, 0]]) == 0.75


def test_q1c_tables_are_the_hand_computed_ones(ref):
    tables = ref.q1c_tables()
    assert list(tables) == [("standard", "train"), ("standard", "test"), ("inverted", "train"), ("inverted", "test")]
    np.testing.assert_allclose(tables["standard", "train"],
                               [[1.6, 0, 0, 1.9], [0, 2.5, 2.5, 0], [0, 3.2, 3.7, 0], [1.3, 0, 0, 1.2]])
    np.testing.assert_allclose(tables["standard", "test"],
                               [[0.8, -0.35, -0.1, 0.95], [-1.15, 1.25, 1.25, -0.45],
                                [-0.25, 1.6, 1.85, -0.2], [0.65, -0.2, -1.3, 0.6]])
    np.testing.assert_allclose(tables["inverted", "train"],
                               [[3.2, 0, 0, 3.8], [0, 5, 5, 0], [0, 6.4, 7.4, 0], [2.6, 0, 0, 2.4]])
    np.testing.assert_allclose(tables["inverted", "test"], OUTPUT)
    assert not any(np.signbit(t[t == 0]).any() for t in tables.values())  # no -0.0 shown to students


def test_dropout_expectations_agree(ref):
    """Standard test = expected standard train over masks; inverted train has the output's expectation."""
    rng = np.random.default_rng(0)
    x, p = rng.normal(size=(3, 5)), 0.8
    masks = rng.random(size=(4000, 3, 5)) < p
    mean_std = np.mean([ref.dropout(x, m, p, inverted=False, train=True) for m in masks], axis=0)
    mean_inv = np.mean([ref.dropout(x, m, p, inverted=True, train=True) for m in masks], axis=0)
    np.testing.assert_allclose(mean_std, ref.dropout(x, masks[0], p, inverted=False, train=False), atol=0.1)
    np.testing.assert_allclose(mean_inv, ref.dropout(x, masks[0], p, inverted=True, train=False), atol=0.1)


def test_dropout_refuses_bad_inputs(ref):
    with pytest.raises(ValueError):
        ref.dropout(np.ones((4, 4)), np.ones((2, 2)), 0.5, inverted=False, train=True)
    with pytest.raises(ValueError):
        ref.dropout(np.ones((2, 2)), np.ones((2, 2)), 0.0, inverted=True, train=True)


def test_q2c_choices_are_the_configured_answers(hw2, ref):
    assert ref.q2c_choices() == hw2.question("2c").extra["answers"] == \
        {"W_exp1": "L2", "W_exp2": "L1", "W_exp3": "none", "W_exp4": "L1"}
    assert set(ref.q2c_choices().values()) <= set(ref.Q2C_CHOICES)


def test_points_split(hw2):
    points = {q.id: (q.points, q.manual, q.bonus) for q in hw2.questions}
    assert points == {"1ab": (7, True, False), "1c": (8, False, False), "2ab": (12, True, False),
                      "2c": (8, False, False), "3": (15, True, False),
                      "4": (4, False, False), "4w": (6, True, False),
                      "5a": (14, False, False), "5b": (6, False, False), "5c": (6, False, False),
                      "5d": (6, False, False), "5bcd": (8, True, False),
                      "5e": (10, False, True), "5ew": (5, True, True)}
    handout = {"1": 15, "2": 20, "3": 15, "4": 10, "5": 40}
    for number, total in handout.items():
        assert sum(q.points for q in hw2.questions if q.id.startswith(number) and not q.bonus) == total
    assert sum(q.points for q in hw2.questions if q.bonus) == 15
    assert hw2.frameworks == ("torch",) and hw2.notebooks == ("HW2.ipynb", "HW2_Q4.ipynb", "HW2_Q5.ipynb")
    assert {q.id: q.notebook for q in hw2.questions if q.id[0] in "45"} == \
        {q: "HW2_Q4.ipynb" for q in ("4", "4w")} | {q: "HW2_Q5.ipynb" for q in ("5a", "5b", "5c", "5d", "5bcd", "5e", "5ew")}


def _torch_layers(model):
    """What ModelProbe.layers() reports for a torch model: its leaf modules' type and module names."""
    return [SimpleNamespace(type=type(m).__name__, module=type(m).__module__,
                            params=sum(p.numel() for p in m.parameters(recurse=False)))
            for m in model.modules() if next(iter(m.children()), None) is None]


def test_mlp_is_linear_and_activation_layers_only(ref):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.LeakyReLU(), nn.Dropout(0.2), nn.Linear(64, 10),
                        nn.LogSoftmax(dim=1))
    assert ref.mlp_violations(_torch_layers(mlp)) == [] and ref.linear_count(_torch_layers(mlp)) == 2
    sneaky = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 26 * 26, 64), nn.ReLU(),
                           nn.Linear(64, 10))
    assert ref.mlp_violations(_torch_layers(sneaky)) == ["Conv2d"]
    normed = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 10))
    assert ref.mlp_violations(_torch_layers(normed)) == ["BatchNorm1d"]

    class Scale(nn.Module):  # a custom leaf with its own weights is not a Linear layer
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(10))

        def forward(self, x):
            return x * self.w

    assert ref.mlp_violations(_torch_layers(nn.Sequential(nn.Linear(784, 10), Scale()))) == ["Scale"]
    assert ref.linear_count(_torch_layers(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)))) == 1


def test_architecture_tells_networks_apart(ref):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    a = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    b = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    c = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    assert ref.architecture(_torch_layers(a)) == ref.architecture(_torch_layers(b)) != ref.architecture(_torch_layers(c))
    assert ref.architecture(_torch_layers(a))[1] == ("Linear", 784 * 256 + 256)


def test_accuracy_and_gap(ref):
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.5, 0.0]])
    assert ref.accuracy(logits, np.array([1, 0, 2, 2])) == 0.75
    assert ref.gap(0.9, 0.65) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        ref.accuracy(logits, np.array([1, 0]))


def test_reference_module_imports_no_framework():
    code = (f"import importlib.util, sys; spec = importlib.util.spec_from_file_location('r', {str(REFERENCE / 'reference.py')!r}); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            "print(sorted(k for k in ('torch', 'tensorflow', 'keras') if k in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


# ---------------------------------------------------------------- the official key


def test_key_values_cover_every_official_key(hw2, ref):
    assert set(hw2.key) <= set(ref.key_values())


def test_official_key_disagrees_only_where_the_seed_is_wrong(hw2):
    wrong = {c.key: (c.official, c.reference) for c in audit.check_key(hw2) if not c.agrees}
    assert set(wrong) == {"1c.standard.test", "1c.inverted.train"}
    official, reference = (np.asarray(v) for v in wrong["1c.standard.test"])
    assert [tuple(i) for i in np.argwhere(~np.isclose(official, reference))] == [(0, 3)]  # row 1, column 4
    assert (official[0, 3], reference[0, 3]) == (1.9, 0.95)
    official, reference = (np.asarray(v) for v in wrong["1c.inverted.train"])
    diff = {tuple(int(x) for x in i): (official[tuple(i)], reference[tuple(i)])
            for i in np.argwhere(~np.isclose(official, reference))}
    assert diff == {(0, 0): (2.3, 3.2),                               # digits swapped
                    (2, 1): (7.4, 6.4), (2, 2): (6.4, 7.4),           # 3.2 / 3.7 doubled, swapped
                    (3, 0): (2.4, 2.6), (3, 3): (2.6, 2.4)}           # 1.3 / 1.2 doubled, swapped


# ---------------------------------------------------------------- notebooks


NOTEBOOKS = ["HW2", "HW2_Q4", "HW2_Q5"]


@pytest.mark.parametrize("name", [f"{n}{kind}.ipynb" for n in NOTEBOOKS for kind in (".template", "")])
def test_notebooks_have_parameters_and_no_outputs(name):
    nb = nbformat.read(REFERENCE / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    assert all(k in code[0].source for k in ("DATA_DIR", "SEED", "OUTPUT_DIR", "PROFILE"))
    assert not any(c.outputs for c in code)
    assert nb.metadata.kernelspec.name == "python3"
    banned = ("torch", "tensorflow", "keras") if name.startswith("HW2.") else ("torchvision", "tensorflow", "keras")
    assert not any(w in c.source for c in code for w in banned)
    assert 'dir="rtl"' in nb.cells[0].source  # the Persian intro, right to left


def test_q5_template_names_what_the_graders_read(hw2, fashion_mnist):
    nb = nbformat.read(REFERENCE / "HW2_Q5.template.ipynb", as_version=4)
    intro, source = nb.cells[0].source, "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for name in ("model", "criterion", "optimizer", "overfit_model", "augmented_model", "regularized_model",
                 "best_model", "N_SMALL", "to_input", "(N, 1, 28, 28)"):
        assert f"`{name}`" in intro, name
    assert f"N_SMALL = {hw2.question('5b').extra['small_train']} " in source
    assert inspect.getsource(fashion_mnist.read_idx).strip() in source   # the graders' own reader
    parameters = nb.cells[1].source
    for profile in ("standin", "real"):
        assert set(hw2.profile_parameters(profile)) == {"EPOCHS", "SMALL_EPOCHS"}
        assert all(f"{k} = " in parameters for k in hw2.profile_parameters(profile))
    assert hw2.profile_parameters("standin")["SMALL_EPOCHS"] < hw2.profile_parameters("real")["SMALL_EPOCHS"]


def test_q4_notebook_matches_its_config(hw2, ref):
    config = hw2.question("4").extra
    source = "\n".join(c.source for c in nbformat.read(REFERENCE / "HW2_Q4.ipynb", as_version=4).cells)
    assert f"STEPS = {config['steps']} " in source
    assert tuple(config["optimizers"]) == ref.Q4_OPTIMIZERS
    assert [float(lr) for lr in config["learning_rates"]] == list(ref.Q4_LEARNING_RATES)
    assert f"LEARNING_RATES = {list(ref.Q4_LEARNING_RATES)}" in source
    assert all(f'"{name}":' in source for name in ref.Q4_OPTIMIZERS)
    template = nbformat.read(REFERENCE / "HW2_Q4.template.ipynb", as_version=4)
    reference = nbformat.read(REFERENCE / "HW2_Q4.ipynb", as_version=4)
    assert [c.source for c in template.cells if c.cell_type == "code"] == \
        [c.source for c in reference.cells if c.cell_type == "code"]   # ready-made code: only run it


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_reference_sample_is_the_reference_notebook(name):
    assert (ROOT / "submissions" / ID / "reference_solution" / f"{name}.ipynb").read_bytes() == \
        (REFERENCE / f"{name}.ipynb").read_bytes()


# ---------------------------------------------------------------- the corpus, graded


@pytest.fixture(scope="module")
def graded(corpus, hw2, tmp_path_factory):
    """The sample corpus (graded once for the session), plus the untouched template."""
    out, results = corpus(ID)
    template = tmp_path_factory.mktemp("hw2-template") / "template"
    template.mkdir()
    for name in NOTEBOOKS:
        shutil.copyfile(REFERENCE / f"{name}.template.ipynb", template / f"{name}.ipynb")
    result = grade_submission(inbox.collect(template, hw2)[0], hw2, level="strict")
    return out, {**results, "template": result}


def _messages(result, test_id):
    return next(t for q in result.questions for t in q.tests if t.id == test_id).messages


@strict
def test_manual_questions_wait_for_the_ta(graded):
    _, results = graded
    r = results["reference_solution"]
    manual = {q.id: q for q in r.questions if q.manual}
    assert set(manual) == {"1ab", "2ab", "3", "4w", "5bcd", "5ew"}
    assert all(q.tests[0].outcome == "manual" and q.tests[0].points == 0 for q in manual.values())
    assert r.score == sum(q.max_points for q in r.questions if not q.manual) == 62


@strict
def test_templates_run_and_earn_only_the_ready_made_question(graded):
    """The templates run to the end; question 4's code is given (running it is the task), the rest
    earns nothing."""
    _, results = graded
    r = results["template"]
    assert r.status == "graded" and r.score == 4
    outcomes = {t.id: t.outcome for q in r.questions for t in q.tests}
    assert {k: v for k, v in outcomes.items() if k.startswith("q4")} == dict.fromkeys(("q4_runs", "q4_figures", "q4_losses"), "passed")
    assert {v for k, v in outcomes.items() if not k.startswith("q4")} == {"failed", "manual"}
    assert _messages(r, "q5a_mlp")[0].key == "missing_name"


@strict
def test_planted_mistakes_are_named_with_both_values(graded):
    _, results = graded
    r = results["planted_wrong"]
    m = _messages(r, "q1c_table[standard-test]")[0]
    assert m.key == "answer_value" and m.values["name"] == 'ANSWERS["q1c"]["standard"]["test"]'
    assert m.values["expected"].startswith("[[0.8, -0.35, -0.1, 0.95]")
    assert m.values["submitted"].startswith("[[0.8, -0.35, -0.1, 1.9]")
    m = _messages(r, "q1c_table[inverted-train]")[0]
    assert m.values["expected"] == "[[3.2, 0, 0, 3.8], [0, 5, 5, 0], [0, 6.4, 7.4, 0], [2.6, 0, 0, 2.4]]"
    assert m.values["submitted"] == "[[2.3, 0, 0, 3.8], [0, 5, 5, 0], [0, 7.4, 6.4, 0], [2.4, 0, 0, 2.6]]"
    assert "\u2068" + m.values["submitted"] + "\u2069" in text(m, "fa")
    m = _messages(r, "q2c_choice[W_exp1]")[0]
    assert (m.values["expected"], m.values["submitted"]) == ("L2", "L1")
    m = _messages(r, "q4_figures")[0]
    assert (m.values["count"], m.values["expected"]) == (1, 2)


@strict
def test_planted_q5_mistakes_are_measured_by_the_grader(graded):
    _, results = graded
    r = results["planted_wrong"]
    m = next(m for m in _messages(r, "q5a_mlp") if m.key == "mlp_layers")
    assert m.values["foreign"] == "Conv2d" and "Conv2d" in text(m, "en") and "Conv2d" in text(m, "fa")
    m = _messages(r, "q5a_optimizer")[0]
    assert (m.values["found"], m.values["expected"]) == ("torch.optim.adam.Adam", "torch.optim.SGD")
    m = next(m for m in _messages(r, "q5a_accuracy") if m.key == "design_required")
    assert m.variant == "fail" and "Conv2d" in m.values["found"] and "Adam" in m.values["found"]
    assert m.values["measured"] > 0.85                                       # measured, reported, not counted
    assert "Conv2d" in text(m, "fa") and "Adam" in text(m, "en")
    m = next(m for m in _messages(r, "q5d_regularization") if m.key == "gap_shrinks")
    assert abs(m.values["gap"]) < 0.05 and m.values["test"] < 0.2            # no gap, and no model either
    assert m.values["test"] < m.values["base_test"] - m.values["tolerance"]
    assert _messages(r, "q5e_best")[-1].key in ("missing_name", "missing_name_close")  # the latter: "did you mean"
    ok = next(m for m in _messages(results["reference_solution"], "q5d_regularization") if m.key == "gap_shrinks")
    assert ok.values["gap"] <= ok.values["base_gap"] - ok.values["shrink"]


@strict
def test_points_need_the_design_and_the_techniques(graded):
    """design_loopholes: each part's result without the part's design or technique; d's drop on the hidden set
    stays within one training run's noise (the tolerance), so d is awarded."""
    _, results = graded
    r = results["design_loopholes"]
    m = next(m for m in _messages(r, "q5a_accuracy") if m.key == "design_required")
    assert m.variant == "fail" and "Conv2d" in m.values["found"]
    assert [m.key for m in _messages(r, "q5c_augmentation")] == ["augmentation_missing"]
    m = next(m for m in _messages(r, "q5d_regularization") if m.key == "gap_shrinks")
    assert m.variant == "pass" and m.values["gap"] <= m.values["base_gap"] - m.values["shrink"]   # it shrank...
    assert m.values["base_test"] - m.values["tolerance"] <= m.values["test"] < m.values["base_test"]  # ...losing some
    penalty = next(m for m in _messages(r, "q5d_regularization") if m.key == "penalty_in_weights")
    assert penalty.variant == "pass" and penalty.values["ratio"] < penalty.values["limit"]


@strict
def test_the_techniques_are_measured_in_the_reference(graded):
    _, results = graded
    r = results["reference_solution"]
    m = next(m for m in _messages(r, "q5c_augmentation") if m.key == "augmentation_changes")
    assert m.variant == "pass" and m.values["name"] == "augment" and m.values["change"] > 0.01
    m = next(m for m in _messages(r, "q5d_regularization") if m.key == "penalty_in_weights")
    assert m.variant == "pass" and m.values["l2"] < m.values["fresh_l2"]
    m = next(m for m in _messages(r, "q5e_best") if m.key == "techniques_combined")
    assert m.variant == "pass" and "Dropout" in m.values["found"] and "augmentation" in m.values["found"]


@strict
def test_flat_inputs_and_weight_decay_are_graded_as_written(graded):
    """other_conventions: its own `to_input` gives flat vectors (no Flatten layer), L2 is weight decay."""
    _, results = graded
    r = results["other_conventions"]
    assert {t.id: t.outcome for q in r.questions for t in q.tests if t.id.startswith("q5")} == \
        dict.fromkeys(("q5a_mlp", "q5a_loss", "q5a_optimizer", "q5a_accuracy", "q5b_overfit", "q5c_augmentation",
                       "q5d_regularization", "q5e_best"), "passed")
    assert not any(m.key == "preprocess_template" for m in _messages(r, "q5a_accuracy"))
    m = next(m for m in _messages(r, "q5d_regularization") if m.key == "penalty_in_weights")
    assert m.values["ratio"] < m.values["limit"]


def test_fresh_network_norms_are_pytorchs(ref):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                              torch.nn.Linear(256, 10))
    weights = [m.weight.detach().numpy() for m in net if isinstance(m, torch.nn.Linear)]
    measured, expected = ref.weight_norms(weights), ref.init_norms([w.shape for w in weights])
    assert measured["l2"] == pytest.approx(expected["l2"], rel=0.03)
    assert measured["l1"] == pytest.approx(expected["l1"], rel=0.03)
    assert ref.weight_norms([np.array([[3.0, -4.0]])]) == {"l2": 5.0, "l1": 7.0}


@strict
def test_crashed_and_missing_notebooks_are_graded_on_what_ran(graded):
    _, results = graded
    r = results["crashes"]
    assert {e.notebook: e.status for e in r.executions} == {"HW2.ipynb": "error", "HW2_Q5.ipynb": "error"}
    assert [m.key for m in _messages(r, "q4_runs")] == ["notebook_missing"]
    m = next(m for m in _messages(r, "q5c_augmentation") if m.key == "gap_shrinks")
    assert m.values["test"] < 0.3                                            # built, never trained


@strict
def test_choices_are_compared_case_insensitively(tmp_path):
    nb = nbformat.read(REFERENCE / "HW2.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == "q2c-answer")
    cell.source = cell.source.replace('"L2"', '" l2 "').replace('"none"', '"None"')
    (tmp_path / "student").mkdir()
    nbformat.write(nb, tmp_path / "student" / "HW2.ipynb")
    (r,) = commands.grade(assignment=str(GRADERS), path=tmp_path / "student", out=tmp_path / "out")
    assert r.score == 16
