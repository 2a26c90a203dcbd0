"""Does davar give every student the same grade every time? (issue 13)  Grades a sample corpus N times, each
time from scratch (a fresh output folder: no cache, no snapshot), and prints one row per student: the
scores and the test outcomes seen across the runs.  Exit status 1 when any student got two different ones.

    python bench/reproducible.py iust-dl-1403-hw2 --times 20
    python bench/reproducible.py iust-dl-1402-hw3 --times 3 --workers 2

Like bench/run.py it is a script, not a test (`make test` grades each sample corpus once and checks each
expected grade); what it measures goes into an issue's note.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from davar import commands
from davar.results import SubmissionResult

ROOT = Path(__file__).resolve().parent.parent


def fingerprint(result: SubmissionResult) -> tuple:
    """What must not change from one grading to the next: status, score and each test's outcome and points."""
    return (result.status, result.score, tuple((q.id, t.id, t.outcome, t.points)
                                               for q in result.questions for t in q.tests))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", help="an assignment of graders/ whose submissions/<id>/ is graded")
    parser.add_argument("--times", type=int, default=20, help="how many gradings (default: 20)")
    parser.add_argument("--workers", type=int, default=None, help="parallel slots (default: davar's)")
    args = parser.parse_args()
    seen: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    scores: dict[str, set[float]] = collections.defaultdict(set)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="davar-reproducible-") as tmp:
        for i in range(args.times):
            results = commands.grade(assignment=str(ROOT / "graders" / args.assignment),
                                     path=ROOT / "submissions" / args.assignment, out=Path(tmp) / str(i),
                                     workers=args.workers)
            for r in results:
                seen[r.student][fingerprint(r)] += 1
                scores[r.student].add(r.score)
            Console(stderr=True).print(f"grading {i + 1}/{args.times} done")
    table = Table(title=f"{args.assignment}: {args.times} gradings from scratch")
    for column in ("student", "scores seen", "distinct results", "same every time"):
        table.add_column(column)
    for student in sorted(seen):
        table.add_row(student, ", ".join(f"{s:g}" for s in sorted(scores[student])), str(len(seen[student])),
                      "yes" if len(seen[student]) == 1 else "[red]NO[/red]")
    Console().print(table)
    differing = sorted(s for s in seen if len(seen[s]) > 1)
    print(json.dumps({"assignment": args.assignment, "times": args.times, "students": len(seen),
                      "differing": differing, "wall_s": round(time.monotonic() - started)}))
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
