"""Manual grades: a TA's CSV of points and comments for the manual questions, kept in the gradebook
and merged into results when reports are made; nothing is re-run.

    student,question,points,comment,lang
    40012345,3,12.5,"Good explanation of distillation",en
    40012345,3,12.5,"توضیح خوبی دربارهٔ تقطیر دانش",fa

`lang` (fa, en or empty for both) says which report shows the comment; the points of the latest
import of a (student, question) count.  A file with any bad row is refused as a whole, with every
problem listed.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from davar import catalogue
from davar.assignment import Assignment
from davar.errors import DavarError
from davar.results import Message, SubmissionResult, TestResult

COLUMNS = ("student", "question", "points", "comment", "lang")


@dataclass(frozen=True, slots=True, kw_only=True)
class ManualScore:
    student: str
    question: str
    points: float
    comment: str = ""
    lang: str = ""  # "fa", "en" or "" (both)
    imported_at: str = ""
    source: str = ""  # the file it came from


def read_csv(path: Path, assignment: Assignment) -> list[ManualScore]:
    """The rows of a TA's CSV (UTF-8, with or without BOM), checked against the assignment."""
    manual = {q.id: q for q in assignment.questions if q.manual}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    scores, problems = [], []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS[:3] if c not in (reader.fieldnames or ())]
        if missing:
            raise DavarError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            student, qid = (row.get("student") or "").strip(), (row.get("question") or "").strip()
            lang = (row.get("lang") or "").strip().lower()
            try:
                points = float((row.get("points") or "").strip())
            except ValueError:
                problems.append(f"line {line}: points {row.get('points')!r} is not a number")
                continue
            if not student:
                problems.append(f"line {line}: no student")
            elif qid not in manual:
                problems.append(f"line {line}: question {qid!r} is not a manual question of {assignment.id} "
                                f"(manual: {', '.join(manual) or 'none'})")
            elif not 0 <= points <= manual[qid].points:
                problems.append(f"line {line}: {points:g} points is outside 0–{manual[qid].points:g} "
                                f"for question {qid}")
            elif lang not in ("", "fa", "en"):
                problems.append(f"line {line}: lang must be fa, en or empty, not {lang!r}")
            else:
                scores.append(ManualScore(student=student, question=qid, points=points,
                                          comment=(row.get("comment") or "").strip(), lang=lang,
                                          imported_at=now, source=Path(path).name))
    if problems:
        raise DavarError(f"{path}: nothing imported:\n  " + "\n  ".join(problems))
    return scores


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
