"""The gradebook: one SQLite file per assignment (stdlib sqlite3), one transaction per result.

Every grading adds a row (history is kept: a regrade never overwrites); `latest` gives the newest
result per student.  The full result JSON is stored as graded (a student's result.json is a copy of
its row), so reports can be rebuilt from here alone.
Manual scores a TA imports (`davar.book.scores`) are kept the same way, every import a row.  Deleting
them (`delete_manual`, a TA's correction) marks the rows `deleted_at` rather than removing them: the
history stays, and `manual` (what views and reports merge) no longer returns them.
A TA's overrides of automatic tests (`davar.book.overrides`) are kept as rows too, a clearing being
one more row: `overrides` returns them all, oldest first.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from davar.assignment import RubricItem
from davar.book.overrides import Override
from davar.book.scores import ManualScore
from davar.results import SubmissionResult, from_json

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment  TEXT NOT NULL,
    student     TEXT NOT NULL,
    digest      TEXT NOT NULL,
    graded_at   TEXT NOT NULL,
    status      TEXT NOT NULL,
    score       REAL NOT NULL,
    max_score   REAL NOT NULL,
    result_json TEXT NOT NULL,
    cache_key   TEXT, -- davar.grading.batch.cache_key; NULL when the result must not be reused
    graders     TEXT, -- what it was graded with (GradedWith); NULL in older gradebooks
    config      TEXT,
    folder      TEXT
);
CREATE INDEX IF NOT EXISTS results_student ON results (assignment, student, id);
CREATE TABLE IF NOT EXISTS manual_scores (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment  TEXT NOT NULL,
    student     TEXT NOT NULL,
    question    TEXT NOT NULL,
    points      REAL NOT NULL,
    comment     TEXT NOT NULL,
    lang        TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    source      TEXT NOT NULL,
    deleted_at  TEXT  -- set by delete_manual; NULL while the score counts
);
CREATE TABLE IF NOT EXISTS rubrics (  -- a TA's edit of a manual question's rubric in `davar review`
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment  TEXT NOT NULL,
    question    TEXT NOT NULL,
    items       TEXT NOT NULL,  -- JSON: [{"text": {"fa": ..., "en": ...}, "points": ...}, ...]
    made_by     TEXT NOT NULL,
    made_at     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS overrides (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    assignment  TEXT NOT NULL,
    student     TEXT NOT NULL,
    question    TEXT NOT NULL,
    test        TEXT NOT NULL,
    points      REAL,  -- NULL: this row clears the override
    reason      TEXT NOT NULL,
    made_by     TEXT NOT NULL,
    made_at     TEXT NOT NULL,
    outcome     TEXT NOT NULL,  -- the test's automatic outcome, points and max when it was made
    auto_points REAL NOT NULL,
    max_points  REAL NOT NULL
);
"""


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA)
    columns = {row[1] for row in db.execute("PRAGMA table_info(results)")}
    for column in ("cache_key", "graders", "config", "folder"):  # an older gradebook
        if column not in columns:
            db.execute(f"ALTER TABLE results ADD COLUMN {column} TEXT")
    if "deleted_at" not in {row[1] for row in db.execute("PRAGMA table_info(manual_scores)")}:
        db.execute("ALTER TABLE manual_scores ADD COLUMN deleted_at TEXT")
    return db


@dataclass(frozen=True, slots=True)
class GradedWith:
    """What a result was graded with: the digests of the grading code and of the rest of the
    assignment folder (`davar.grading.batch.graders_digest`, `config_digest`), and that folder."""

    graders: str
    config: str
    folder: str


def add(path: Path, result: SubmissionResult, *, cache_key: str | None = None,
        graded_with: GradedWith | None = None) -> str:
    """Store `result` as graded; return the JSON stored, which result.json copies byte for byte."""
    text = result.to_json()
    w = (graded_with.graders, graded_with.config, graded_with.folder) if graded_with else (None, None, None)
    with closing(connect(path)) as db, db:
        db.execute(
            "INSERT INTO results (assignment, student, digest, graded_at, status, score, max_score, result_json,"
            " cache_key, graders, config, folder) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (result.assignment, result.student, result.digest, result.graded_at, result.status, result.score,
             result.max_score, text, cache_key, *w))
    return text


