"""The gradebook: one SQLite file per assignment (stdlib sqlite3), one transaction per result.

Every grading adds a row (history is kept: a regrade never overwrites); `latest` gives the newest
result per student.  The full result JSON is stored, so reports can be rebuilt from here alone.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from .results import SubmissionResult, from_json

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
    result_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_student ON results (assignment, student, id);
"""


def connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA)
    return db


def add(path: Path, result: SubmissionResult) -> None:
    with closing(connect(path)) as db, db:
        db.execute(
            "INSERT INTO results (assignment, student, digest, graded_at, status, score, max_score, result_json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (result.assignment, result.student, result.digest, result.graded_at, result.status, result.score,
             result.max_score, result.to_json()))


def latest(path: Path, assignment: str) -> list[SubmissionResult]:
    """The newest result of each student, by student id."""
    with closing(connect(path)) as db:
        rows = db.execute(
            "SELECT result_json FROM results WHERE id IN"
            " (SELECT MAX(id) FROM results WHERE assignment = ? GROUP BY student) ORDER BY student",
            (assignment,)).fetchall()
    return [from_json(r[0]) for r in rows]


def history(path: Path, assignment: str, student: str) -> list[SubmissionResult]:
    with closing(connect(path)) as db:
        rows = db.execute("SELECT result_json FROM results WHERE assignment = ? AND student = ? ORDER BY id",
                          (assignment, student)).fetchall()
    return [from_json(r[0]) for r in rows]
