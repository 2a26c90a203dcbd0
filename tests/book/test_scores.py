"""davar.book.scores: a TA's manual grades, checked, kept in the gradebook with history, merged into results."""

import dataclasses

import pytest

from davar import catalogue
from davar.assignment import load
from davar.book import gradebook, scores
from davar.errors import DavarError, ScoresError
from davar.results import QuestionResult, SandboxRecord, SubmissionResult, TestResult

TOML = '''id = "m"
title = { fa = "م", en = "m" }
notebooks = ["a.ipynb"]
[[questions]]
id = "1"
points = 5
title = { fa = "یک", en = "one" }
[[questions]]
id = "3"
points = 15
manual = true
title = { fa = "سه", en = "three" }
'''


@pytest.fixture
def assignment(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "assignment.toml").write_text(TOML)
    return load(tmp_path / "m")


def _result(student="s1"):
    auto = QuestionResult(id="1", title={"fa": "", "en": ""}, max_points=5, tests=(
        TestResult(id="t", title={"fa": "", "en": ""}, outcome="passed", points=5, max_points=5),))
    manual = QuestionResult(id="3", title={"fa": "", "en": ""}, max_points=15, manual=True, tests=(
        TestResult(id="manual", title={"fa": "", "en": ""}, outcome="manual", points=0, max_points=15),))
    return SubmissionResult(assignment="m", student=student, digest="d", status="graded", questions=(auto, manual),
                            executions=(), sandbox=SandboxRecord(level="strict", network=False))


def _csv(tmp_path, text, name="ta.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8-sig")
    return path


def test_a_file_with_bad_rows_is_refused_whole_with_every_problem(tmp_path, assignment):
    path = _csv(tmp_path, "student,question,points,comment\ns1,3,12,ok\ns1,1,3,\ns2,3,16,\ns3,3,x,\n,3,1,\n")
    with pytest.raises(ScoresError) as e:
        scores.read_csv(path, assignment)
    assert e.value.key == "scores_refused" and isinstance(e.value, DavarError)
    assert [(d.key, d.values["line"]) for d in e.value.details] == [
        ("scores_line_not_manual", 3), ("scores_line_out_of_range", 4), ("scores_line_not_number", 5),
        ("scores_line_no_student", 6)]
    text = str(e.value)  # English, for logs; the CLI prints e.text(lang)
    assert "line 3: question 1 is not a manual question" in text and "line 4: 16 points is outside 0–15" in text
    assert "۱۶" in e.value.text("fa")
    with pytest.raises(ScoresError) as e:
        scores.read_csv(_csv(tmp_path, "student,points\ns1,3\n"), assignment)
    assert e.value.key == "scores_missing_columns" and e.value.values["columns"] == "question"
    with pytest.raises(ScoresError) as e:
        scores.read_csv(tmp_path / "nowhere.csv", assignment)
    assert e.value.key == "scores_file_missing"
    (tmp_path / "latin1.csv").write_bytes("student,question,points,comment\ns1,3,1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ScoresError) as e:
        scores.read_csv(tmp_path / "latin1.csv", assignment)
    assert e.value.key == "scores_file_unreadable"


@pytest.mark.parametrize("text, points", [
    ("12.5", 12.5), ("۱۲٫۵", 12.5), ("١٢٫٥", 12.5), ("12,5", 12.5), (" ۱۲ ", 12.0), ("\u200f۰٫۵\u200e", 0.5),
    (".5", 0.5), ("12", 12.0),
    ("12،5", None), ("1,250.5", None), ("1٬250", None), ("12.5.1", None), ("", None), ("x", None), ("-1", -1.0),
    ("nan", None), ("1e3", None), ("inf", None),
])
def test_points_in_persian_arabic_indic_and_comma_decimal_and_nothing_else(text, points):
    assert scores.parse_points(text) == points


def test_unknown_students_are_named_once_with_their_lines_and_the_closest_ids(tmp_path, assignment):
    path = _csv(tmp_path, "student,question,points\n40012354,3,1\n40012345,3,2\n40012354,3,3\n")
    with pytest.raises(ScoresError) as e:
        scores.read_csv(path, assignment, known={"40012345", "40012346", "50000000"})
    [d] = e.value.details
    assert d.key == "scores_unknown_student" and d.values["lines"]["en"] == "2, 4"
    assert d.values["suggestions"] == "40012345, 40012346"
    assert [s.student for s in scores.read_csv(path, assignment, known={"40012345", "40012354"})] == \
        ["40012354", "40012345", "40012354"]


def test_merge_scores_manual_questions_with_the_latest_import_and_comments_per_language(tmp_path, assignment):
    db = tmp_path / "g.sqlite"
    gradebook.add_manual(db, "m", scores.read_csv(_csv(tmp_path, "student,question,points,comment,lang\n"
                                                             "s1,3,10,first try,\n"), assignment))
    gradebook.add_manual(db, "m", scores.read_csv(_csv(tmp_path, "student,question,points,comment,lang\n"
                                                             "s1,3,12.5,\"<b>clear</b>, well argued\",en\n"
                                                             "s1,3,12.5,توضیح روشن,fa\n", "again.csv"), assignment))
    kept = gradebook.manual(db, "m")
    assert [s.points for s in kept] == [10, 12.5, 12.5] and kept[-1].source == "again.csv"  # history kept
    merged = scores.merge(_result(), kept)
    [test] = merged.questions[1].tests
    assert test.outcome == "ta_graded" and test.points == 12.5 and merged.score == 17.5
    [comment] = test.messages
    assert "<b>clear</b>, well argued" in catalogue.render(comment, "en")
    assert "توضیح روشن" in catalogue.render(comment, "fa")
    assert scores.merge(_result("s2"), kept) == _result("s2")  # someone else's scores change nothing


def test_merged_results_round_trip(tmp_path, assignment):
    from davar.results import from_json

    merged = scores.merge(_result(), [scores.ManualScore(student="s1", question="3", points=15.0)])
    assert from_json(merged.to_json()) == merged and merged.score == 20
    assert dataclasses.replace(merged, questions=merged.questions[:1]).score == 5
