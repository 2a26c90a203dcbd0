"""A TA's override of one automatic test for one student (davar.book.decisions, davar.book.overrides):
checked, kept with its history in the gradebook, applied in every view, kept by a regrade, and
`davar scores override` end to end on a tiny gradebook."""

import dataclasses

import pandas as pd
import pytest

from davar import cli
from davar.assignment import load
from davar.book import decisions, gradebook, overrides
from davar.book.view import view
from davar.errors import ScoresError
from davar.results import QuestionResult, SandboxRecord, SubmissionResult, TestResult

EXTRA = '''[[questions]]
id = "3"
points = 4
manual = true
title = { fa = "سه", en = "three" }
[[questions]]
id = "b"
points = 2
bonus = true
title = { fa = "امتیازی", en = "bonus" }
'''


def _test(id, outcome, points, max_points, **kw):
    return TestResult(id=id, title={"fa": f"آزمون {id}", "en": f"test {id}"}, outcome=outcome, points=points,
                      max_points=max_points, **kw)


def _result(student="40012345", accuracy=("failed", 0.0), tests=None, graded_at="2025-04-04T14:30:00+03:30"):
    one = QuestionResult(id="1", title={"fa": "یک", "en": "one"}, max_points=5, tests=tests or (
        _test("shape", "passed", 2.0, 2.0), _test("accuracy", *accuracy, 3.0)))
    manual = QuestionResult(id="3", title={"fa": "سه", "en": "three"}, max_points=4, manual=True,
                            tests=(_test("manual", "manual", 0.0, 4.0),))
    bonus = QuestionResult(id="b", title={"fa": "امتیازی", "en": "bonus"}, max_points=2, bonus=True,
                           tests=(_test("bonus_accuracy", "failed", 0.0, 2.0),))
    return SubmissionResult(assignment="tiny", student=student, digest="d", status="graded",
                            questions=(one, manual, bonus), executions=(),
                            sandbox=SandboxRecord(level="strict", network=False), graded_at=graded_at)


def _assignment(tmp_path, one_question):
    graders = one_question(tmp_path / "graders" / "tiny", "def test_accuracy():\n    pass\n", points=5)
    with (graders / "assignment.toml").open("a") as f:
        f.write(EXTRA)
    return graders


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "reports" / "tiny" / "gradebook.sqlite"
    gradebook.add(path, _result())
    gradebook.add(path, _result("40012399", accuracy=("passed", 3.0)))
    return path


def _set(book, **kw):
    args = {"book": book, "assignment": "tiny", "student": "40012345", "test": "accuracy", "points": 2.5,
            "reason": "predict is right; the grader fed [0, 1] data to a model with its own Rescaling", "by": "Sara"}
    return decisions.override_test(**(args | kw))


def test_an_override_replaces_the_tests_points_in_the_view_and_is_kept_with_its_history(book):
    row = _set(book)
    assert (row.question, row.test, row.points, row.outcome, row.auto_points, row.max_points, row.by) == (
        "1", "accuracy", 2.5, "failed", 0.0, 3.0, "Sara")
    assert row.made_at.endswith("+00:00")
    record = gradebook.latest(book, "tiny")[0]
    shown = overrides.apply(record, gradebook.overrides(book, "tiny"))
    test = shown.questions[0].tests[1]
    assert (test.outcome, test.points, shown.score) == ("ta_graded", 2.5, 4.5)
    assert [m.key for m in test.messages] == ["ta_override"]
    assert test.messages[0].values | {"at": ""} == {"points": 2.5, "max": 3.0, "outcome": "outcome_failed",
                                                    "auto_points": 0.0, "reason": row.reason, "by": "Sara", "at": ""}
    assert gradebook.latest(book, "tiny")[0] == record  # the record as graded is untouched
    other = gradebook.latest(book, "tiny")[1]
    assert overrides.apply(other, gradebook.overrides(book, "tiny")) == other  # only that student's

    _set(book, points="۳", reason="full marks after all", by="Reza")  # as a TA types it
    assert overrides.apply(record, gradebook.overrides(book, "tiny")).score == 5
    history = overrides.history(gradebook.overrides(book, "tiny"))
    assert [(o.points, o.by) for o in history] == [(3.0, "Reza"), (2.5, "Sara")]  # the latest first

    cleared = decisions.clear_override(book=book, assignment="tiny", student="40012345", test="test_accuracy",
                                       by="Reza", reason="the regrade fixed it")
    assert cleared.cleared and cleared.reason == "the regrade fixed it"
    assert overrides.apply(record, gradebook.overrides(book, "tiny")) == record
    assert [o.points for o in overrides.history(gradebook.overrides(book, "tiny"))] == [None, 3.0, 2.5]
    with pytest.raises(ScoresError) as e:
        decisions.clear_override(book=book, assignment="tiny", student="40012345", test="accuracy", by="Reza")
    assert e.value.key == "override_nothing_to_clear" and e.value.values["overridden"] == "-"


