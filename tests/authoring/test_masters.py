"""`davar assign`: masters (jupytext percent, solution markers) -> template, reference, samples."""

import ast
import sys
from pathlib import Path

import nbformat
import pytest

from davar import assignment, cli
from davar.authoring import masters, scaffold
from davar.errors import AuthoringError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(p.parent.name for p in (ROOT / "graders").glob("*/assignment.toml"))
HEADER = "# ---\n# jupyter:\n#   jupytext:\n#     formats: py:percent\n# ---\n\n"


@pytest.mark.parametrize("assignment_id", SHIPPED)
def test_committed_notebooks_are_what_davar_assign_writes(assignment_id):
    a = assignment.load(ROOT / "graders" / assignment_id)
    written = masters.assign(a, check=True)
    assert {w.path.name for w in written} >= {f"{Path(n).stem}.template.ipynb" for n in a.notebooks}
    assert [w.path for w in written if w.changed] == [], f"run `davar assign {assignment_id}`"


@pytest.mark.parametrize("assignment_id", SHIPPED)
def test_each_profile_sets_every_parameter_the_notebooks_declare(assignment_id):
    """A parameter a notebook declares and a profile leaves out keeps the notebook's default there (a stand-in's
    epoch count on the real data); one a profile sets and no notebook declares is read by no one."""
    a = assignment.load(ROOT / "graders" / assignment_id)
    declared = set()
    for name in a.notebooks:
        for cell in nbformat.read(a.reference_dir / name, as_version=4).cells:
            if "parameters" in cell.metadata.get("tags", []):
                declared |= {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                             for t in node.targets if isinstance(t, ast.Name)}
    own = declared - {"DATA_DIR", "SEED", "OUTPUT_DIR", "PROFILE"}  # what every run injects
    for profile in a.profiles:
        assert set(a.profile_parameters(profile)) == own, profile


@pytest.fixture
def course(tmp_path):
    """A scaffolded assignment `t-hw` whose master and sample the tests rewrite."""
    scaffold.new("t-hw", root=tmp_path)
    return assignment.load(tmp_path / "graders" / "t-hw")


def drop_samples(a) -> None:
    """The scaffold's samples edit its master's cells; a test that rewrites the master drops them."""
    for mutations in (a.reference_dir.parent.parent / "submissions" / a.id).glob("*/mutations.toml"):
        mutations.unlink()


def write_master(a, body: str) -> None:
    (a.reference_dir / "T_HW.py").write_text(HEADER + body, encoding="utf-8")


def cells(path: Path) -> dict[str, str]:
    return {c.id: c.source for c in nbformat.read(path, as_version=4).cells}


def test_markers_give_template_and_reference(course):
    write_master(course, '''# %% [markdown] id="intro"
# Question 1
# <!-- BEGIN PROMPT -->
# Answer: ...
# <!-- END PROMPT -->
# <!-- BEGIN SOLUTION -->
# Answer: a softmax.
# <!-- END SOLUTION -->

# %% id="q1-softmax" tags=["graded"]
import numpy as np

SCALE = 1.0  # SOLUTION
"unchanged"  # SOLUTION


def softmax(z):
    # BEGIN PROMPT
    # # your code
    #
    # raise NotImplementedError
    # END PROMPT
    # BEGIN SOLUTION
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
    # END SOLUTION
''')
    drop_samples(course)
    masters.assign(course)
    template = cells(course.reference_dir / "T_HW.template.ipynb")
    reference = cells(course.reference_dir / "T_HW.ipynb")
    assert template["intro"] == "Question 1\nAnswer: ..."
    assert reference["intro"] == "Question 1\nAnswer: a softmax."
    assert template["q1-softmax"] == ("import numpy as np\n\nSCALE = ...\n\n\ndef softmax(z):\n"
                                      "    # your code\n\n    raise NotImplementedError")
    assert reference["q1-softmax"] == ('import numpy as np\n\nSCALE = 1.0\n"unchanged"\n\n\ndef softmax(z):\n'
                                       "    e = np.exp(z - z.max(axis=-1, keepdims=True))\n"
                                       "    return e / e.sum(axis=-1, keepdims=True)")
    nb = nbformat.read(course.reference_dir / "T_HW.ipynb", as_version=4)
    assert nb.cells[1].metadata == {"tags": ["graded"]}


def test_assign_twice_changes_nothing(course, tmp_path):
    first = masters.assign(course, public=tmp_path / "public")
    assert all(w.changed for w in first) and (tmp_path / "public" / "T_HW.ipynb").is_file()
    before = {w.path: w.path.read_bytes() for w in first}
    again = masters.assign(course, public=tmp_path / "public")
    assert not any(w.changed for w in again)
    assert {w.path: w.path.read_bytes() for w in again} == before
    assert (tmp_path / "public" / "T_HW.ipynb").read_bytes() == before[course.reference_dir / "T_HW.template.ipynb"]


