"""Submissions in: a folder of students, one student's folder, or a single notebook → `Submission`s.

A student's folder is any folder holding at least one of the assignment's notebooks (an assignment
may have several: each runs in its own kernel, and a missing one costs only its own questions); the
student id is the folder's name (a lone notebook is its own student, named after the file).  LMS exports and
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
    notebooks: dict[str, Path]  # the assignment's notebook name -> the submitted file, in the assignment's order
    files: tuple[Path, ...]  # relative to root: what is copied into the sandbox
    digest: str  # sha256 over the submitted files
    submitted_at: str = ""  # ISO time (file mtime for plain folders)


def collect(path: Path, assignment: Assignment) -> list[Submission]:
    """Every submission under `path`, sorted by student id."""
    path = Path(path)
    if path.is_file():
        name = path.name if path.name in assignment.notebooks else assignment.notebooks[0]
        return [_one(path.parent, {name: path}, student=path.stem, only_notebooks=True)]
    if not path.is_dir():
        raise InvalidSubmission("no_such_path", path=str(path))
    if _notebooks(path, assignment):
        return [_one(path, _notebooks(path, assignment), student=path.name)]
    found = [_one(d, _notebooks(d, assignment), student=d.name)
             for d in sorted(path.iterdir()) if d.is_dir() and _notebooks(d, assignment)]
    if not found:
        raise InvalidSubmission("no_notebook", expected=", ".join(assignment.notebooks), path=str(path))
    return found


def _notebooks(folder: Path, assignment: Assignment) -> dict[str, Path]:
    return {name: folder / name for name in assignment.notebooks
            if (folder / name).is_file() and not (folder / name).is_symlink()}


def _one(root: Path, notebooks: dict[str, Path], *, student: str, only_notebooks: bool = False) -> Submission:
    """A lone notebook brings only itself; a student's folder brings its files (symlinks never)."""
    h = hashlib.sha256()
    files = list(notebooks.values()) if only_notebooks else sorted(
        p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and p.name != "expected.toml"
        and ".ipynb_checkpoints" not in p.parts)
    for p in files:
        h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes())
    latest = max(p.stat().st_mtime for p in notebooks.values())
    mtime = datetime.fromtimestamp(latest, tz=timezone.utc).isoformat(timespec="seconds")
    return Submission(student=student, root=root, notebooks=notebooks, files=tuple(p.relative_to(root) for p in files),
                      digest=h.hexdigest(), submitted_at=mtime)
