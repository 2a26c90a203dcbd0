"""What `davar.review.render` makes of a student's cells and outputs, and the rubric schema it shows."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from davar.assignment import load
from davar.errors import AssignmentError
from davar.review import render

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


def test_student_html_in_outputs_is_sanitized():
    html = render.output({"output_type": "display_data", "data": {"text/html": [
        '<img src=x onerror="alert(1)"><script>alert(2)</script><a href="javascript:alert(3)">a</a>',
        '<img src="https://example.invalid/t.png"><iframe src="https://example.invalid"></iframe><b>ok</b>']}})
    assert "<b>ok</b>" in html
    for bad in ("onerror", "<script", "alert", "javascript:", "example.invalid", "<iframe"):
        assert bad not in html


def test_figures_are_inlined_only_when_they_are_base64():
    assert f'src="data:image/png;base64,{PNG}"' in render.output(
        {"output_type": "display_data", "data": {"image/png": PNG, "text/plain": "<Figure>"}})
    assert render.output({"output_type": "display_data", "data": {"image/png": '"><script>x</script>'}}) == ""


def test_text_and_code_are_escaped_and_latex_is_kept_as_written():
    assert "&lt;script&gt;" in render.output({"output_type": "stream", "name": "stdout", "text": "<script>"})
    assert "<script" not in render.code("x = '<script>'")
    assert "L_{CE}" in render.markdown("the loss $L_{CE}$ and $$\\alpha < 1$$")
    assert "<script" not in render.markdown("<script>alert(1)</script> *hi*")


def test_the_answer_is_the_named_cell_and_what_the_student_added_after_it():
    cells = [{"id": "intro", "cell_type": "markdown", "source": "intro"},
             {"id": "q3", "cell_type": "markdown", "source": "answer"},
             {"id": "mine", "cell_type": "markdown", "source": "added"},
             {"id": "q4", "cell_type": "markdown", "source": "next question"}]
    shown = [c.html for c in render.answer(cells, ("q3",), {"intro", "q3", "q4"})]
    assert shown == ["<p>answer</p>\n", "<p>added</p>\n"]
    assert len(render.answer(cells, (), {"intro"})) == 4  # no cells named: the whole notebook
    assert len(render.answer(cells, ("gone",), {"intro"})) == 4  # the student lost the ids: the whole notebook


def test_a_rubric_is_read_from_assignment_toml_and_a_bad_item_is_refused(course, tmp_path):
    a, _, _ = course
    q = a.question("3")
    assert [(i.text["en"], i.points) for i in q.rubric] == [("States the purpose", 4.0), ("The right loss", 6.0)]
    assert q.cells == ("q3",)
    toml = (a.directory / "assignment.toml").read_text("utf-8")
    (a.directory / "assignment.toml").write_text(toml.replace('points = 6\n', 'points = "six"\n'), "utf-8")
    with pytest.raises(AssignmentError):
        load(a.directory)


def test_the_shipped_assignment_has_a_rubric():
    a = load(Path(__file__).parents[2] / "graders" / "iust-dl-1402-hw2")
    assert sum(i.points for i in a.question("3").rubric) == a.question("3").points


@pytest.mark.parametrize("folder", sorted(p.parent for p in (Path(__file__).parents[2] / "graders").glob(
    "*/assignment.toml")), ids=lambda p: p.name)
def test_the_cells_a_shipped_manual_question_names_are_in_its_template(folder):
    a = load(folder)
    for q in a.questions:
        if q.cells:
            template = a.reference_dir / f"{Path(q.notebook).stem}.template.ipynb"
            assert set(q.cells) <= {str(c.get("id")) for c in render.read_cells(template)}, q.id