def test_cells_without_a_name_get_ids_from_their_position(course):
    write_master(course, "# %%\nx = 1\n\n# %% [markdown]\n# text\n")
    drop_samples(course)
    masters.assign(course)
    first = list(cells(course.reference_dir / "T_HW.ipynb"))
    masters.assign(course)
    assert list(cells(course.reference_dir / "T_HW.ipynb")) == first and len(set(first)) == 2


@pytest.mark.parametrize("body, says", [
    ("# %% id=\"a\"\n# BEGIN SOLUTION\nx = 1\n", "T_HW.py:7 (cell 'a'): BEGIN SOLUTION is never closed"),
    ("# %% id=\"a\"\nx = 1\n# END SOLUTION\n", "T_HW.py:7 (cell 'a'), line 2 of the cell: unbalanced # END SOLUTION"),
    ("# %% id=\"a\"\n# BEGIN SOLUTION\n# BEGIN PROMPT\n", "line 2 of the cell: unbalanced # BEGIN PROMPT"),
    ("# %% id=\"a\"\n# BEGIN PROMPT\nx = 1\n# END PROMPT\n", "a prompt line must be commented out"),
    ("# %% id=\"a\"\nx = 1\n\n# %% id=\"a\"\ny = 2\n", "T_HW.py:10: two cells are named 'a'"),
])
def test_bad_masters_are_refused_saying_where(course, body, says):
    write_master(course, body)
    with pytest.raises(AuthoringError) as e:
        masters.assign(course)
    assert says in str(e.value)


def test_include_puts_the_course_code_in_both_notebooks(course):
    (course.directory / "shared_io.py").write_text("def load(path):\n    return path\n\n\ndef other():\n    pass\n")
    write_master(course, '# %% id="load"\nfrom shared_io import load, other  # INCLUDE\nx = load(1)\n')
    drop_samples(course)
    masters.assign(course)
    expected = "def load(path):\n    return path\n\n\ndef other():\n    pass\nx = load(1)"
    assert cells(course.reference_dir / "T_HW.ipynb")["load"] == expected
    assert cells(course.reference_dir / "T_HW.template.ipynb")["load"] == expected
    # found in graders/t-hw/ and forgotten afterwards: the next assignment does not see it
    assert "shared_io" not in sys.modules and str(course.directory) not in sys.path


def test_samples_are_the_reference_with_their_edits(course):
    mutations = course.reference_dir.parent.parent / "submissions" / "t-hw" / "wrong_axis" / "mutations.toml"
    mutations.write_text('''
[[edit]]
cell = "q1-softmax"
old = "e.sum(axis=-1, keepdims=True)"
new = "e.sum()"

[[edit]]
cell = "intro"
template = true

[[edit]]
cell = "check"
insert_after = "parameters"
type = "markdown"
source = "a note"
''', encoding="utf-8")
    masters.assign(course)
    sample = cells(mutations.parent / "T_HW.ipynb")
    reference = cells(course.reference_dir / "T_HW.ipynb")
    assert list(sample) == ["intro", "parameters", "check", "q1-softmax"]
    assert sample["q1-softmax"] == reference["q1-softmax"].replace("e.sum(axis=-1, keepdims=True)", "e.sum()")
    assert sample["check"] == "a note" and sample["intro"] == reference["intro"]


@pytest.mark.parametrize("edit, says", [
    ('cell = "q1-softmax"\nold = "not there"\nnew = ""', "sample t-hw/wrong_axis, T_HW.ipynb cell 'q1-softmax': `old` occurs 0 times"),
    ('cell = "q1-softmax"\nold = "keepdims=True"\nnew = ""', "`old` occurs 2 times in the cell"),
    ('cell = "nope"\nsource = ""', "sample t-hw/wrong_axis, T_HW.ipynb cell 'nope': no such cell"),
    ('cell = "intro"\nold = "x"', "an edit has one of"),
    ('cell = "intro"\nsource = ""\ntemplate = true', "an edit has one of"),
])
def test_an_edit_that_does_not_apply_exactly_once_is_refused(course, edit, says):
    mutations = course.reference_dir.parent.parent / "submissions" / "t-hw" / "wrong_axis" / "mutations.toml"
    mutations.write_text(f"[[edit]]\n{edit}\n", encoding="utf-8")
    with pytest.raises(AuthoringError) as e:
        masters.assign(course)
    assert says in str(e.value)


def test_davar_assign_check_exits_1_when_a_notebook_is_stale(course, capsys):
    assert cli.main(["assign", str(course.directory)]) == 0
    (course.reference_dir / "T_HW.template.ipynb").write_text("{}", encoding="utf-8")
    assert cli.main(["assign", str(course.directory), "--check"]) == 1
    assert "T_HW.template.ipynb" in capsys.readouterr().out
    assert (course.reference_dir / "T_HW.template.ipynb").read_text("utf-8") == "{}"
