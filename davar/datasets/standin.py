"""Bookkeeping shared by the offline stand-in generators.

A generator writes its dataset's folders under an assignment's data root and leaves a marker
``.built-<name>`` holding its version.  It rebuilds when the marker names another version, and it
refuses to touch folders it did not build (no marker), so a TA's real data is never replaced.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from davar.errors import DavarError


def _marker(root: Path, name: str) -> Path:
    return Path(root) / f".built-{name}"


def is_built(root: Path, name: str) -> bool:
    """Whether ``root`` holds ``name`` as davar's stand-in (its marker is there)."""
    return _marker(root, name).is_file()


def needs_build(root: Path, name: str, version: str, *folders: Path) -> bool:
    """False when ``folders`` already hold this version; otherwise empty them (ours only) and say True."""
    marker = _marker(root, name)
    if marker.is_file() and marker.read_text("utf-8").strip() == version and all(f.is_dir() for f in folders):
        return False
    if not marker.is_file() and any(f.exists() for f in folders):
        raise DavarError("standin_not_ours", root=str(root), dataset=name, marker=marker.name)
    marker.unlink(missing_ok=True)
    for folder in folders:
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    return True


def mark_built(root: Path, name: str, version: str) -> None:
    _marker(root, name).write_text(version + "\n", "utf-8")