def graded_with(path: Path, assignment: str) -> dict[str, GradedWith | None]:
    """For each student's newest result, what it was graded with (None when the gradebook did not record it)."""
    with closing(connect(path)) as db:
        rows = db.execute(
            "SELECT student, graders, config, folder FROM results WHERE id IN"
            " (SELECT MAX(id) FROM results WHERE assignment = ? GROUP BY student)", (assignment,)).fetchall()
    return {r[0]: GradedWith(r[1], r[2], r[3]) if r[1] else None for r in rows}


def cache_keys(path: Path, assignment: str) -> set[str]:
    """The cache keys of the assignment's results already in the gradebook."""
    with closing(connect(path)) as db:
        rows = db.execute("SELECT DISTINCT cache_key FROM results WHERE assignment = ? AND cache_key IS NOT NULL",
                          (assignment,)).fetchall()
    return {r[0] for r in rows}


def latest_json(path: Path, assignment: str) -> list[str]:
    """The newest result of each student, by student id, as the JSON stored (whatever its schema)."""
    with closing(connect(path)) as db:
        rows = db.execute(
            "SELECT result_json FROM results WHERE id IN"
            " (SELECT MAX(id) FROM results WHERE assignment = ? GROUP BY student) ORDER BY student",
            (assignment,)).fetchall()
    return [r[0] for r in rows]


def latest(path: Path, assignment: str) -> list[SubmissionResult]:
    """The newest result of each student, by student id."""
    return [from_json(text) for text in latest_json(path, assignment)]


def latest_of(path: Path, assignment: str, student: str) -> SubmissionResult | None:
    """One student's newest result (None when the gradebook has none)."""
    with closing(connect(path)) as db:
        row = db.execute("SELECT result_json FROM results WHERE assignment = ? AND student = ? ORDER BY id DESC"
                         " LIMIT 1", (assignment, student)).fetchone()
    return from_json(row[0]) if row else None


def history(path: Path, assignment: str, student: str) -> list[SubmissionResult]:
    with closing(connect(path)) as db:
        rows = db.execute("SELECT result_json FROM results WHERE assignment = ? AND student = ? ORDER BY id",
                          (assignment, student)).fetchall()
    return [from_json(r[0]) for r in rows]


