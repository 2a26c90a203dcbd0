"""davar.intake.repair: each kind of damaged notebook is repaired and graded, or refused with its reason."""

import json
import os
import shutil
import sys
import threading
import tracemalloc
from pathlib import Path

import nbformat
import pytest

from davar import catalogue
from davar.assignment import load as load_assignment
from davar.errors import InvalidSubmission
from davar.grading.grade import grade_submission
from davar.intake import inbox, repair
from davar.run import sandbox

HERE = Path(__file__).parents[1] / "notebooks"
DAMAGED = HERE / "damaged"

sys.path.insert(0, str(HERE))
import make_damaged

# fixture -> the repair notes it gets (it is then graded like an undamaged notebook)
REPAIRED = {
    "null_execution_counts.ipynb": [],
    "out_of_order_execution_counts.ipynb": ["repair_out_of_order"],
    "duplicate_cell_ids.ipynb": ["repair_cell_ids"],
    "missing_cell_id.ipynb": ["repair_cell_ids"],
    "invalid_cell_id.ipynb": ["repair_cell_ids"],
    "nbformat_v3.ipynb": ["repair_nbformat3", "repair_out_of_order"],
    "nbformat_v4_0.ipynb": [],
    "nbformat_v4_4.ipynb": [],
    "utf8_bom.ipynb": ["repair_bom"],
    "utf16.ipynb": ["repair_utf16"],
    "trailing_garbage.ipynb": ["repair_trailing_data"],
    "stale_outputs.ipynb": [],
    "truncated_in_outputs.ipynb": ["repair_truncated_outputs"],
    "unknown_cell_type.ipynb": ["repair_unknown_cell"],
    "missing_graded_name.ipynb": [],
    "unknown_keys_and_bad_metadata.ipynb": [],
}
# fixture -> why it is refused
REFUSED = {
    "empty_file.ipynb": "notebook_empty",
    "html_page.ipynb": "notebook_not_json",
    "invalid_json.ipynb": "notebook_bad_json",
    "not_utf8.ipynb": "notebook_not_utf8",
    "truncated_in_source.ipynb": "notebook_truncated",
    "not_a_notebook.ipynb": "notebook_not_a_notebook",
    "nbformat_v2.ipynb": "notebook_version",
    "no_code_cells.ipynb": "notebook_no_code",
}


def test_fixtures_are_what_the_script_writes():
    written = {p.name: p.read_bytes() for p in DAMAGED.glob("*.ipynb")}
    assert written == make_damaged.fixtures()
    assert set(written) == set(REPAIRED) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(REPAIRED))
def test_repaired_notebooks_are_valid_and_keep_the_code(name):
    nb, notes = repair.load(DAMAGED / name)
    assert [n.key for n in notes] == REPAIRED[name]
    assert all(n.values["notebook"] == name and catalogue.render(n, "fa") and catalogue.render(n, "en") for n in notes)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) == (4, 5)
    code = [c for c in nb.cells if c.cell_type == "code"]
    expected = ["answr = 42"] if name == "missing_graded_name.ipynb" else ["".join(make_damaged.CODE)]
    assert code[0].source == expected[0] and code[1].source == "".join(make_damaged.DOUBLE)
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids)
    assert repair.check(DAMAGED / name) == notes


def test_repaired_ids_keep_the_good_ones():
    nb, _ = repair.load(DAMAGED / "duplicate_cell_ids.ipynb")
    assert [c.id for c in nb.cells] == ["intro", "answer", "cell-2"]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_notebooks_say_why(name):
    with pytest.raises(InvalidSubmission) as e:
        repair.check(DAMAGED / name)
    assert e.value.key == REFUSED[name]
    assert e.value.values["notebook"] == name
    message = catalogue.message(e.value.key, e.value.values)
    assert name in catalogue.render(message, "en") and catalogue.render(message, "fa")


def test_invalid_json_names_the_line_of_the_file():
    text = (DAMAGED / "invalid_json.ipynb").read_text()
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(InvalidSubmission) as e:
        repair.load(DAMAGED / "invalid_json.ipynb")
    assert e.value.values["line"] == expected.value.lineno
    assert e.value.values["error"] == expected.value.msg


def test_invalid_json_after_a_dropped_output_still_names_the_right_line(tmp_path):
    good = json.loads((DAMAGED / "stale_outputs.ipynb").read_text())
    text = make_damaged.dumps(good)
    broken = text.replace('"id": "double"', '"id": "double" "x": 1')
    (tmp_path / "b.ipynb").write_text(broken)
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(broken)
    with pytest.raises(InvalidSubmission) as e:
        repair.load(tmp_path / "b.ipynb")
    assert e.value.values["line"] == expected.value.lineno


