"""Late-policy arithmetic around a Jalali deadline in Tehran time."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jdatetime
import pytest

from davar import late
from davar.assignment import Assignment
from davar.errors import AssignmentError

TEHRAN = ZoneInfo("Asia/Tehran")
DUE = datetime(2023, 11, 24, 23, 59, tzinfo=TEHRAN)  # 1402-09-03T23:59 in Tehran


def assignment(deadline="1402-09-03T23:59", tz="Asia/Tehran", **table):
    return Assignment(id="hw", directory=Path("."), title={"fa": "", "en": ""}, course={}, notebooks=("a.ipynb",),
                      frameworks=(), questions=(), deadline=deadline, timezone=tz, late=late.policy(table, assignment="hw"))


PER_DAY = assignment(policy="per_day", percent_per_day=10, cap_percent=30)


def at(delta: timedelta, a=PER_DAY):
    return late.lateness(a, (DUE + delta).isoformat())


def test_jalali_gregorian_conversion_of_a_known_date():
    assert jdatetime.date(1402, 9, 3).togregorian() == date(2023, 11, 24)
    assert jdatetime.date.fromgregorian(date=date(2023, 11, 24)) == jdatetime.date(1402, 9, 3)
    due = late.deadline(assignment())
    assert due == DUE and due.utcoffset() == timedelta(hours=3, minutes=30)
    assert due.isoformat() == "2023-11-24T23:59:00+03:30"


def test_on_time_before_and_exactly_at_the_deadline():
    for delta in (-timedelta(days=1), -timedelta(hours=2), -timedelta(seconds=1), timedelta(0)):
        r = at(delta)
        assert (r.late_s, r.days_late, r.penalty, r.policy) == (0.0, 0, 0.0, "per_day"), delta
    assert at(timedelta(0)).deadline == "2023-11-24T23:59:00+03:30"


def test_one_minute_late_is_one_started_day():
    r = at(timedelta(minutes=1))
    assert (r.late_s, r.days_late, r.penalty) == (60.0, 1, 0.1)
    assert r.submitted_at == "2023-11-25T00:00:00+03:30"


def test_started_days_count():
    assert at(timedelta(seconds=1)).days_late == 1
    assert at(timedelta(days=1)).days_late == 1  # exactly 24 hours late: still the first day
    assert at(timedelta(days=1, seconds=1)).days_late == 2
    r = at(timedelta(days=2, minutes=1))
    assert (r.days_late, r.penalty, r.late_s) == (3, 0.3, 2 * 86400 + 60.0)


def test_cap_reached():
    assert at(timedelta(days=3)).penalty == 0.3
    assert at(timedelta(days=4)).penalty == 0.3  # 40 % capped at 30 %
    assert at(timedelta(days=40)).penalty == 0.3
    uncapped = assignment(policy="per_day", percent_per_day=25)
    assert [at(timedelta(days=d), uncapped).penalty for d in (1, 2, 3, 4, 5)] == [0.25, 0.5, 0.75, 1.0, 1.0]


def test_zero_after_boundary():
    a = assignment(policy="zero_after", days=2)
    assert at(timedelta(days=2), a).penalty == 0.0  # second started day: still full points
    assert at(timedelta(days=2, seconds=1), a).penalty == 1.0
    combined = assignment(policy="zero_after", days=2, percent_per_day=20)
    assert [at(timedelta(days=d, minutes=-1), combined).penalty for d in (1, 2, 3)] == [0.2, 0.4, 1.0]
    assert at(timedelta(seconds=1), assignment(policy="zero_after", days=0)).penalty == 1.0


def test_grace_minutes():
    a = assignment(policy="per_day", percent_per_day=10, grace_minutes=15)
    inside = at(timedelta(minutes=10), a)
    assert (inside.late_s, inside.days_late, inside.penalty) == (600.0, 0, 0.0)  # late, but within grace
    assert at(timedelta(minutes=15), a).days_late == 0
    assert at(timedelta(minutes=16), a).days_late == 1
    assert at(timedelta(days=1, minutes=15), a).days_late == 1
    assert at(timedelta(days=1, minutes=16), a).days_late == 2


def test_submission_times_in_other_offsets():
    a = PER_DAY
    assert late.lateness(a, "2023-11-24T20:29:00Z").days_late == 0  # = 23:59 Tehran
    assert late.lateness(a, "2023-11-24T20:30:00+00:00").late_s == 60.0
    assert late.lateness(a, "2023-11-24T21:00:00+01:00").days_late == 0  # 23:30 Tehran
    assert late.lateness(a, "2023-11-25T05:00:00+09:00").days_late == 0  # already the 25th in Tokyo: 23:30 in Tehran
    paris = datetime(2023, 11, 24, 22, 0, tzinfo=ZoneInfo("Europe/Paris"))  # 00:30 Tehran
    r = late.lateness(a, paris)
    assert (r.late_s, r.days_late) == (31 * 60.0, 1)
    assert r.submitted_at == "2023-11-24T22:00:00+01:00"  # kept in its own offset
    assert late.lateness(a, "2023-11-25T00:00:00").late_s == 60.0  # no offset: Tehran wall clock
    assert late.lateness(a, datetime(2023, 11, 24, 20, 30, tzinfo=UTC)).late_s == 60.0


def test_tehran_has_no_daylight_saving_since_2022():
    summer = late.deadline(assignment("1402-04-10T23:59"))  # 2023-07-01
    assert summer.date() == date(2023, 7, 1) and summer.utcoffset() == timedelta(hours=3, minutes=30)
    old_summer = late.deadline(assignment("1400-04-10T23:59"))  # 2021-07-01, when Iran still had DST
    assert old_summer.utcoffset() == timedelta(hours=4, minutes=30)
    one_minute_late = summer.astimezone(UTC) + timedelta(minutes=1)
    assert late.lateness(assignment("1402-04-10T23:59"), one_minute_late.isoformat()).late_s == 60.0


def test_policy_none_shows_lateness_without_penalty():
    for a in (assignment(), assignment(policy="none")):
        r = at(timedelta(days=5, hours=1), a)
        assert (r.days_late, r.penalty, r.policy) == (6, 0.0, "none")


def test_no_deadline_or_unknown_time_gives_none():
    assert late.lateness(assignment(deadline=""), DUE.isoformat()) is None
    assert late.lateness(PER_DAY, "") is None
    assert late.lateness(PER_DAY, "yesterday evening") is None


@pytest.mark.parametrize("table, words", [
    ({"policy": "weekly"}, "unknown policy 'weekly'"),
    ({"policy": "per_day", "percent_per_day": -5}, "percent_per_day = -5 must be between 0 and 100"),
    ({"policy": "per_day", "percent_per_day": 150}, "between 0 and 100"),
    ({"policy": "per_day", "percent_per_day": True}, "must be a number"),
    ({"policy": "per_day", "percent_per_day": "10%"}, "must be a number"),
    ({"policy": "per_day"}, "needs percent_per_day"),
    ({"policy": "per_day", "percent_per_day": 10, "cap_percent": -1}, "cap_percent"),
    ({"policy": "per_day", "percent_per_day": 10, "grace_minutes": -15}, "grace_minutes = -15 must be 0 or more"),
    ({"policy": "per_day", "percent_per_days": 10}, "takes no percent_per_days"),
    ({"policy": "none", "percent_per_day": 10}, "takes no percent_per_day"),
    ({"policy": "zero_after"}, "needs days"),
    ({"policy": "zero_after", "days": -1}, "whole number of days"),
    ({"policy": "zero_after", "days": 1.5}, "whole number of days"),
])
def test_nonsense_in_the_late_table_is_an_assignment_error(table, words):
    with pytest.raises(AssignmentError, match="hw: \\[late\\]") as e:
        late.lateness(assignment(**table), DUE.isoformat())
    assert words in str(e.value)


@pytest.mark.parametrize("deadline, tz, words", [
    ("2023-11-24T23:59", "Asia/Tehran", "does not look like a Jalali date"),
    ("1402-12-30T23:59", "Asia/Tehran", "not a valid Jalali date"),  # 1402 is not a leap year
    ("1402-09-03", "Asia/Tehran", "YYYY-MM-DDTHH:MM"),
    ("1402-09-03T25:00", "Asia/Tehran", "not a valid Jalali date"),
    ("1402-09-03T23:59", "Mars/Olympus", "unknown timezone"),
])
def test_unreadable_deadlines_are_assignment_errors(deadline, tz, words):
    with pytest.raises(AssignmentError, match=words):
        late.deadline(assignment(deadline, tz))


def test_leap_day_and_seconds_are_read():
    assert late.deadline(assignment("1403-12-30T10:00:30")) == datetime(2025, 3, 20, 10, 0, 30, tzinfo=TEHRAN)
