"""Run `davar grade` as the driver of a batch and report the driver's own memory, as JSON on stdout.

    python bench/rss_driver.py ASSIGNMENT_DIR SUBMISSIONS OUT --workers 2 --level strict

The resident set of this process (VmRSS in /proc/self/status) is read each time a result has been
written to the gradebook (`davar.book.gradebook.add` is wrapped to do it), so the curve is memory against
results: flat means the driver does not keep what it has already handed on.  The peak is VmHWM, the
kernel's own high-water mark, which also covers what `davar grade` does after the last result (the
dashboard and grades.csv from the whole gradebook).  The workers and the sandboxed kernels are other
processes: this is the process a TA keeps running, which collects the results, writes the reports
and holds the gradebook.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("assignment")
    parser.add_argument("submissions", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--level", default="strict")
    args = parser.parse_args()

    from davar import commands
    from davar.book import gradebook

    after_imports = _status_mb("VmRSS")
    curve: list[float] = []  # VmRSS after each result
    add = gradebook.add

    def add_and_measure(*a, **kw):
        written = add(*a, **kw)
        curve.append(_status_mb("VmRSS"))
        return written

    gradebook.add = add_and_measure
    started = time.monotonic()
    results = commands.grade(assignment=args.assignment, path=args.submissions, out=args.out, sandbox_level=args.level,
                        allow_weak_sandbox=True, workers=args.workers)
    wall = time.monotonic() - started
    at = {f"rss_at_{q}pct_mb": round(curve[min(len(curve) - 1, max(0, len(curve) * q // 100 - 1))], 1)
          for q in (1, 25, 50, 75, 100)} if curve else {}
    print(json.dumps({
        "wall_s": round(wall, 2), "graded": sum(r.status == "graded" for r in results), "count": len(results),
        "peak_mb": round(_status_mb("VmHWM"), 1), "after_imports_mb": round(after_imports, 1), **at}))


if __name__ == "__main__":
    main()
