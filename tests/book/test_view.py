"""davar.book.view: the one place a record gets the TA's scores and its lateness under the current policy."""

import dataclasses

import pytest

from davar.assignment import load
from davar.book import scores
from davar.book.view import view
from davar.results import Lateness, QuestionResult, SandboxRecord, SubmissionResult, TestResult

TOML = '''id = "m"
title = { fa = "م", en = "m" }
notebooks = ["a.ipynb"]
deadline = "1402-09-03T23:59"
timezone = "Asia/Tehran"
[late]
policy = "per_day"
percent_per_day = PERCENT
[[questions]]
id = "1"
points = 10
title = { fa = "یک", en = "one" }
[[questions]]
id = "3"
points = 10
manual = true
title = { fa = "سه", en = "three" }
'''
ONE_DAY_LATE = "2023-11-25T10:00:00+03:30"  # the deadline is 2023-11-24 23:59 in Tehran


def _assignment(tmp_path, percent):
    folder = tmp_path / f"m{percent}"
    folder.mkdir()
    (folder / "assignment.toml").write_text(TOML.replace("PERCENT", str(percent)))
    return load(folder)


def _record(**fields):
    auto = QuestionResult(id="1", title={"fa": "", "en": ""}, max_points=10, tests=(
        TestResult(id="t", title={"fa": "", "en": ""}, outcome="passed", points=10, max_points=10),))
    manual = QuestionResult(id="3", title={"fa": "", "en": ""}, max_points=10, manual=True, tests=(
        TestResult(id="manual", title={"fa": "", "en": ""}, outcome="manual", points=0, max_points=10),))
    return SubmissionResult(assignment="m", student="s1", digest="d", status="graded", questions=(auto, manual),
                            executions=(), sandbox=SandboxRecord(level="strict", network=False), **fields)


def test_lateness_comes_from_the_submission_time_under_the_current_policy(tmp_path):
    stale = Lateness(submitted_at="2023-11-20T10:00:00+03:30", deadline="2023-11-24T23:59:00+03:30")
    record = _record(submitted_at=ONE_DAY_LATE, lateness=stale)  # a stored lateness is ignored
    for percent, final in ((10, 9.0), (50, 5.0)):  # the TA changed [late]: no regrade needed
        shown = view(record, _assignment(tmp_path, percent))
        assert shown.lateness is not None and shown.lateness.days_late == 1 and shown.final_score == final
    assert record.lateness == stale and record.final_score == 10  # the record itself is left as graded


def test_a_record_with_only_a_stored_lateness_keeps_its_submission_time(tmp_path):
    record = _record(lateness=Lateness(submitted_at=ONE_DAY_LATE, deadline="2023-11-24T23:59:00+03:30"))
    shown = view(record, _assignment(tmp_path, 20))
    assert shown.submitted_at == ONE_DAY_LATE and shown.lateness and shown.lateness.penalty == pytest.approx(0.2)


def test_no_submission_time_means_no_lateness(tmp_path):
    assert view(_record(), _assignment(tmp_path, 10)).lateness is None


def test_manual_scores_are_merged_and_awaiting_otherwise(tmp_path):
    a = _assignment(tmp_path, 10)
    record = _record(submitted_at="2023-11-24T10:00:00+03:30")
    assert view(record, a).questions[1].awaiting_ta
    shown = view(record, a, [scores.ManualScore(student="s1", question="3", points=7)])
    assert shown.score == 17 and not shown.questions[1].awaiting_ta
    assert dataclasses.replace(shown, questions=record.questions, lateness=None) == record
