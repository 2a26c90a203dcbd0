"""`davar` command line: it parses arguments, calls one library function (davar/commands.py,
davar/authoring/masters.py, davar/authoring/scaffold.py) and prints what it returns.

    davar grade ASSIGNMENT PATH [--workers N]    TA: execute + grade every submission, reports, gradebook
    davar check ASSIGNMENT NOTEBOOK [--lang fa]  student: public graders, a table, exit 1 if one fails
    davar audit-key ASSIGNMENT                   TA: reference solution must score 100 %; official key vs reference
    davar new ASSIGNMENT                         TA: scaffold a working assignment to start from
    davar assign ASSIGNMENT [--check]            TA: templates, reference and sample notebooks from the masters
    davar data ASSIGNMENT                        build the offline stand-in datasets
    davar scores import ASSIGNMENT FILE.csv      TA: manual grades into the gradebook (nothing re-runs)
    davar report ASSIGNMENT [--format html,pdf,…] TA: reports, dashboard and exports from the gradebook alone
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from davar import assignment as assignment_mod
from davar import catalogue, commands
from davar.authoring import masters, scaffold
from davar.checks import show
from davar.errors import DavarError
from davar.grading import batch
from davar.reporting import report
from davar.results import SubmissionResult
from davar.run import sandbox

console = Console(stderr=True)


def _grade(args: argparse.Namespace) -> int:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[running]}"))
    counts: dict[str, int] = {}
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(Path(args.assignment).name, total=None, running="")

        def start(todo: int, skipped: int) -> None:
            progress.update(task, total=todo)
            if skipped:
                console.print(f"{skipped} already graded with these graders and data (--force regrades them)")

        def finished(result: SubmissionResult) -> None:
            counts[result.status] = counts.get(result.status, 0) + 1
            progress.console.print(f"{result.student}: {result.status} {result.score:g}/{result.max_score:g}")
            tally = " ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            progress.update(task, advance=1, description=f"{result.assignment} · {tally}")

        def running(now: list[batch.Running]) -> None:
            slowest = min(now, key=lambda r: r.since, default=None)
            progress.update(task, running=f"{len(now)} running, slowest {slowest.student} "
                            f"{time.monotonic() - slowest.since:.0f} s" if slowest else "")

        commands.grade(assignment=args.assignment, path=args.path, out=args.out, sandbox_level=args.sandbox,
                       allow_weak_sandbox=args.allow_weak_sandbox, profile=args.profile, data_root=args.data,
                       workers=args.workers, gpus=args.gpus, per_gpu=args.per_gpu, force=args.force,
                       cluster=args.cluster, on_start=start, on_result=finished, on_running=running)
    console.print(f"reports: {(args.out / Path(args.assignment).name).resolve()}")
    return 0


def _check(args: argparse.Namespace) -> int:
    level = sandbox.choose_level("auto")
    if level != "strict":
        console.print(f"[yellow]{catalogue.text('sandbox_weak', args.lang, {'level': level})}[/]")
    result = commands.check(assignment=args.assignment, notebook=args.notebook, level=level, out=args.report,
                            profile=args.profile, data_root=args.data)
    if args.json:
        print(result.to_json())
    else:
        _print_table(result, args.lang, assignment_mod.find(args.assignment).messages)
    ok = result.status == "graded" and all(t.outcome in ("passed", "manual") for q in result.questions for t in q.tests)
    return 0 if ok else 1


def _audit_key(args: argparse.Namespace) -> int:
    found = commands.audit_key(assignment=args.assignment, sandbox_level=args.sandbox,
                               allow_weak_sandbox=args.allow_weak_sandbox, profile=args.profile, data_root=args.data)
    lang, out = args.lang, Console()
    earned, possible = found.automatic_points
    _print_table(found.result, lang, assignment_mod.find(args.assignment).messages)
    out.print(catalogue.text("audit_reference", lang, {"earned": earned, "possible": possible},
                             variant="pass" if found.reference_complete else "fail"))
    for check in found.disagreements:
        key = "audit_key_missing" if check.reference is None else "audit_key_disagrees"
        out.print(catalogue.text(key, lang, {"key": check.key, "official": show(check.official),
                                             "reference": show(check.reference)}))
    if found.checks and not found.disagreements:
        out.print(catalogue.text("audit_key_agrees", lang, {"count": len(found.checks)}))
    return 0 if found.reference_complete else 1


def _assign(args: argparse.Namespace) -> int:
    written = masters.assign(assignment_mod.find(args.assignment), public=args.public, check=args.check)
    changed = [w.path for w in written if w.changed]
    for path in changed:
        print(path)
    console.print(f"{len(written)} notebooks, {len(changed)} {'differ' if args.check else 'written'}")
    return 1 if args.check and changed else 0


def _new(args: argparse.Namespace) -> int:
    for path in scaffold.new(args.assignment, root=args.root):
        print(path)
    console.print(f"next: davar assign {args.assignment} && davar audit-key {args.assignment} && "
                  f"davar grade {args.assignment} submissions/{args.assignment}")
    return 0


def _data(args: argparse.Namespace) -> int:
    print(commands.build_data(assignment=args.assignment, data_root=args.data))
    return 0


def _report(args: argparse.Namespace) -> int:
    reports = commands.report_all(assignment=args.assignment, out=args.out, formats=args.format,
                                  release_hidden=args.release_hidden, moodle_worksheet=args.moodle_worksheet,
                                  moodle_key=args.moodle_key)
    for path in reports.written:
        print(path)
    if reports.not_in_moodle:
        console.print(f"[yellow]not in the Moodle worksheet (left out): {', '.join(reports.not_in_moodle)}[/]")
    return 0


def _scores(args: argparse.Namespace) -> int:
    imported = commands.import_scores(assignment=args.assignment, file=args.file, out=args.out)
    console.print(f"{imported.count} manual score(s) imported into {imported.gradebook}")
    if imported.not_graded:
        console.print(f"[yellow]not graded yet (kept for when they are): {', '.join(imported.not_graded)}[/]")
    return 0


#: Each subcommand's handler: it calls one library function (davar/commands.py) and prints.
HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "grade": _grade, "check": _check, "audit-key": _audit_key, "new": _new, "assign": _assign, "data": _data,
    "report": _report, "scores": _scores,
}


def _print_table(result: SubmissionResult, lang: str, messages: Mapping[str, Any]) -> None:
    """The result as a table in `lang`; its messages rendered now (`messages`: the assignment's own)."""
    words = report.labels()
    out = Console()
    table = Table(title=f"{result.assignment} · {result.student}")
    for key in ("questions", "test", "outcome", "points", "details"):
        table.add_column(words[key][lang])
    for q in result.questions:
        for t in q.tests:
            msg = " ".join(catalogue.render(m, lang, messages) for m in t.messages)
            points = catalogue.format_number(t.points, lang, "points")
            max_points = catalogue.format_number(t.max_points, lang, "points")
            table.add_row(q.id, t.title.get(lang, t.id), words[f"outcome_name.{t.outcome}"][lang],
                          f"{points}/{max_points}", msg)
    out.print(table)
    for m in result.messages:
        out.print(catalogue.render(m, lang, messages))
    status = words[f"status_name.{result.status}"][lang]
    score = catalogue.format_number(result.score, lang, "points")
    max_score = catalogue.format_number(result.max_score, lang, "points")
    out.print(f"{status}: {score}/{max_score}")


def main(argv: list[str] | None = None) -> int:
    import logging

    logging.getLogger("papermill").setLevel(logging.CRITICAL)  # cell errors and timeouts are in the results
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(prog="davar", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("grade", help="grade every submission under PATH")
    p.add_argument("assignment")
    p.add_argument("path", type=Path)
    p.add_argument("--out", type=Path, default=Path("reports"))
    p.add_argument("--sandbox", default="strict", choices=sandbox.LEVELS)
    p.add_argument("--allow-weak-sandbox", action="store_true")
    p.add_argument("--profile", default="standin")
    p.add_argument("--data", type=Path)
    p.add_argument("--workers", type=int, help="parallel sandbox slots (default: from cores and memory)")
    p.add_argument("--force", action="store_true", help="regrade submissions already in the gradebook")
    p.add_argument("--cluster", help="grade on Dask: `local` (a LocalCluster of --workers) or tcp://HOST:PORT")
    p.add_argument("--gpus", type=lambda v: [g for g in v.split(",") if g], default=[],
                   help="CUDA devices for the slots, e.g. 0,1 (each slot sees one; replaces --workers)")
    p.add_argument("--per-gpu", type=int, default=1, help="slots per GPU (default 1)")

    p = sub.add_parser("check", help="check your notebook with the public graders")
    p.add_argument("assignment")
    p.add_argument("notebook", type=Path)
    p.add_argument("--lang", default="en", choices=catalogue.LANGS)
    p.add_argument("--json", action="store_true", help="print the result JSON")
    p.add_argument("--report", type=Path, help="also write report.fa.html and report.en.html here")
    p.add_argument("--profile", default="standin")
    p.add_argument("--data", type=Path)

    p = sub.add_parser("audit-key", help="check the reference solution and the official answer key")
    p.add_argument("assignment")
    p.add_argument("--lang", default="en", choices=catalogue.LANGS)
    p.add_argument("--sandbox", default="strict", choices=sandbox.LEVELS)
    p.add_argument("--allow-weak-sandbox", action="store_true")
    p.add_argument("--profile", default="standin")
    p.add_argument("--data", type=Path)

    p = sub.add_parser("new", help="scaffold a working assignment (question, master notebook, grader, sample)")
    p.add_argument("assignment", help="its id, e.g. iust-dl-1405-hw1")
    p.add_argument("--root", type=Path, default=Path.cwd(), help="the course folder (default: here)")

    p = sub.add_parser("assign", help="write templates, reference and sample notebooks from the master notebooks")
    p.add_argument("assignment")
    p.add_argument("--public", type=Path, help="also write the student notebooks into this folder")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook on disk differs")

    p = sub.add_parser("data", help="build the offline stand-in datasets of an assignment")
    p.add_argument("assignment")
    p.add_argument("--data", type=Path)

    p = sub.add_parser("report", help="reports, class dashboard and exports from the gradebook alone")
    p.add_argument("assignment")
    p.add_argument("--out", type=Path, default=Path("reports"), help="where the gradebook is (as for grade)")
    p.add_argument("--format", default="html", type=lambda v: tuple(f for f in v.split(",") if f),
                   help=f"comma-separated: {','.join(commands.REPORT_FORMATS)} (default html)")
    p.add_argument("--release-hidden", action=argparse.BooleanOptionalAction, default=None,
                   help="show hidden tests' names and messages (default: the assignment's [visibility])")
    p.add_argument("--moodle-worksheet", type=Path, help="the grading worksheet downloaded from Moodle")
    p.add_argument("--moodle-key", default="ID number", help="its column holding the student id")

    p = sub.add_parser("scores", help="manual grades a TA enters")
    p.add_argument("action", choices=["import"])
    p.add_argument("assignment")
    p.add_argument("file", type=Path, help="CSV: student,question,points,comment,lang")
    p.add_argument("--out", type=Path, default=Path("reports"), help="where the gradebook is (as for grade)")

    args = parser.parse_args(argv)
    try:
        return HANDLERS[args.command](args)
    except DavarError as e:
        console.print(f"[red]davar: {e}[/]")
        return 2


if __name__ == "__main__":
    sys.exit(main())
