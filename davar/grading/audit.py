"""`davar audit-key`: is the assignment's truth consistent before students are graded against it?

1. The reference solution (`reference/<id>/`, the notebooks the assignment names) is graded like a
   submission: every automatic test must pass (manual questions do not count).
2. The official answer key copied into `assignment.toml` (`[key]`, mistakes included) is compared
   with what `reference/<id>/reference.py:key_values()` computes with the frameworks; every
   disagreement is listed.  Graders check against the reference, never against the key.  Where
   `reference.py` also has `key_sums()` (a total of the key -> the keys of its parts), each total the key
   writes is checked against the sum of the key's own parts, whatever the reference says.

Before either, the grading environment must hold what the assignment's `[environment]` lists (installed
at setup, never while grading): each package present, at a version its requirement accepts, and
importable (`check_environment`); else the audit stops with an `environment_incomplete` error naming
each problem, since the reference solution would only fail on it less clearly.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from davar import catalogue
from davar.assignment import Assignment
from davar.errors import DavarError
from davar.grading.grade import grade_submission
from davar.intake import inbox
from davar.results import Level, Message, SubmissionResult

IMPORT_TIMEOUT_S = 600  # importing every package once (tensorflow alone takes seconds)


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyCheck:
    key: str
    official: Any
    reference: Any  # None when the reference computes no value for the key

    @property
    def agrees(self) -> bool:
        return self.reference is not None and values_agree(self.official, self.reference)


@dataclass(frozen=True, slots=True, kw_only=True)
class KeySum:
    """A total the official key writes, and the sum of the parts it writes for it (`key_sums()`)."""

    key: str
    parts: tuple[str, ...]
    official: Any
    parts_sum: float

    @property
    def adds_up(self) -> bool:
        return values_agree(self.official, self.parts_sum)


@dataclass(frozen=True, slots=True, kw_only=True)
class Audit:
    result: SubmissionResult
    checks: tuple[KeyCheck, ...]
    sums: tuple[KeySum, ...] = ()

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

    @property
    def inconsistent_sums(self) -> tuple[KeySum, ...]:
        return tuple(s for s in self.sums if not s.adds_up)


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


def check_sums(assignment: Assignment) -> tuple[KeySum, ...]:
    """Each total of `reference.py:key_sums()` that the key writes, with the sum of the key's own parts (a total
    whose parts the key does not all write is left out)."""
    sums = getattr(assignment.reference_module(), "key_sums", None) if assignment.key else None
    if sums is None:
        return ()
    found = []
    for total, parts in sums().items():
        values: list[Any] = [assignment.key.get(p) for p in parts]
        if total in assignment.key and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            found.append(KeySum(key=total, parts=tuple(parts), official=assignment.key[total],
                                parts_sum=sum(values)))
    return tuple(found)


def _plain(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else value


def check_environment(assignment: Assignment) -> tuple[Message, ...]:
    """What the grading environment (this Python: the kernels run it) lacks of the assignment's
    `[environment]`: a package not installed, installed at a version its requirement does not accept, or
    one that does not import (tried in a fresh process, so that a package built for another torch, say,
    fails here and not in a student's notebook).  Requirements whose environment marker does not apply
    here are skipped."""
    env = assignment.environment
    problems: list[Message] = []
    modules: dict[str, str] = {}  # package -> the module to import
    explicit = {canonicalize_name(k): v for k, v in env.imports.items()}
    for spec in env.packages:
        req = Requirement(spec)  # checked when assignment.toml was loaded
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            problems.append(catalogue.message("environment_missing", {"package": req.name, "requirement": spec}))
            continue
        if not req.specifier.contains(installed, prereleases=True):
            problems.append(catalogue.message("environment_version", {"package": req.name, "installed": installed,
                                                                      "requirement": spec}))
            continue
        modules[req.name] = explicit.get(canonicalize_name(req.name)) or import_name(req.name)
    for package, (module, error) in _import_errors(modules).items():
        problems.append(catalogue.message("environment_broken", {"package": package, "module": module,
                                                                 "error": error}))
    return tuple(problems)


def import_name(package: str) -> str:
    """The module an installed package is imported as: the one public top-level module it provides
    (`sklearn` for scikit-learn, `PIL` for pillow, `cv2` for opencv-python-headless), else its name with
    "_" for "-" (`tqdm`; `torch`, which provides three).  `[environment] imports` names it where neither fits."""
    provided = sorted(m for m in _provided().get(canonicalize_name(package), ())
                      if m.isidentifier() and not m.startswith("_"))
    own = canonicalize_name(package).replace("-", "_")
    return provided[0] if len(provided) == 1 and own not in provided else own


@cache
def _provided() -> dict[str, list[str]]:
    """Installed package (canonical name) -> the top-level modules it provides."""
    out: dict[str, list[str]] = {}
    for module, packages in metadata.packages_distributions().items():
        for package in packages:
            out.setdefault(canonicalize_name(package), []).append(module)
    return out


_IMPORT_EACH = """
import importlib, json, sys
errors = {}
for module in sys.argv[1:]:
    try:
        importlib.import_module(module)
    except BaseException as e:
        errors[module] = f"{type(e).__name__}: {e}"[:300]
print(json.dumps(errors))
"""


def _import_errors(modules: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Package -> (module, error) for each module of `modules` that a fresh Python cannot import."""
    if not modules:
        return {}
    try:
        done = subprocess.run([sys.executable, "-c", _IMPORT_EACH, *modules.values()], capture_output=True,
                              text=True, timeout=IMPORT_TIMEOUT_S)
    except (OSError, subprocess.SubprocessError) as e:  # it could not start, or hung
        return {p: (m, str(e)[-300:] or type(e).__name__) for p, m in modules.items()}
    try:
        errors = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):  # an import crashed the process
        detail = (done.stderr.strip() or f"exit status {done.returncode}")[-300:]
        errors = {m: detail for m in modules.values()}
    return {p: (m, errors[m]) for p, m in modules.items() if m in errors}


def audit(assignment: Assignment, *, level: Level, profile: str = "standin", data_root: Path | None = None) -> Audit:
    """The environment checked (`check_environment`: an error naming what it lacks), then the reference
    graded and the key compared."""
    if missing := check_environment(assignment):
        raise DavarError("environment_incomplete", missing, assignment=assignment.id)
    submission = inbox.collect(assignment.reference_dir, assignment)[0]
    result = grade_submission(submission, assignment, level=level, profile=profile, data_root=data_root)
    return Audit(result=result, checks=check_key(assignment), sums=check_sums(assignment))