def add_manual(path: Path, assignment: str, scores: list[ManualScore]) -> None:
    """One import, all rows or none."""
    with closing(connect(path)) as db, db:
        db.executemany(
            "INSERT INTO manual_scores (assignment, student, question, points, comment, lang, imported_at, source)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(assignment, s.student, s.question, s.points, s.comment, s.lang, s.imported_at, s.source) for s in scores])


def manual_version(path: Path, assignment: str, student: str, question: str) -> int:
    """The version of a student's manual score of one question: the row id of the one that counts, 0 for none."""
    with closing(connect(path)) as db:
        return _version(db, assignment, student, question)


def _version(db: sqlite3.Connection, assignment: str, student: str, question: str) -> int:
    row = db.execute("SELECT MAX(id) FROM manual_scores WHERE assignment = ? AND student = ? AND question = ?"
                     " AND deleted_at IS NULL", (assignment, student, question)).fetchone()
    return int(row[0] or 0)


def save_manual(path: Path, assignment: str, score: ManualScore, *, version: int) -> tuple[bool, int]:
    """Store one manual score if the one that counts is still `version` (what the TA saw: optimistic
    versioning, for several TAs at once); return (stored, the version that counts now).  A score made
    on an older version is a conflict: it is kept in the history, marked deleted at once, and does not
    count, so nothing is silently overwritten and nothing is lost."""
    s = score
    with closing(connect(path)) as db:
        db.execute("BEGIN IMMEDIATE")  # the check and the insert in one write transaction
        try:
            current = _version(db, assignment, s.student, s.question)
            stale = None if current == version else datetime.now(UTC).isoformat(timespec="seconds")
            cursor = db.execute(
                "INSERT INTO manual_scores (assignment, student, question, points, comment, lang, imported_at, source,"
                " deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (assignment, s.student, s.question, s.points, s.comment, s.lang, s.imported_at, s.source, stale))
            db.commit()
        except BaseException:
            db.rollback()
            raise
    return (True, int(cursor.lastrowid or 0)) if stale is None else (False, current)


def add_rubric(path: Path, assignment: str, question: str, items: Sequence[RubricItem], by: str) -> None:
    """A TA's rubric of a manual question, one more row (the earlier ones stay)."""
    text = json.dumps([{"text": i.text, "points": i.points} for i in items], ensure_ascii=False)
    with closing(connect(path)) as db, db:
        db.execute("INSERT INTO rubrics (assignment, question, items, made_by, made_at) VALUES (?, ?, ?, ?, ?)",
                   (assignment, question, text, by, datetime.now(UTC).isoformat(timespec="seconds")))


def rubric(path: Path, assignment: str, question: str) -> tuple[RubricItem, ...] | None:
    """The latest rubric a TA saved for a manual question; None when none was (assignment.toml's counts)."""
    with closing(connect(path)) as db:
        row = db.execute("SELECT items FROM rubrics WHERE assignment = ? AND question = ? ORDER BY id DESC LIMIT 1",
                         (assignment, question)).fetchone()
    if row is None:
        return None
    return tuple(RubricItem(text=dict(i["text"]), points=float(i["points"])) for i in json.loads(row[0]))


def manual_history(path: Path, assignment: str, student: str, question: str) -> list[tuple[ManualScore, bool]]:
    """Every manual score of a student's question ever stored, oldest first, each with whether it still counts
    (False: deleted, or a conflicting attempt `save_manual` kept)."""
    with closing(connect(path)) as db:
        rows = db.execute("SELECT student, question, points, comment, lang, imported_at, source, deleted_at"
                          " FROM manual_scores WHERE assignment = ? AND student = ? AND question = ? ORDER BY id",
                          (assignment, student, question)).fetchall()
    return [(ManualScore(student=r[0], question=r[1], points=r[2], comment=r[3], lang=r[4], imported_at=r[5],
                         source=r[6]), r[7] is None) for r in rows]


def students(path: Path, assignment: str) -> set[str]:
    """The students the gradebook has a result for."""
    with closing(connect(path)) as db:
        rows = db.execute("SELECT DISTINCT student FROM results WHERE assignment = ?", (assignment,)).fetchall()
    return {r[0] for r in rows}


def manual(path: Path, assignment: str) -> list[ManualScore]:
    """Every imported manual score of the assignment that was not deleted, oldest first (`scores.merge`
    takes the latest)."""
    with closing(connect(path)) as db:
        rows = db.execute("SELECT student, question, points, comment, lang, imported_at, source FROM manual_scores"
                          " WHERE assignment = ? AND deleted_at IS NULL ORDER BY id", (assignment,)).fetchall()
    return [ManualScore(student=r[0], question=r[1], points=r[2], comment=r[3], lang=r[4], imported_at=r[5],
                        source=r[6])
            for r in rows]


def delete_manual(path: Path, assignment: str, student: str, question: str | None = None) -> int:
    """Mark a student's manual scores (of one question, or all) deleted, in one transaction; return how
    many rows.  The rows stay in the gradebook with the time of the deletion; they no longer count."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    query = "UPDATE manual_scores SET deleted_at = ? WHERE assignment = ? AND student = ? AND deleted_at IS NULL"
    params: tuple[str, ...] = (now, assignment, student)
    if question is not None:
        query, params = query + " AND question = ?", (*params, question)
    with closing(connect(path)) as db, db:
        return db.execute(query, params).rowcount


def add_override(path: Path, assignment: str, override: Override) -> None:
    """One more row of the override history (an override, or a clearing when its points are None)."""
    o = override
    with closing(connect(path)) as db, db:
        db.execute(
            "INSERT INTO overrides (assignment, student, question, test, points, reason, made_by, made_at, outcome,"
            " auto_points, max_points) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (assignment, o.student, o.question, o.test, o.points, o.reason, o.by, o.made_at, o.outcome,
             o.auto_points, o.max_points))


def overrides(path: Path, assignment: str) -> list[Override]:
    """Every override and clearing of the assignment, oldest first (`overrides.current` takes the latest)."""
    with closing(connect(path)) as db:
        rows = db.execute("SELECT student, question, test, points, reason, made_by, made_at, outcome, auto_points,"
                          " max_points FROM overrides WHERE assignment = ? ORDER BY id", (assignment,)).fetchall()
    return [Override(student=r[0], question=r[1], test=r[2], points=r[3], reason=r[4], by=r[5], made_at=r[6],
                     outcome=r[7], auto_points=r[8], max_points=r[9]) for r in rows]