def test_hundreds_of_megabytes_of_outputs_are_dropped_without_copies(tmp_path):
    path = make_damaged.huge_outputs(tmp_path / "huge.ipynb", 300)
    assert path.stat().st_size > 250 * 2**20
    tracemalloc.start()
    try:
        nb, notes = repair.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"peak Python memory {peak / 2**20:.0f} MB for a {path.stat().st_size / 2**20:.0f} MB file"
    assert notes == [] and nb.cells[1].source == "".join(make_damaged.CODE) and nb.cells[1].outputs == []


def test_files_over_the_cap_are_refused_unread(tmp_path):
    path = make_damaged.oversize(tmp_path / "big.ipynb", repair.MAX_BYTES + 1)
    with pytest.raises(InvalidSubmission) as e:
        repair.load(path)
    assert e.value.key == "notebook_too_large" and e.value.values["limit_mb"] == 1024
    assert "Clear the outputs" in catalogue.render(catalogue.message(e.value.key, e.value.values), "en")


@pytest.mark.parametrize("plant, kind", [(os.mkfifo, "fifo"), (lambda p: os.symlink("/dev/zero", p), "symlink"),
                                         (os.mkdir, "directory")])
def test_a_pipe_a_link_or_a_folder_named_like_a_notebook_is_refused_at_once(tmp_path, plant, kind):
    """A named pipe would block the reader forever, a device never end: refused before a byte is read."""
    path = tmp_path / "hw.ipynb"
    plant(path)
    out = {}

    def load():
        try:
            repair.load(path)
        except InvalidSubmission as e:
            out["error"] = e

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(20)  # a regression blocks forever: fail, do not hang
    assert not reader.is_alive(), "reading the notebook blocked"
    e = out["error"]
    assert (e.key, e.values) == ("notebook_not_a_file", {"notebook": "hw.ipynb", "kind": kind})
    assert "not a regular file" in str(e) and "فایل معمولی" in e.text("fa")


# ---------------------------------------------------------------- end to end, in the strict sandbox

GRADER = '''
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=2)
def test_answer(sub):
    expect(sub.value("answer") == 42, "assertion", detail="answer")

@pytest.mark.davar(question="1", points=1)
def test_double(sub):
    assert sub.has("double")
'''


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, one_question):
    root = tmp_path_factory.mktemp("repair")
    graders = one_question(root / "graders" / "tiny-repair", GRADER, points=3)
    return load_assignment(graders), root


def _grade(tiny, fixture):
    a, root = tiny
    student = root / "subs" / Path(fixture).stem
    student.mkdir(parents=True)
    shutil.copy(DAMAGED / fixture, student / "hw.ipynb")
    return grade_submission(inbox.collect(student, a)[0], a, level="strict", data_root=root / "data")


strict = pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")


@strict
@pytest.mark.parametrize("fixture", ["nbformat_v3.ipynb", "utf16.ipynb", "truncated_in_outputs.ipynb"])
def test_repaired_notebooks_grade_like_undamaged_ones_and_say_what_was_repaired(tiny, fixture):
    r = _grade(tiny, fixture)
    assert r.status == "graded" and r.score == 3, [catalogue.render(m, "en") for m in r.messages]
    assert [m.key for m in r.messages][:len(REPAIRED[fixture])] == REPAIRED[fixture]
    assert r.sandbox.level == "strict"


@strict
def test_a_missing_graded_name_runs_and_the_grader_names_it(tiny):
    r = _grade(tiny, "missing_graded_name.ipynb")
    assert r.status == "graded" and r.score == 1
    test = next(t for q in r.questions for t in q.tests if t.id == "answer")
    assert test.outcome == "failed"
    [message] = test.messages
    # the notebook has `answr = 42`: the message names the near miss
    assert message.key == "missing_name_close" and message.values["name"] == "answer"
    assert message.values["close"] == "answr"
    assert "`answer`" in catalogue.render(message, "en") and "answr" in catalogue.render(message, "fa")


@strict
def test_an_unreadable_notebook_is_an_invalid_submission_not_a_crash(tiny):
    r = _grade(tiny, "invalid_json.ipynb")
    assert r.status == "invalid_submission" and r.score == 0 and r.executions == ()
    [message] = r.messages
    assert message.key == "notebook_bad_json" and "hw.ipynb" in catalogue.render(message, "en")
