"""Manual grades: a TA's CSV of points and comments for the manual questions, kept in the gradebook
and merged into results when reports are made; nothing is re-run.

    student,question,points,comment,lang
    40012345,3,12.5,"Good explanation of distillation",en
    40012345,3,12.5,"توضیح خوبی دربارهٔ تقطیر دانش",fa

`lang` (fa, en or empty for both) says which report shows the comment; the points of the latest
import of a (student, question) count.  A file with any bad row is refused as a whole, with every
problem listed, and nothing is stored: a wrong grade must never pass silently.

How a file is read (a TA's spreadsheet, often typed on a Persian keyboard):

- UTF-8, with or without BOM.  The separator is the one of `,` `;` or a tab that the header line
  holds most often (Excel in many locales writes `;`).
- Points may be written with Persian digits (۱۲٫۵), Arabic-Indic digits (١٢٫٥) or ASCII ones; the
  Persian/Arabic decimal separator `٫` (U+066B) and `.` are decimal points.  A comma between digits
  (`12,5`) is a decimal comma too: it can only reach the points field as one value when the field is
  quoted (`"12,5"`) or the file is `;`- or tab-separated.  Unquoted `12,5` in a comma-separated file
  splits the row into one field too many, which is refused (never read as 12 with a stray 5); a row
  whose integer points are followed by a comment that is only digits (`s1,3,12,5` under a header with
  a comment column) is refused as ambiguous too.
  Thousands separators (`1,250.5`, `٬`) and the Arabic comma `،` (U+060C) are not accepted: the
  row is refused, not guessed.  Invisible direction marks (LRM, RLM, ...) around a value are dropped.
- Student ids and question ids get the same digit normalisation, so ۴۰۰۱۲۳۴۵ is 40012345.
- Every student must already be in the gradebook (`known`): an unknown id (usually a typo) refuses
  the file, naming it with the closest ids of the gradebook.

Every refusal is a `ScoresError`: a catalogue key and values (the TA reads it in fa or en), and one
message per problem row.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from davar import catalogue
from davar.assignment import Assignment
from davar.errors import ScoresError
from davar.results import Message, SubmissionResult, TestResult

COLUMNS = ("student", "question", "points", "comment", "lang")
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٫", "01234567890123456789.")
_INVISIBLE = "\u200e\u200f\u200c\u200d\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e\ufeff \t\xa0"
_NUMBER = re.compile(r"-?(?:[0-9]+(?:[.,][0-9]+)?|[.,][0-9]+)")


def normalise(text: str) -> str:
    """`text` with Persian and Arabic-Indic digits made ASCII, `٫` made `.`, and invisible marks and
    spaces around it dropped: normalise(" ۱۲٫۵\u200f") == "12.5"."""
    return text.strip(_INVISIBLE).translate(_DIGITS)


def parse_points(text: str) -> float | None:
    """The points a TA wrote, or None when it is not a plain decimal number (see the module's docstring)."""
    value = normalise(text)
    if not _NUMBER.fullmatch(value):
        return None
    return float(value.replace(",", "."))


def suggestions(student: str, known: Collection[str]) -> list[str]:
    """The ids of `known` closest to `student` (a typo's likely intent), best first, at most three."""
    close = difflib.get_close_matches(student, sorted(known), n=10, cutoff=0.6)
    return sorted(close, key=lambda k: _typos(student, k))[:3]  # stable: difflib's order among equals


def _typos(a: str, b: str) -> int:
    """How many typos (a wrong, missing or extra character, or two swapped neighbours) turn `a` into `b`."""
    d = [[i + j if not i * j else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


@dataclass(frozen=True, slots=True, kw_only=True)
class ManualScore:
    student: str
    question: str
    points: float
    comment: str = ""
    lang: str = ""  # "fa", "en" or "" (both)
    imported_at: str = ""
    source: str = ""  # the file it came from


def delimiter(header: str) -> str:
    """The separator of a TA's CSV: the one of `,` `;` or a tab its header line holds most often."""
    return max((",", ";", "\t"), key=header.count)


def _problem(key: str, line: int, **values: Any) -> Message:
    return catalogue.message(key, {"line": line, **values})


def read_csv(path: Path, assignment: Assignment, known: Collection[str] | None = None) -> list[ManualScore]:
    """The rows of a TA's CSV, checked against the assignment and, given `known` (the gradebook's
    students), against the class.  Raises `ScoresError` for a missing or unreadable file and for a file
    with any bad row, listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise ScoresError("scores_file_missing", file=str(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ScoresError("scores_file_unreadable", file=str(path), error=str(e)) from None
    lines = text.splitlines(keepends=True)
    separator = delimiter(lines[0] if lines else "")
    comma = separator == ","
    reader = csv.DictReader(lines, delimiter=separator)
    fields = [normalise(f).lower() for f in reader.fieldnames or ()]
    reader.fieldnames = fields
    if missing := [c for c in COLUMNS[:3] if c not in fields]:
        raise ScoresError("scores_missing_columns", file=str(path), columns=", ".join(missing),
                          expected=",".join(COLUMNS))
    manual = {q.id: q for q in assignment.questions if q.manual}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    found: list[ManualScore] = []
    problems: list[Message] = []
    unknown: dict[str, list[int]] = {}
    for row in reader:
        line = reader.line_num
        if not any((v or "").strip() for k, v in row.items() if k is not None) and not row.get(None):
            continue  # a blank line
        if row.get(None):  # more fields than the header: e.g. 12,5 unquoted in a comma-separated file
            problems.append(_problem("scores_line_extra_fields", line, extra=",".join(row[None])))
            continue
        student, qid = normalise(row.get("student") or ""), normalise(row.get("question") or "")
        lang = normalise(row.get("lang") or "").lower()
        raw, comment = row.get("points") or "", (row.get("comment") or "").strip()
        points = parse_points(raw)
        if points is None:
            problems.append(_problem("scores_line_not_number", line, points=raw.strip()))
        elif not student:
            problems.append(_problem("scores_line_no_student", line))
        elif qid not in manual:
            problems.append(_problem("scores_line_not_manual", line, question=qid, assignment=assignment.id,
                                     manual=", ".join(manual) or "-"))
        elif not 0 <= points <= manual[qid].points:
            problems.append(_problem("scores_line_out_of_range", line, points=points, max=manual[qid].points,
                                     question=qid))
        elif comma and re.fullmatch(r"[0-9]+", normalise(raw)) and re.fullmatch(r"[0-9]+", normalise(comment)):
            # "s1,3,12,5" under a five-column header: 12 points and a comment "5", or 12,5 unquoted?
            problems.append(_problem("scores_line_ambiguous_comma", line, points=normalise(raw),
                                     comment=normalise(comment)))
        elif lang not in ("", "fa", "en"):
            problems.append(_problem("scores_line_bad_lang", line, lang=lang))
        elif known is not None and student not in known:
            unknown.setdefault(student, []).append(line)
        else:
            found.append(ManualScore(student=student, question=qid, points=points,
                                     comment=comment, lang=lang,
                                     imported_at=now, source=path.name))
    for student, at in unknown.items():
        close = suggestions(student, known or ())
        problems.append(catalogue.message(
            "scores_unknown_student" if close else "scores_unknown_student_no_match",
            {"student": student, "assignment": assignment.id,
             "lines": {"en": ", ".join(map(str, at)),
                       "fa": "، ".join(catalogue.format_number(n, "fa", "count") for n in at)},
             "suggestions": ", ".join(close)}))
    if problems:
        raise ScoresError("scores_refused", problems, file=str(path), count=len(problems))
    return found


def history(scores: Sequence[ManualScore], student: str | None = None) -> list[ManualScore]:
    """`scores` (oldest first, as the gradebook keeps them) by student and question, the latest first
    in each: the first of each (student, question) is the one that counts."""
    chosen = [(i, s) for i, s in enumerate(scores) if student is None or s.student == student]
    return [s for _, s in sorted(chosen, key=lambda p: (p[1].student, p[1].question, -p[0]))]


def counted(scores: Sequence[ManualScore]) -> Mapping[tuple[str, str], ManualScore]:
    """The score that counts for each (student, question): its latest import."""
    return {(s.student, s.question): s for s in scores}


def merge(result: SubmissionResult, scores: Sequence[ManualScore]) -> SubmissionResult:
    """`result` with its manual questions scored by the latest of `scores` for its student (called by
    `davar.book.view`, the one place a view is made)."""
    mine: dict[str, list[ManualScore]] = {}
    for s in scores:
        if s.student == result.student:
            mine.setdefault(s.question, []).append(s)
    if not mine:
        return result
    questions = []
    for q in result.questions:
        if q.manual and q.id in mine:
            latest = mine[q.id][-1]
            comments = {lang: next((s.comment for s in reversed(mine[q.id]) if s.comment and s.lang in (lang, "")), "")
                        for lang in ("fa", "en")}
            messages: tuple[Message, ...] = ()
            if comments["fa"] or comments["en"]:  # each page shows its language's comment, else the other
                messages = (catalogue.message("ta_comment", {"comment": {"fa": comments["fa"] or comments["en"],
                                                                         "en": comments["en"] or comments["fa"]}}),)
            test = TestResult(id="manual", title={"fa": "", "en": ""}, outcome="ta_graded", points=latest.points,
                              max_points=q.max_points, messages=messages)
            q = dataclasses.replace(q, tests=(test,))
        questions.append(q)
    return dataclasses.replace(result, questions=tuple(questions))
