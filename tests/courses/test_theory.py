"""iust-dl-theory: the reference implementations against hand-known values, the official key against the
reference (its mistakes, and a total that is not the sum of its own parts), the answer readers the graders
share, the notebooks, and the sample corpus's messages (its outcomes are asserted by
tests/grading/test_samples.py)."""

import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import numpy as np
import pytest

from davar import assignment, catalogue, cli
from davar.grading import audit
from davar.run import sandbox

ROOT = Path(__file__).resolve().parents[2]
ID = "iust-dl-theory"
GRADERS = ROOT / "graders" / ID
REFERENCE = ROOT / "reference" / ID
strict = pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")
pytestmark = pytest.mark.corpus(ID)


@pytest.fixture(scope="module")
def theory():
    return assignment.load(GRADERS)


@pytest.fixture(scope="module")
def ref(theory):
    return theory.reference_module()


@pytest.fixture(scope="module")
def read(course_module):
    return course_module(ID, "theory_answers")


def text(message, lang):
    return catalogue.render(message, lang, assignment.load(GRADERS).messages)


# ---------------------------------------------------------------- reference.py


def test_receptive_field_grows_by_two_per_layer(ref):
    assert ref.receptive_field_sides() == {"layer3": 3, "layer2": 5, "layer1": 7, "layer0": 9}
    assert ref.receptive_field_pixels() == 81


def test_same_padding_convolution(ref):
    assert ref.q1c_facts() == {"output_shape": [35, 35, 32], "params": 4640, "expression": "3 × 3 × 16 × 32 + 32"}


def test_the_227_network_and_its_swapped_variant(ref):
    """ASSIGNMENTS.md's corrected numbers (the key's are wrong for the swapped variant)."""
    table, total = ref.q1d_table("original")
    assert {k: (tuple(v["output_shape"]), v["params"]) for k, v in table.items()} == {
        "conv1": ((227, 227, 256), 19456), "conv2": ((227, 227, 128), 819328), "pool": ((112, 112, 128), 0),
        "flatten": ((1605632,), 0), "fc1": ((512,), 822084096), "fc2": ((100,), 51300)}
    assert total == 822974180
    table, total = ref.q1d_table("swapped")
    assert list(table) == ["conv2", "conv1", "pool", "flatten", "fc1", "fc2"]
    assert {k: (tuple(v["output_shape"]), v["params"]) for k, v in table.items()} == {
        "conv2": ((227, 227, 128), 9728), "conv1": ((227, 227, 256), 819456), "pool": ((45, 45, 256), 0),
        "flatten": ((518400,), 0), "fc1": ((512,), 265421312), "fc2": ((100,), 51300)}
    assert total == 266301796 == 9728 + 819456 + 265421312 + 51300


def _by_hand(x, k, kind, flipped):
    """The textbook sums, one output value at a time."""
    k = k[::-1, ::-1] if flipped else k
    kh, kw = k.shape
    if kind == "full":
        x = np.pad(x, ((kh - 1, kh - 1), (kw - 1, kw - 1)))
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (x[i:i + kh, j:j + kw] * k).sum()
    return out


@pytest.mark.parametrize("kind", ["valid", "full"])
@pytest.mark.parametrize("flipped", [True, False])
@pytest.mark.parametrize("size, kernel", [((3, 3), (2, 2)), ((4, 6), (3, 2)), ((5, 3), (1, 3))])
def test_convolution_and_its_matrix_are_the_textbook_sums(ref, kind, flipped, size, kernel):
    rng = np.random.default_rng(0)
    x, k = rng.normal(size=size), rng.normal(size=kernel)
    want = _by_hand(x, k, kind, flipped)
    np.testing.assert_allclose(ref.convolve(x, k, kind, flipped=flipped)[0], want, atol=1e-12)
    matrix = ref.conv_matrix(size, k, kind, flipped=flipped)
    assert matrix.shape == (want.size, x.size)
    np.testing.assert_allclose(matrix @ x.ravel(), want.ravel(), atol=1e-12)


def test_symbolic_matrices(ref, theory):
    valid, full = ref.symbolic_matrix("valid"), ref.symbolic_matrix("full")
    assert valid == theory.key["4a.valid_matrix"]                       # the key's 4×9 is right
    assert (len(full), len(full[0])) == (16, 9)
    assert [row[:9] for row in theory.key["4a.full_matrix"][:15]] == full[:15]  # its 17×10 goes wrong at row 16
    assert ref.symbolic_matrix("valid", flipped=False)[0] == ["W00", "W01", 0, "W10", "W11", 0, 0, 0, 0]


