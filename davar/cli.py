"""`davar` command line: it parses arguments, calls one library function (davar/commands.py,
davar/authoring/masters.py, davar/authoring/scaffold.py) and prints what it returns.

    davar grade ASSIGNMENT PATH [--workers N]    TA: execute + grade every submission, reports, gradebook
    davar check ASSIGNMENT NOTEBOOK [--lang fa]  student: public graders, a table, exit 1 if one fails
    davar audit-key ASSIGNMENT                   TA: reference solution must score 100 %; official key vs reference
    davar new ASSIGNMENT                         TA: scaffold a working assignment to start from
    davar assign ASSIGNMENT [--check]            TA: templates, reference and sample notebooks from the masters
    davar data ASSIGNMENT                        build the offline stand-in datasets
    davar scores import ASSIGNMENT FILE.csv      TA: manual grades into the gradebook (nothing re-runs)
    davar scores list|delete ASSIGNMENT          TA: the manual scores stored; delete one student's (--student)
    davar report ASSIGNMENT [--format html,pdf,…] TA: reports, dashboard and exports from the gradebook alone
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import rich.markup
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from davar import assignment as assignment_mod
from davar import catalogue, commands
from davar.authoring import masters, scaffold
from davar.book import scores
from davar.checks import show
from davar.errors import DavarError
from davar.grading import batch
from davar.reporting import report
from davar.results import STATUSES, SubmissionResult
from davar.run import sandbox

console = Console(stderr=True)


def _grade(args: argparse.Namespace) -> int:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[running]}"))
    counts: dict[str, int] = {}
    results_skipped: list[int] = []
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(Path(args.assignment).name, total=None, running="")

        def start(todo: int, skipped: int) -> None:
            results_skipped.append(skipped)
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

        results = commands.grade(
            assignment=args.assignment, path=args.path, out=args.out, sandbox_level=args.sandbox,
            allow_weak_sandbox=args.allow_weak_sandbox, profile=args.profile, data_root=args.data,
            workers=args.workers, gpus=args.gpus, per_gpu=args.per_gpu, force=args.force, cluster=args.cluster,
            trust_file_times=args.trust_file_times, on_start=start, on_result=finished, on_running=running)
    _print_summary(results, skipped=sum(results_skipped), out=args.out, lang=args.lang)
    return 0


def _print_summary(results: list[SubmissionResult], *, skipped: int, out: Path, lang: str) -> None:
    """What a batch did, on stdout, in the TA's language: every folder by status, what was skipped or
    restored from a snapshot, and where the class dashboard and grades are."""
    words = report.labels()
    by_status = {s: sum(r.status == s for r in results) for s in STATUSES}
    restored = sum(any(m.key == "snapshot_regraded" for m in r.messages) for r in results)
    assignment_id = results[0].assignment if results else ""
    out_dir = (out / assignment_id).resolve()
    print(catalogue.text("grade_summary", lang, {
        "assignment": assignment_id, "count": len(results), "skipped": skipped, "restored": restored,
        "statuses": ", ".join(f"{words[f'status_name.{s}'][lang]} {n}" for s, n in by_status.items() if n)}))
    if undated := sum(r.time_source == "file_copied" for r in results):
        print(catalogue.text("grade_summary_undated", lang, {"count": undated}))
    print(catalogue.text("grade_outputs", lang, {
        "dashboard": out_dir / ("index.html" if lang == "fa" else "index.en.html"),
        "grades": out_dir / "grades.csv", "reports": out_dir}))


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
    try:
        root = assignment_mod.course_root()
    except DavarError:  # no course yet: this folder becomes one
        root = Path.cwd()
    for path in scaffold.new(args.assignment, root=root):
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
    if reports.awaiting_ta and "moodle" in args.format:
        console.print(f"[yellow]Moodle grade left empty until a TA grades their manual questions "
                      f"(`davar scores import`): {', '.join(reports.awaiting_ta)}[/]")
    return 0


def _scores(args: argparse.Namespace) -> int:
    """`davar scores import|list|delete`: every sentence from the catalogue, in --lang; a refusal
    (`ScoresError`, a key and values) is printed in that language too, with exit 2."""
    lang = args.lang
    try:
        if args.action == "import":
            imported = commands.import_scores(assignment=args.assignment, file=args.file, out=args.out)
            console.print(catalogue.text("scores_imported", lang, {"count": imported.count,
                                                                   "gradebook": str(imported.gradebook)}))
        elif args.action == "list":
            stored = commands.list_scores(assignment=args.assignment, out=args.out, student=args.student)
            seen: set[tuple[str, str]] = set()
            for s in stored:
                variant = "replaced" if (s.student, s.question) in seen else "counted"
                seen.add((s.student, s.question))
                print(catalogue.text("scores_list_entry", lang, {
                    "student": s.student, "question": s.question, "points": s.points, "imported_at": s.imported_at,
                    "source": s.source, "comment": s.comment}, variant=variant).rstrip())
            if not stored:
                console.print(catalogue.text("scores_list_empty", lang, {"assignment": Path(args.assignment).name}))
        else:
            count = commands.delete_scores(assignment=args.assignment, student=args.student, question=args.question,
                                           out=args.out)
            console.print(catalogue.text("scores_deleted", lang, {"count": count, "student": args.student}))
    except scores.ScoresError as e:
        console.print(f"[red]davar: {rich.markup.escape(e.text(lang))}[/]")
        return 2
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
    parser.add_argument("--course", type=Path, help="the course folder (default: the nearest folder holding "
                        "davar.toml, from here upward; or $DAVAR_COURSE)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("grade", help="grade every submission under PATH")
    p.add_argument("assignment")
    p.add_argument("path", type=Path)
    p.add_argument("--out", type=Path, default=Path("reports"))
    p.add_argument("--sandbox", default="strict", choices=sandbox.LEVELS)
    p.add_argument("--allow-weak-sandbox", action="store_true")
    p.add_argument("--profile", default="standin")
    p.add_argument("--data", type=Path)
    p.add_argument("--workers", type=_at_least_one, help="parallel sandbox slots, 1 or more (default: from cores "
                                                          "and memory)")
    p.add_argument("--force", action="store_true", help="regrade submissions already in the gradebook")
    p.add_argument("--trust-file-times", action="store_true",
                   help="date plain folders by their files' times even when all students' times are within two "
                        "minutes of each other, as after `cp -r` (default: then no submission time, no late penalty)")
    p.add_argument("--cluster", help="grade on Dask: `local` (a LocalCluster of --workers) or tcp://HOST:PORT")
    p.add_argument("--gpus", type=lambda v: [g for g in v.split(",") if g], default=[],
                   help="CUDA devices for the slots, e.g. 0,1 (each slot sees one; replaces --workers)")
    p.add_argument("--per-gpu", type=_at_least_one, default=1, help="slots per GPU, 1 or more (default 1)")
    p.add_argument("--lang", default=os.environ.get("DAVAR_LANG", "en"), choices=catalogue.LANGS,
                   help="the language of the summary and of errors (default $DAVAR_LANG or en)")

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

    p = sub.add_parser("new", help="scaffold a working assignment (question, master notebook, grader, sample) in "
                                   "the course, or start a course here (davar.toml) when there is none")
    p.add_argument("assignment", help="its id, e.g. iust-dl-1405-hw1")

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
    p.add_argument("--format", default=("html",), type=_formats,
                   help=f"comma-separated: {','.join(commands.REPORT_FORMATS)} (default html)")
    p.add_argument("--release-hidden", action=argparse.BooleanOptionalAction, default=None,
                   help="show hidden tests' names and messages (default: the assignment's [visibility])")
    p.add_argument("--moodle-worksheet", type=Path, help="the grading worksheet downloaded from Moodle")
    p.add_argument("--moodle-key", default="ID number", help="its column holding the student id")

    p = sub.add_parser("scores", help="manual grades a TA enters: import, list, delete")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("import", help="a CSV of manual grades into the gradebook (the whole file or nothing)")
    a.add_argument("assignment")
    a.add_argument("file", type=Path, help="CSV: student,question,points,comment,lang")
    b = actions.add_parser("list", help="the manual scores stored, the latest first per student and question")
    b.add_argument("assignment")
    b.add_argument("--student", help="only this student's")
    c = actions.add_parser("delete", help="delete a student's manual scores (kept in the history, no longer counted)")
    c.add_argument("assignment")
    c.add_argument("--student", required=True)
    c.add_argument("--question", help="only this question's (default: all of the student's)")
    for q in (a, b, c):
        q.add_argument("--out", type=Path, default=Path("reports"), help="where the gradebook is (as for grade)")
        q.add_argument("--lang", default="en", choices=catalogue.LANGS, help="the language of what is printed")

    args = parser.parse_args(argv)
    course = os.environ.get("DAVAR_COURSE")
    if args.course:  # for this command and the workers it starts, as $DAVAR_COURSE would
        os.environ["DAVAR_COURSE"] = str(args.course.resolve())
    try:
        return HANDLERS[args.command](args)
    except DavarError as e:
        sentence = rich.markup.escape(_sentence(e, getattr(args, "lang", None)))  # paths may hold "[...]"
        console.print(f"[red]davar: {sentence}[/]", highlight=False, soft_wrap=True)
        return 2
    finally:  # main() is also called in-process (tests, a TA's script): leave the environment as it was
        if course is None:
            os.environ.pop("DAVAR_COURSE", None)
        else:
            os.environ["DAVAR_COURSE"] = course


def _sentence(error: DavarError, lang: str | None) -> str:
    """What went wrong, as a sentence: a keyed error (a refused submission, ...) in the catalogue's words
    (`--lang`, else $DAVAR_LANG, else English), any other as its own message."""
    if key := getattr(error, "key", None):
        lang = lang or os.environ.get("DAVAR_LANG", "en")
        values = getattr(error, "values", {})
        return catalogue.render(catalogue.message(key, values), lang if lang in catalogue.LANGS else "en")
    return str(error)


def _at_least_one(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not 1 or more")
    return number


def _formats(value: str) -> tuple[str, ...]:
    """`--format "csv, xlsx"` as `csv,xlsx`: spaces around the commas are fine."""
    return tuple(f.strip() for f in value.split(",") if f.strip())


if __name__ == "__main__":
    sys.exit(main())
