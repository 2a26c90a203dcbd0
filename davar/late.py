"""Deadlines in the Iranian (Jalali) calendar and the late policy of an assignment.

The deadline is written in `assignment.toml` as a Jalali date and wall-clock time in the
assignment's time zone; the late policy is the optional `[late]` table.  A TA copies one of these
into `assignment.toml`::

    deadline = "1402-09-03T23:59"          # Jalali, local time of `timezone` (seconds optional)
    timezone = "Asia/Tehran"               # any IANA zone name; Tehran has had no DST since 2022

    [late]                                 # leave the table out: lateness is shown, nothing is taken
    policy = "none"                        # lateness is shown, no penalty

    [late]
    policy = "per_day"                     # every started day late costs a percentage ...
    percent_per_day = 10                   # ... of the score (0-100)
    cap_percent = 50                       # never more than this in total (optional, default 100)
    grace_minutes = 15                     # a submission this close after the deadline is on time (optional)

    [late]
    policy = "zero_after"                  # a score of 0 once more than `days` days late
    days = 3                               # up to 3 started days late still counts ...
    percent_per_day = 10                   # ... at 10 % per started day (optional, default 0)
    cap_percent = 100                      # optional, default 100
    grace_minutes = 0                      # optional

Days late are *started* 24-hour periods after the deadline plus the grace: one second past it is
one day late, exactly 24 hours past it is still one day, 24 hours and one second is two.  A
submission exactly at the deadline is on time.  The penalty is a fraction of the score
(`Lateness.penalty`, 0-1); `SubmissionResult.final_score` applies it.

Submission times come from intake as ISO 8601 with a UTC offset (file mtime, LMS metadata, git
commit time); a time without an offset is taken as wall-clock time in the assignment's zone.
Nonsense in `[late]` (an unknown policy or key, a negative or over-100 percentage, a missing
`percent_per_day` or `days`) raises `AssignmentError` naming the assignment, so a TA sees it at once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jdatetime

from davar.errors import AssignmentError
from davar.results import POLICIES, Lateness, Policy

DAY_S = 86400
# Which keys each policy accepts, and which of them it requires.
_KEYS = {
    "none": ({"policy", "grace_minutes"}, set()),
    "per_day": ({"policy", "percent_per_day", "cap_percent", "grace_minutes"}, {"percent_per_day"}),
    "zero_after": ({"policy", "days", "percent_per_day", "cap_percent", "grace_minutes"}, {"days"}),
}
_DEADLINE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2})(?::(\d{2}))?")
_JALALI_YEARS = range(1300, 1501)  # a four-digit year outside this is almost surely Gregorian
_WRITTEN = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})[T ](\d{1,2}):(\d{2})(?::(\d{2}))?\s*(Z|[+-]\d{2}:?\d{2})?")


class Dated(Protocol):
    """What the late policy reads of an assignment (`davar.assignment.Assignment` is one); this module
    parses values and never needs the assignment module itself."""

    @property
    def id(self) -> str: ...
    @property
    def deadline(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def late(self) -> LatePolicy: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LatePolicy:
    """A validated `[late]` table."""

    policy: Policy = "none"
    percent_per_day: float = 0.0
    cap_percent: float = 100.0
    days: int | None = None  # zero_after: the last day late that still earns points
    grace_minutes: float = 0.0

    def penalty(self, days_late: int) -> float:
        """The fraction of the score taken away for `days_late` started days late (0-1)."""
        if days_late <= 0 or self.policy == "none":
            return 0.0
        if self.policy == "zero_after":
            assert self.days is not None  # policy() requires `days` for zero_after
            if days_late > self.days:
                return 1.0
        return round(min(self.percent_per_day * days_late, self.cap_percent) / 100, 6)


def policy(table: Mapping[str, Any], *, assignment: str = "") -> LatePolicy:
    """The late policy of a `[late]` table (empty: "none"); AssignmentError on nonsense."""
    where = f"{assignment}: [late]" if assignment else "[late]"
    name = table.get("policy", "none")
    if name not in POLICIES:
        raise AssignmentError("late_unknown_policy", where=where, policy=str(name), policies=", ".join(POLICIES))
    allowed, required = _KEYS[name]
    if unknown := sorted(set(table) - allowed):
        others = ", ".join(sorted(allowed - {"policy"}))
        raise AssignmentError("late_policy_extra_keys" if others else "late_policy_takes_nothing", where=where,
                              policy=name, unknown=", ".join(unknown), allowed=others)
    if missing := sorted(required - set(table)):
        raise AssignmentError("late_policy_missing_keys", where=where, policy=name, missing=", ".join(missing))

    def number(key: str, default: float, upper: float | None = None) -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise AssignmentError("late_not_a_number", where=where, setting=key, value=repr(value))
        if value < 0 or (upper is not None and value > upper):
            raise AssignmentError("late_out_of_range" if upper is not None else "late_negative", where=where,
                                  setting=key, value=value, upper=upper)
        return float(value)

    days = None
    if name == "zero_after":
        days = table["days"]
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise AssignmentError("late_days_not_whole", where=where, value=repr(days))
    return LatePolicy(policy=cast(Policy, name), percent_per_day=number("percent_per_day", 0.0, 100.0),
                      cap_percent=number("cap_percent", 100.0, 100.0), days=days,
                      grace_minutes=number("grace_minutes", 0.0))


def zone(assignment: Dated) -> ZoneInfo:
    try:
        return ZoneInfo(assignment.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise AssignmentError("late_unknown_timezone", assignment=assignment.id,
                              timezone=str(assignment.timezone)) from None


def deadline(assignment: Dated) -> datetime:
    """The assignment's Jalali deadline as an aware datetime in its time zone.

    `1402-09-03T23:59` in Asia/Tehran is 2023-11-24 23:59 +03:30.  AssignmentError when the
    assignment has none or it cannot be read.
    """
    text = assignment.deadline.strip()
    m = _DEADLINE.fullmatch(text)
    if not m:
        raise AssignmentError("late_deadline_format", assignment=assignment.id, deadline=assignment.deadline)
    year, month, day, hour, minute, second = (int(g or 0) for g in m.groups())
    if year not in _JALALI_YEARS:
        raise AssignmentError("late_deadline_not_jalali", assignment=assignment.id, deadline=text)
    try:
        local = jdatetime.datetime(year, month, day, hour, minute, second).togregorian()
    except ValueError as e:
        raise AssignmentError("late_deadline_invalid", assignment=assignment.id, deadline=text,
                              error=str(e)) from None
    return local.replace(tzinfo=zone(assignment))


def parse_time(value: str | datetime, tz: ZoneInfo) -> datetime | None:
    """An aware datetime from an ISO 8601 string or a datetime (naive: wall-clock time in `tz`)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def read_time(text: str, tz: ZoneInfo) -> datetime | None:
    """A time a TA wrote (ASCII digits): a Jalali (year 1300-1500) or Gregorian date, `-` or `/`
    between its parts, then a wall-clock time, and optionally a UTC offset (`Z`, `+03:30`); without one
    it is wall-clock time in `tz`.  None when it is none of these, or not a real date (a date alone is
    refused, never read as midnight)."""
    m = _WRITTEN.fullmatch(text.strip())
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g or 0) for g in m.groups()[:6])
    try:
        local = (jdatetime.datetime(year, month, day, hour, minute, second).togregorian() if year in _JALALI_YEARS
                 else datetime(year, month, day, hour, minute, second))
    except ValueError:
        return None
    offset = m.group(7)
    return local.replace(tzinfo=tz if not offset else UTC if offset == "Z" else datetime.strptime(offset, "%z").tzinfo)


def lateness(assignment: Dated, submitted_at: str | datetime) -> Lateness | None:
    """How late `submitted_at` is against the assignment's deadline and what its `[late]` policy takes.

    None when the assignment has no deadline or the submission time is empty or unreadable.
    """
    if not assignment.deadline or not submitted_at:
        return None
    rules = assignment.late
    due = deadline(assignment)
    submitted = parse_time(submitted_at, zone(assignment))  # due's own zone
    if submitted is None:
        return None
    past = (submitted - due).total_seconds()
    past_grace = (submitted - due - timedelta(minutes=rules.grace_minutes)).total_seconds()
    days_late = math.ceil(past_grace / DAY_S) if past_grace > 0 else 0
    return Lateness(submitted_at=submitted.isoformat(timespec="seconds"), deadline=due.isoformat(timespec="seconds"),
                    late_s=max(past, 0.0), days_late=days_late, penalty=rules.penalty(days_late), policy=rules.policy)