def test_reference_module_imports_without_torch():
    code = ("import importlib.util, sys; "
            f"spec = importlib.util.spec_from_file_location('r', {str(REFERENCE / 'reference.py')!r}); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# ---------------------------------------------------------------- the official key


def test_key_values_cover_every_official_key(theory, ref):
    assert set(theory.key) <= set(ref.key_values())


def test_official_key_disagrees_only_where_the_seed_is_wrong(theory):
    wrong = {c.key: c.official for c in audit.check_key(theory) if not c.agrees}
    assert set(wrong) == {"1c.params_expression", "1d.swapped.flatten.output_shape", "1d.swapped.fc1.params",
                          "1d.swapped.total_params", "4a.full_matrix.shape", "4a.full_matrix"}
    assert wrong["1c.params_expression"] == "35 × 3 × 3 × 16 × 32 + 32"
    assert wrong["1d.swapped.flatten.output_shape"] == [1163520] and wrong["4a.full_matrix.shape"] == [17, 10]


def test_the_keys_swapped_total_is_not_the_sum_of_its_parts(theory):
    sums = {s.key: s for s in audit.check_sums(theory)}
    assert set(sums) == {"1d.original.total_params", "1d.swapped.total_params"}
    assert sums["1d.original.total_params"].adds_up
    swapped = sums["1d.swapped.total_params"]
    assert not swapped.adds_up and (swapped.official, swapped.parts_sum) == (597766756, 596603236)
    assert swapped.official - swapped.parts_sum == 1163520          # the flatten added once more
    assert [s.key for s in audit.Audit(result=None, checks=(), sums=tuple(sums.values())).inconsistent_sums] == \
        ["1d.swapped.total_params"]


def test_a_total_is_checked_only_where_the_key_writes_it_and_every_part(monkeypatch, theory):
    import dataclasses
    import types

    from davar.assignment import Assignment

    fake = types.SimpleNamespace(key_sums=lambda: {"t1": ("a", "b"), "t2": ("a", "c"), "t3": ("a", "d"), "t4": ("a",)})
    monkeypatch.setattr(Assignment, "reference_module", lambda self: fake)
    spec = dataclasses.replace(theory, key={"t1": 5, "t2": 9, "t3": 1, "a": 2, "b": 3, "d": "many"})
    # t2: the key has no c; t3: its d is text; t4: the key does not write the total
    assert [(s.key, s.parts_sum, s.adds_up) for s in audit.check_sums(spec)] == [("t1", 5, True)]
    assert audit.check_sums(dataclasses.replace(theory, key={})) == ()
    monkeypatch.setattr(Assignment, "reference_module", lambda self: types.SimpleNamespace())
    assert audit.check_sums(spec) == ()                                   # a reference without key_sums()


# ---------------------------------------------------------------- how answers are read


@pytest.mark.parametrize("value, want", [
    (4640, 4640), (4640.0, 4640), (np.int64(4640), 4640), ("4640", None), (4640.5, None), (True, None), (None, None),
    (float("nan"), None)])
def test_count(read, value, want):
    assert read.count(value) == want


@pytest.mark.parametrize("value, order", [
    ([35, 35, 32], "hwc"), ((None, 35, 35, 32), "hwc"), ([1, 35, 35, 32], "hwc"), (np.array([32, 35, 35]), "chw"),
    ([None, 32, 35, 35], "chw"), ([35, 32, 35], None), ([35, 35], None), ([2, 35, 35, 32], None), ("35x35x32", None)])
def test_shape_order(read, value, order):
    assert read.shape_order(value, [35, 35, 32]) == order


def test_one_axis_shapes_and_sides(read):
    assert read.shape_order(518400, [518400]) == "hwc" and read.shape_order([None, 518400], [518400]) == "hwc"
    assert read.side(9) == 9 and read.side([9, 9]) == 9 and read.side((7, 9)) is None and read.side("9×9") is None


@pytest.mark.parametrize("cell, want", [
    ("W00", "w00"), ("w_11", "w11"), ("W_{10}", "w10"), ("W[0][1]", "w01"), (" w(1,1) ", "w11"), (0, "0"),
    (0.0, "0"), ("0", "0"), ("", "0"), (None, "0"), (2, "2"), ("X00", "x00"), ([1], None)])
def test_symbol(read, cell, want):
    assert read.symbol(cell) == want


def test_cells_count_only_entries(read):
    want = [["w11", "w10", "0"], ["0", "w11", "w10"]]
    assert read.cells([["0"] * 3, ["0"] * 3], want) == (0, 4, (0, 0))          # zeros earn nothing
    assert read.cells([["w11", "w10", "w00"], ["0", "w11", "w10"]], want) == (4, 5, (0, 2))  # a stray entry costs
    assert read.cells(want, want) == (4, 4, None)
    assert read.symbolic([[1, 2], [3]]) is None and read.symbolic("W") is None and read.dims([[0] * 10] * 17) == "17×10"


# ---------------------------------------------------------------- the notebooks


@pytest.mark.parametrize("name", ["DL-Theory.template.ipynb", "DL-Theory.ipynb"])
def test_notebooks_have_parameters_and_no_outputs(name):
    nb = nbformat.read(REFERENCE / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].metadata.get("tags") == ["parameters"]
    assert not any(c.outputs for c in code)
    assert '<div dir="rtl">' in nb.cells[0].source
    assert not any("torch" in c.source or "keras" in c.source for c in code)   # numpy is enough


def test_reference_sample_is_the_reference_notebook():
    assert (ROOT / "submissions" / ID / "reference_solution" / "DL-Theory.ipynb").read_bytes() == \
        (REFERENCE / "DL-Theory.ipynb").read_bytes()


def test_points_add_up(theory):
    assert sum(q.points for q in theory.questions) == 100 and not any(q.bonus for q in theory.questions)
    assert sum(q.points for q in theory.questions if not q.manual) == 56
    expected = tomllib.loads((ROOT / "submissions" / ID / "reference_solution" / "expected.toml").read_text("utf-8"))
    assert expected["score"] == 56


# ---------------------------------------------------------------- the corpus, graded


def _messages(result, test_id):
    return next(t for q in result.questions for t in q.tests if t.id == test_id).messages


@strict
def test_the_keys_own_mistakes_lose_their_points_with_both_values(corpus):
    _, results = corpus(ID)
    r = results["key_as_written"]
    messages = _messages(r, "q1d_table[swapped]")
    cells = {m.values["name"]: (m.values["expected"], m.values["submitted"])
             for m in messages if m.key == "answer_value"}
    assert cells == {'ANSWERS["q1d"]["swapped"]["layers"]["flatten"]["output_shape"]': ("[518400]", "[1163520]"),
                     'ANSWERS["q1d"]["swapped"]["layers"]["fc1"]["params"]': ("265421312", "595722752")}, messages
    shape = _messages(r, "q4a_matrix[full]")[-1]
    assert (shape.key, shape.values["expected"], shape.values["submitted"]) == ("matrix_shape", "16×9", "17×10")
    assert "17×10" in text(shape, "en") and "\u206816×9\u2069" in text(shape, "fa")


@strict
def test_planted_mistakes_are_named(corpus):
    _, results = corpus(ID)
    r = results["planted_wrong"]
    pixels = _messages(r, "q1a_pixels")[-1]
    assert (pixels.values["expected"], pixels.values["submitted"]) == ("81", "49")
    params = _messages(r, "q1c_params")[-1]
    assert params.values["submitted"] == "161312" and "3 × 3 × 16 × 32 + 32" in params.values["expected"]
    probe = _messages(r, "q4a_function[conv_matrix]")[-1]
    # wrong values where the input is wider than tall, an index past the end where it is taller
    assert probe.key == "student_raised" or (probe.key, probe.variant) == ("function_probe", "fail")


@strict
def test_other_conventions_are_read_and_said(corpus):
    _, results = corpus(ID)
    r = results["other_conventions"]
    for test_id in ("q4a_function[conv_matrix]", "q4a_function[full_conv_matrix]"):
        note = next(m for m in _messages(r, test_id) if m.key == "function_convention")
        assert note.values["convention"] == "not_flipped" and "cross-correlation" in text(note, "en")
    cells = _messages(r, "q4a_matrix[valid]")[-1]
    assert (cells.key, cells.variant, cells.values["convention"]) == ("matrix_cells", "pass", "not_flipped")
    assert any(m.key == "shape_channels_first" for m in _messages(r, "q1c_output_shape"))
    assert not any(m.key == "function_convention" for m in _messages(results["reference_solution"],
                                                                      "q4a_function[conv_matrix]"))


@strict
def test_audit_lists_the_keys_mistakes_and_passes_the_reference(capsys):
    assert cli.main(["audit-key", str(GRADERS)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "100 %" in out
    for key in ("1c.params_expression", "1d.swapped.flatten.output_shape", "1d.swapped.total_params",
                "4a.full_matrix.shape"):
        assert f"`{key}`" in out
    assert "add up to 596603236" in out
