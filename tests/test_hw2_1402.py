"""iust-dl-1402-hw2 (questions 1c and 2c): the reference implementations against hand-known values,
the official key against the reference, and the sample corpus against its expected.toml."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from davar import assignment, audit, cli, intake, sandbox
from davar.grade import grade_submission

ROOT = Path(__file__).resolve().parent.parent
ID = "iust-dl-1402-hw2"
GRADERS = ROOT / "graders" / ID
REFERENCE = ROOT / "reference" / ID
strict = pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")

OUTPUT = [[1.6, -0.7, -0.2, 1.9], [-2.3, 2.5, 2.5, -0.9], [-0.5, 3.2, 3.7, -0.4], [1.3, -0.4, -2.6, 1.2]]


@pytest.fixture(scope="module")
def hw2():
    return assignment.load(GRADERS)


@pytest.fixture(scope="module")
def ref(hw2):
    return hw2.reference_module()


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
    points = {q.id: (q.points, q.manual) for q in hw2.questions}
    assert points == {"1ab": (7, True), "1c": (8, False), "2ab": (12, True), "2c": (8, False), "3": (15, True)}
    assert hw2.frameworks == [] and hw2.notebooks == ("HW2.ipynb",)


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


def _generator():
    spec = importlib.util.spec_from_file_location("hw2_1402_make_notebooks", REFERENCE / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_notebooks_on_disk_are_the_generated_ones():
    for path, nb in _generator().build().items():
        assert nbformat.read(path, as_version=4) == nb, f"{path}: run reference/{ID}/make_notebooks.py"


@pytest.mark.parametrize("name", ["HW2.template.ipynb", "HW2.ipynb"])
def test_notebooks_have_parameters_and_no_outputs(name):
    nb = nbformat.read(REFERENCE / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    assert all(k in code[0].source for k in ("DATA_DIR", "SEED", "OUTPUT_DIR", "PROFILE"))
    assert not any(c.outputs for c in code)
    assert nb.metadata.kernelspec.name == "python3"
    assert not any(w in c.source for c in code for w in ("torch", "tensorflow", "keras"))


def test_reference_sample_is_the_reference_notebook():
    assert (ROOT / "submissions" / ID / "reference_solution" / "HW2.ipynb").read_bytes() == \
        (REFERENCE / "HW2.ipynb").read_bytes()


# ---------------------------------------------------------------- the corpus, graded


@pytest.fixture(scope="module")
def graded(corpus, hw2, tmp_path_factory):
    """The sample corpus (graded once for the session), plus the untouched template."""
    out, results = corpus(ID)
    template = tmp_path_factory.mktemp("hw2-template") / "template"
    template.mkdir()
    shutil.copyfile(REFERENCE / "HW2.template.ipynb", template / "HW2.ipynb")
    result = grade_submission(intake.collect(template, hw2)[0], hw2, level="strict")
    return out, {**results, "template": result}


def _messages(result, test_id):
    return next(t for q in result.questions for t in q.tests if t.id == test_id).messages


@strict
def test_manual_questions_wait_for_the_ta(graded):
    _, results = graded
    r = results["reference_solution"]
    manual = {q.id: q for q in r.questions if q.manual}
    assert set(manual) == {"1ab", "2ab", "3"}
    assert all(q.tests[0].outcome == "manual" and q.tests[0].points == 0 for q in manual.values())
    assert r.score == sum(q.max_points for q in r.questions if not q.manual) == 16


@strict
def test_template_runs_and_earns_nothing(graded):
    _, results = graded
    r = results["template"]
    assert r.status == "graded" and r.score == 0
    assert {t.outcome for q in r.questions for t in q.tests} == {"failed", "manual"}


@strict
def test_planted_mistakes_are_named_with_both_values(graded):
    _, results = graded
    r = results["planted_wrong"]
    m = _messages(r, "q1c_standard_test")[0]
    assert m.key == "answer_value" and m.values["name"] == 'ANSWERS["q1c"]["standard"]["test"]'
    assert m.values["expected"].startswith("[[0.8, -0.35, -0.1, 0.95]")
    assert m.values["submitted"].startswith("[[0.8, -0.35, -0.1, 1.9]")
    m = _messages(r, "q1c_inverted_train")[0]
    assert m.values["expected"] == "[[3.2, 0, 0, 3.8], [0, 5, 5, 0], [0, 6.4, 7.4, 0], [2.6, 0, 0, 2.4]]"
    assert m.values["submitted"] == "[[2.3, 0, 0, 3.8], [0, 5, 5, 0], [0, 7.4, 6.4, 0], [2.4, 0, 0, 2.6]]"
    assert "\u2068" + m.values["submitted"] + "\u2069" in m.fa
    m = _messages(r, "q2c_W_exp1")[0]
    assert (m.values["expected"], m.values["submitted"]) == ("L2", "L1")


@strict
def test_choices_are_compared_case_insensitively(tmp_path):
    nb = nbformat.read(REFERENCE / "HW2.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.get("id") == "q2c-answer")
    cell.source = cell.source.replace('"L2"', '" l2 "').replace('"none"', '"None"')
    (tmp_path / "student").mkdir()
    nbformat.write(nb, tmp_path / "student" / "HW2.ipynb")
    (r,) = cli.grade(assignment=str(GRADERS), path=tmp_path / "student", out=tmp_path / "out")
    assert r.score == 16


@strict
def test_reference_solution_passes_the_audit(capsys):
    assert cli.main(["audit-key", str(GRADERS)]) == 0
    out = capsys.readouterr().out
    assert "100 %" in out and "1c.standard.test" in out and "1c.inverted.train" in out
