"""Submissions in: a folder of students, one student's folder, or a single notebook → `Submission`s.

A student's folder is any folder holding one of the assignment's expected notebooks; the student id
is the folder's name (a lone notebook is its own student, named after the file).  LMS exports and
zips come later (issue 6).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .assignment import Assignment
from .errors import InvalidSubmission


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    student: str
    root: Path  # the folder whose files are copied into the sandbox
    notebook: Path
    files: tuple[Path, ...]  # relative to root: what is copied into the sandbox
    digest: str  # sha256 over the submitted files
    submitted_at: str = ""  # ISO time (file mtime for plain folders)


def collect(path: Path, assignment: Assignment) -> list[Submission]:
    """Every submission under `path`, sorted by student id."""
    path = Path(path)
    if path.is_file():
        return [_one(path.parent, path, student=path.stem, only_notebook=True)]
    if not path.is_dir():
        raise InvalidSubmission("no_such_path", path=str(path))
    if _notebook(path, assignment, required=False):
        return [_one(path, _notebook(path, assignment), student=path.name)]
    found = [_one(d, _notebook(d, assignment), student=d.name)
             for d in sorted(path.iterdir()) if d.is_dir() and _notebook(d, assignment, required=False)]
    if not found:
        raise InvalidSubmission("no_notebook", expected=", ".join(assignment.notebooks), path=str(path))
    return found


def _notebook(folder: Path, assignment: Assignment, *, required: bool = True) -> Path | None:
    for name in assignment.notebooks:
        if (folder / name).is_file() and not (folder / name).is_symlink():
            return folder / name
    if required:
        raise InvalidSubmission("no_notebook", expected=", ".join(assignment.notebooks), path=str(folder))
    return None


def _one(root: Path, notebook: Path, *, student: str, only_notebook: bool = False) -> Submission:
    """A lone notebook brings only itself; a student's folder brings its files (symlinks never)."""
    h = hashlib.sha256()
    files = [notebook] if only_notebook else sorted(
        p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and p.name != "expected.toml"
        and ".ipynb_checkpoints" not in p.parts)
    for p in files:
        h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())
    mtime = datetime.fromtimestamp(notebook.stat().st_mtime, tz=timezone.utc).isoformat(timespec="seconds")
    return Submission(student=student, root=root, notebook=notebook, files=tuple(p.relative_to(root) for p in files),
                      digest=h.hexdigest(), submitted_at=mtime)
