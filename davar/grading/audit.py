"""`davar audit-key`: is the assignment's truth consistent before students are graded against it?

1. The reference solution (`reference/<id>/`, the notebooks the assignment names) is graded like a
   submission: every automatic test must pass (manual questions do not count).
2. The official answer key copied into `assignment.toml` (`[key]`, mistakes included) is compared
   with what `reference/<id>/reference.py:key_values()` computes with the frameworks; every
   disagreement is listed.  Graders check against the reference, never against the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from davar.assignment import Assignment
from davar.grading.grade import grade_submission
from davar.intake import inbox
from davar.results import Level, SubmissionResult


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyCheck:
    key: str
    official: Any
    reference: Any  # None when the reference computes no value for the key

    @property
    def agrees(self) -> bool:
        return self.reference is not None and values_agree(self.official, self.reference)


@dataclass(frozen=True, slots=True, kw_only=True)
class Audit:
    result: SubmissionResult
    checks: tuple[KeyCheck, ...]

    @property
    def automatic_points(self) -> tuple[float, float]:
        """(points earned, points possible) over the automatically graded tests."""
        tests = [t for q in self.result.questions if not q.manual for t in q.tests]
        return sum(t.points for t in tests), sum(t.max_points for t in tests)

    @property
    def reference_complete(self) -> bool:
        earned, possible = self.automatic_points
        return self.result.status == "graded" and possible > 0 and earned == possible

    @property
    def disagreements(self) -> tuple[KeyCheck, ...]:
        return tuple(c for c in self.checks if not c.agrees)


def values_agree(official: Any, reference: Any) -> bool:
    """Numbers and nested lists agree within float tolerance and with the same shape; others exactly."""
    try:
        a, b = np.asarray(official, dtype=float), np.asarray(reference, dtype=float)
    except (TypeError, ValueError):
        return official == reference
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-9))


def check_key(assignment: Assignment) -> tuple[KeyCheck, ...]:
    if not assignment.key:
        return ()
    computed = assignment.reference_module().key_values()
    return tuple(KeyCheck(key=k, official=v, reference=_plain(computed.get(k))) for k, v in assignment.key.items())


def _plain(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else value


def audit(assignment: Assignment, *, level: Level, profile: str = "standin", data_root: Path | None = None) -> Audit:
    submission = inbox.collect(assignment.reference_dir, assignment)[0]
    result = grade_submission(submission, assignment, level=level, profile=profile, data_root=data_root)
    return Audit(result=result, checks=check_key(assignment))