@pytest.mark.parametrize("change, key", [
    ({"student": "40012354"}, "override_unknown_student"),  # two digits swapped: the closest id is suggested
    ({"student": "99"}, "override_unknown_student_no_match"),
    ({"test": "acuracy"}, "override_unknown_test"),
    ({"test": "manual"}, "override_manual_question"),
    ({"points": 3.5}, "override_out_of_range"),
    ({"points": -1}, "override_out_of_range"),
    ({"points": float("nan")}, "override_out_of_range"),
    ({"test": "bonus_accuracy", "points": 2.5}, "override_out_of_range"),  # a bonus test gives no more than it is worth
    ({"points": "2,5,1"}, "override_not_number"),
    ({"reason": "  "}, "override_no_reason"),
    ({"by": ""}, "override_no_by"),
])
def test_a_wrong_override_is_refused_in_both_languages_and_nothing_is_stored(book, change, key):
    with pytest.raises(ScoresError) as e:
        _set(book, **change)
    assert e.value.key == key and e.value.text("fa") != e.value.text("en")
    assert "Nothing was stored" in str(e.value) and "چیزی ذخیره نشد" in e.value.text("fa")
    assert gradebook.overrides(book, "tiny") == []
    if key == "override_unknown_student":
        assert e.value.values["suggestions"].startswith("40012345")
    if key == "override_unknown_test":
        assert "accuracy" in e.value.values["suggestions"]


def test_a_bonus_test_and_a_missing_gradebook(book, tmp_path):
    assert _set(book, test="bonus_accuracy", points=2).points == 2
    shown = overrides.apply(gradebook.latest(book, "tiny")[0], gradebook.overrides(book, "tiny"))
    assert (shown.score, shown.max_score) == (4, 9)  # bonus points count in the score, never in the max
    with pytest.raises(ScoresError) as e:
        _set(tmp_path / "nowhere" / "gradebook.sqlite")
    assert e.value.key == "scores_no_gradebook"
    assert not (tmp_path / "nowhere").exists()


def test_a_regrade_keeps_the_override_and_says_when_the_automatic_outcome_changed(book):
    _set(book)
    same = _result(graded_at="2025-04-05T10:00:00+03:30")  # regraded, the same outcome
    gradebook.add(book, same)
    test = overrides.apply(gradebook.latest(book, "tiny")[0], gradebook.overrides(book, "tiny")).questions[0].tests[1]
    assert test.points == 2.5 and [m.key for m in test.messages] == ["ta_override"]

    gradebook.add(book, _result(accuracy=("partial", 1.5)))  # the graders changed: the TA may revisit
    shown = overrides.apply(gradebook.latest(book, "tiny")[0], gradebook.overrides(book, "tiny"))
    test = shown.questions[0].tests[1]
    assert test.points == 2.5 and [m.key for m in test.messages] == ["ta_override", "ta_override_changed"]
    assert test.messages[0].values["outcome"] == "outcome_partial" and test.messages[0].values["auto_points"] == 1.5
    assert test.messages[1].values == {"outcome": "outcome_failed", "points": 0.0, "max": 3.0}

    gradebook.add(book, _result(tests=(_test("shape", "passed", 2.0, 2.0), _test("accuracy_v2", "failed", 0, 3.0))))
    shown = overrides.apply(gradebook.latest(book, "tiny")[0], gradebook.overrides(book, "tiny"))
    assert shown.score == 2 and [m.key for m in shown.messages] == ["ta_override_unmatched"]  # named, not counted


