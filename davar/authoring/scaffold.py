"""`davar new ASSIGNMENT`: a complete, working assignment to start from.

One question (`softmax`), one master notebook with one solution block, one grader, the reference it
compares with, and three samples (mutations of the reference) with their expected grades: a mistake,
right work in another shape, and an answer that tries to get the points without the work.  It passes
`davar assign`, `davar audit-key` and `davar grade` as it is, so a TA changes a working assignment
instead of assembling one.  The files are `davar/authoring/new/*` with `${id}` and `${stem}` filled in.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from string import Template

from davar.assignment import COURSE_MARKER
from davar.errors import AuthoringError

VALID_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")
SAMPLES = ("wrong_axis", "other_shape", "uniform_guess")


def new(assignment_id: str, *, root: Path) -> list[Path]:
    """Write the scaffold of `assignment_id` under the course folder `root` (which becomes a course, with
    its `davar.toml`, if it was not one); refuses to overwrite."""
    if not VALID_ID.fullmatch(assignment_id):
        raise AuthoringError("new_bad_id", assignment=assignment_id)
    stem = assignment_id.upper().replace("-", "_")
    targets = {
        "assignment.toml": root / "graders" / assignment_id / "assignment.toml",
        "test_q1.py": root / "graders" / assignment_id / "test_q1.py",
        "master.py": root / "reference" / assignment_id / f"{stem}.py",
        "reference.py": root / "reference" / assignment_id / "reference.py",
        **{f"{sample}.{name}": root / "submissions" / assignment_id / sample / name
           for sample in SAMPLES for name in ("mutations.toml", "expected.toml")},
    }
    if existing := [p for p in targets.values() if p.exists()]:
        raise AuthoringError("new_exists", path=str(existing[0]))
    templates = files("davar.authoring") / "new"
    marker = root / COURSE_MARKER
    if not marker.exists():
        marker.write_text(templates.joinpath(COURSE_MARKER).read_text("utf-8"), encoding="utf-8")
        written = [marker]
    else:
        written = []
    for name, path in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        text = Template(templates.joinpath(name).read_text("utf-8")).substitute(id=assignment_id, stem=stem)
        path.write_text(text, encoding="utf-8")
    return [*written, *targets.values()]
