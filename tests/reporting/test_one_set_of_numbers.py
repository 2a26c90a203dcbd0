"""The student's report, the dashboard, grades.csv and the Moodle worksheet give one set of numbers:
the same score, and while a hidden test is not yet released, the same label on the part it earned
(the rule: davar/reporting/report.py's docstring)."""

from __future__ import annotations

import csv
import dataclasses
import re
from pathlib import Path

import pandas as pd
import pytest

from davar.assignment import Assignment, Question, Visibility
from davar.reporting import dashboard, exports, report
from davar.results import ExecutionRecord, QuestionResult, SandboxRecord, SubmissionResult, TestResult

ASSIGNMENT = Assignment(id="hw4", directory=Path("."), title={"fa": "تمرین ۴", "en": "HW4"}, course={},
                        notebooks=("HW4.ipynb",), frameworks=(),
                        questions=(Question(id="q1", points=15.0, title={"fa": "پرسش ۱", "en": "Question 1"}),))
RELEASED = dataclasses.replace(ASSIGNMENT, visibility=Visibility(release_hidden=True))


def result() -> SubmissionResult:
    """15 of 15: 12 from a test the student sees, 3 from a hidden one not yet released."""
    q1 = QuestionResult(id="q1", title=ASSIGNMENT.questions[0].title, max_points=15.0, tests=(
        TestResult(id="shown", title={"fa": "آزمون", "en": "shown test"}, outcome="passed", points=12.0,
                   max_points=12.0),
        TestResult(id="secret", title={"fa": "پنهان", "en": "SECRET TITLE"}, outcome="passed", points=3.0,
                   max_points=3.0, hidden=True)))
    return SubmissionResult(assignment="hw4", student="40012345", digest="d", status="graded", questions=(q1,),
                            executions=(ExecutionRecord(notebook="HW4.ipynb", status="ok", wall_s=1.0),),
                            sandbox=SandboxRecord(level="strict", network=False),
                            graded_at="2026-12-01T20:00:00+00:00", display_name="Sara Ahmadi")


def _outputs(assignment: Assignment, tmp_path: Path, lang: str) -> dict:
    r = result()
    release = assignment.visibility.release_hidden
    page = re.sub(r"<style>.*?</style>", "", report.render_report(r, lang, release_hidden=release), flags=re.S)
    board = re.sub(r"<style>.*?</style>", "", dashboard.render_dashboard_page([r], assignment, lang), flags=re.S)
    grades = pd.read_csv(exports.write_grades_csv([r], assignment, tmp_path / "g.csv"), encoding="utf-8-sig")
    exports.write_moodle_worksheet([r], assignment, tmp_path / "m.csv", {r.student: exports.MoodleParticipant("P 1")},
                                   lang=lang, reveal_hidden=release)
    with open(tmp_path / "m.csv", encoding="utf-8-sig", newline="") as f:
        moodle = next(iter(csv.DictReader(f)))
    return {"report": page, "dashboard": board, "grades": grades.loc[0], "moodle": moodle}


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_hidden_test_not_yet_released_is_labelled_everywhere(tmp_path, lang):
    n = report._num
    out = _outputs(ASSIGNMENT, tmp_path, lang)
    fifteen = str(report.label("score_fraction", lang, score=n(15, lang), max=n(15, lang)))
    # the report: 15 of 15, "12 shown on this page + 3 from hidden tests not yet released"
    assert fifteen in out["report"]
    assert str(report.label("score_hidden_note", lang, shown=n(12, lang), hidden=n(3, lang))) in out["report"]
    assert "SECRET" not in out["report"]
    # the dashboard: 15, 3 of it from hidden tests not yet released, and the student's name
    row = re.search(r'<tr class="student-row">(.*?)</tr>', out["dashboard"], re.S).group(1)
    assert f'<bdi class="num">{report.format_number(15, lang)}</bdi>' in row
    assert str(report.label("dashboard.hidden_points", lang, points=n(3, lang))) in row
    assert '<bdi dir="auto">Sara Ahmadi</bdi>' in row
    # grades.csv: 15, hidden_points 3, the name
    grades = out["grades"]
    assert (grades["score"], grades["hidden_points"], grades["final_score"]) == (15, 3, 15)
    assert grades["name"] == "Sara Ahmadi"
    # Moodle: the grade 15, and the comment (a student reads it) says 3 of it are from hidden tests
    assert out["moodle"]["Grade"] == "15.00"
    comment = out["moodle"]["Feedback comments"].split("<br>")
    assert comment[0] == f"{report.format_number(15, lang)} / {report.format_number(15, lang)}"
    assert comment[1] == report.label_text("moodle_hidden_points", lang, points=report.format_number(3, lang))
    assert "SECRET" not in out["moodle"]["Feedback comments"]


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_once_released_nothing_is_withheld_and_nothing_labelled(tmp_path, lang):
    n = report._num
    out = _outputs(RELEASED, tmp_path, lang)
    assert str(report.label("score_fraction", lang, score=n(15, lang), max=n(15, lang))) in out["report"]
    assert ("SECRET TITLE" if lang == "en" else "پنهان") in out["report"]  # released: shown in full
    assert "score-hidden" not in out["report"] and "withheld" not in out["report"]
    assert "hidden-points" not in out["dashboard"] and "hidden-note" not in out["dashboard"]
    assert out["grades"]["score"] == 15 and pd.isna(out["grades"]["hidden_points"])
    assert out["moodle"]["Grade"] == "15.00"
    assert len(out["moodle"]["Feedback comments"].split("<br>")) == 2  # the total and question 1, no label