def test_the_view_applies_the_override_after_the_manual_scores(book, tmp_path, one_question):
    from davar.book.scores import ManualScore

    a = load(_assignment(tmp_path, one_question))
    _set(book)
    shown = view(gradebook.latest(book, "tiny")[0], a, [ManualScore(student="40012345", question="3", points=4)],
                 gradebook.overrides(book, "tiny"))
    assert shown.score == 2 + 2.5 + 4
    assert dataclasses.replace(shown, questions=()) == dataclasses.replace(gradebook.latest(book, "tiny")[0],
                                                                          questions=())


def test_the_cli_sets_lists_reports_and_clears_an_override(tmp_path, one_question, capsys):
    folder = _assignment(tmp_path, one_question)
    reports = tmp_path / "reports"
    gradebook.add(reports / "tiny" / "gradebook.sqlite", _result())
    base = ["scores", "override", str(folder), "40012345"]
    assert cli.main([*base, "test_accuracy", "۲٫۵", "--reason", "ran past a plotting error by hand", "--by", "Sara",
                     "--out", str(reports)]) == 0
    assert "2.5 of 3 points instead of the automatic 0 (failed)" in capsys.readouterr().err

    assert cli.main(["report", str(folder), "--out", str(reports), "--format", "html,csv"]) == 0
    grades = pd.read_csv(reports / "tiny" / "grades.csv", dtype={"student": str}).set_index("student")
    assert grades.loc["40012345", "score"] == 4.5 and grades.loc["40012345", "1"] == 4.5
    en = (reports / "tiny" / "40012345" / "report.en.html").read_text("utf-8")
    fa = (reports / "tiny" / "40012345" / "report.fa.html").read_text("utf-8")
    assert "TA decision" in en and "ran past a plotting error by hand" in en and "Sara" in en
    assert "تصمیم دستیار آموزشی" in fa and "ran past a plotting error by hand" in fa
    dashboard = (reports / "tiny" / "index.en.html").read_text("utf-8")
    assert '<th>Mean final score</th><td><bdi class="num">4.5</bdi>' in dashboard  # the class numbers too
    # the TA sees whom they overrode, and that the automatic outcome is still the one they saw
    assert '<bdi class="num">1</bdi> TA override(s)' in dashboard and 'class="tag ta-revisit"' not in dashboard

    assert cli.main(["scores", "overrides", str(folder), "--out", str(reports), "--lang", "fa"]) == 0
    assert "دلیل: \u2068ran past a plotting error by hand\u2069" in capsys.readouterr().out
    assert cli.main([*base, "accuracy", "--clear", "--by", "Sara", "--out", str(reports)]) == 0
    assert "cleared: its automatic 0 points (failed) count again" in capsys.readouterr().err
    assert cli.main(["report", str(folder), "--out", str(reports), "--format", "csv"]) == 0
    grades = pd.read_csv(reports / "tiny" / "grades.csv", dtype={"student": str}).set_index("student")
    assert grades.loc["40012345", "score"] == 2

    assert cli.main([*base, "accuracy", "1", "--clear", "--out", str(reports)]) == 2  # points and --clear
    assert cli.main([*base, "accuracy", "1", "--out", str(reports), "--lang", "fa"]) == 2  # no reason
    err = capsys.readouterr().err
    assert "دلیل لازم دارد" in err and "Traceback" not in err
