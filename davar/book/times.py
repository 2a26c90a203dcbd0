"""Submission times a TA supplies: `davar grade --times FILE.csv` dates the listed students by the
file, not by what the submissions carry (a copy's file times, a folder that came without its LMS
export, a deadline extension agreed by e-mail):

    student,submitted_at
    40012345,1404-01-15T23:10          # Jalali date, wall-clock time in the assignment's time zone
    40012346,2025-04-04 20:40+03:30    # a Gregorian date; an explicit UTC offset wins over the zone

A file is read as `davar scores import` reads one (UTF-8 with or without BOM, `,` `;` or tab,
Persian and Arabic-Indic digits); the date is Jalali when its year is 1300-1500, `-` or `/` between
its parts, and it needs a time (a date alone is refused, never read as midnight).  A file with any
bad row (no time, a student id the batch does not have, a student twice) is refused as a whole,
every problem listed, and nothing is graded.  Students the file does not list keep the time their
submission carries; the listed ones get `time_source` "ta_csv".
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from pathlib import Path

from davar import catalogue, late
from davar.assignment import Assignment
from davar.book.scores import delimiter, normalise, suggestions
from davar.errors import DavarError
from davar.results import Message

COLUMNS = ("student", "submitted_at")


def read_times(path: Path, assignment: Assignment, known: Collection[str]) -> dict[str, str]:
    """Each listed student's submission time (ISO 8601 with its UTC offset), checked against `known`
    (the students of the batch).  Raises `DavarError` for a missing or unreadable file and for a file
    with any bad row, listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DavarError("times_file_missing", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise DavarError("times_file_unreadable", file=str(path), error=str(e)) from None
    lines = text.splitlines(keepends=True)
    reader = csv.DictReader(lines, delimiter=delimiter(lines[0] if lines else ""))
    reader.fieldnames = [normalise(f).lower() for f in reader.fieldnames or ()]
    if missing := [c for c in COLUMNS if c not in reader.fieldnames]:
        raise DavarError("times_missing_columns", file=str(path), columns=", ".join(missing),
                         expected=",".join(COLUMNS))
    zone = late.zone(assignment)
    times: dict[str, str] = {}
    problems: list[Message] = []
    for row in reader:
        line = reader.line_num
        student, written = normalise(row.get("student") or ""), normalise(row.get("submitted_at") or "")
        if not student and not written:
            continue  # a blank line
        when = late.read_time(written, zone)
        if when is None:
            problems.append(catalogue.message("times_line_not_time", {"line": line, "time": written}))
        elif student not in known:
            problems.append(catalogue.message("times_line_unknown_student", {
                "line": line, "student": student, "suggestions": ", ".join(suggestions(student, known)) or "-"}))
        elif student in times:
            problems.append(catalogue.message("times_line_twice", {"line": line, "student": student}))
        else:
            times[student] = when.isoformat(timespec="seconds")
    if problems:
        raise DavarError("times_refused", problems, file=str(path), count=len(problems))
    return times
