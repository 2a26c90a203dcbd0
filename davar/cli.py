"""`davar` command line: a thin layer over keyword-only functions.

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
import dataclasses
import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import assignment as assignment_mod
from . import audit, authoring, batch, catalogue, gradebook, intake, report, sandbox, scaffold, scores
from .checks import show
from .errors import DavarError
from .grade import grade_submission
from .results import SubmissionResult

console = Console(stderr=True)


def build_data(*, assignment: str, data_root: Path | None = None) -> Path:
    """Build every stand-in dataset of an assignment (offline, idempotent; never over real data).
    Each `[datasets.<name>] standin = "module:function"` names a course module in `graders/<id>/`."""
    a = assignment_mod.find(assignment)
    with assignment_mod.course_imports(a):
        for spec in a.datasets.values():
            module, func = spec["standin"].split(":")
            getattr(importlib.import_module(module), func)(a.data_root(data_root))
    return a.data_root(data_root)


def grade(*, assignment: str, path: Path, out: Path = Path("reports"), sandbox_level: str = "strict",
          allow_weak_sandbox: bool = False, profile: str = "standin", data_root: Path | None = None,
          workers: int | None = None, gpus: Sequence[str] = (), per_gpu: int = 1, force: bool = False,
          cluster: str | None = None) -> list[SubmissionResult]:
    """Grade every submission under `path` (skipping those already graded with the same graders, data
    and files, unless `force`); write result.json + fa/en reports per student and the gradebook."""
    a = assignment_mod.find(assignment)
    level = sandbox.choose_level(sandbox_level, allow_weak=allow_weak_sandbox)
    if profile == "standin":
        build_data(assignment=assignment, data_root=data_root)
    subs = intake.collect(path, a)
    out_dir = out / a.id
    book = out_dir / "gradebook.sqlite"
    common = batch.assignment_digest(a, data_root=data_root, profile=profile)
    keys = {s.student: batch.cache_key(s, common) for s in subs}
    done = set() if force else gradebook.cache_keys(book, a.id)
    todo = [s for s in subs if keys[s.student] not in done]
    last = {} if force else {r.student: r for r in gradebook.latest(book, a.id)}
    snapshots = None if cluster else batch.Snapshots.load(
        out_dir / "snapshots", todo, last, batch.data_digest(a, data_root=data_root, profile=profile))
    workers = workers or batch.default_workers(a, profile)
    counts: dict[str, int] = {}
    if len(todo) < len(subs):
        console.print(f"{len(subs) - len(todo)} already graded with these graders and data (--force regrades them)")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[running]}"))
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(a.id, total=len(todo), running="")

        def show_running(running: list[batch.Running]) -> None:
            slowest = min(running, key=lambda r: r.since, default=None)
            progress.update(task, running=f"{len(running)} running, slowest {slowest.student} "
                            f"{time.monotonic() - slowest.since:.0f} s" if slowest else "")

        manual = gradebook.manual(book, a.id)
        for result in batch.grade_all(todo, a, level=level, workers=workers, profile=profile, data_root=data_root,
                                      gpus=gpus, per_gpu=per_gpu, cluster=cluster, snapshots=snapshots,
                                      on_running=show_running):
            student_dir = out_dir / result.student
            student_dir.mkdir(parents=True, exist_ok=True)
            shown = scores.merge(result, manual)  # as `davar report` would show it
            (student_dir / "result.json").write_text(shown.to_json(), encoding="utf-8")
            report.render_reports(shown, student_dir, assignment_title=a.title, course=a.course,
                                  release_hidden=a.visibility.get("release_hidden", False))
            harness_failed = any(m.key == "harness_error" for m in result.messages)
            gradebook.add(book, result, cache_key=None if harness_failed else keys[result.student])
            counts[result.status] = counts.get(result.status, 0) + 1
            progress.console.print(f"{result.student}: {result.status} {result.score:g}/{result.max_score:g}")
            tally = " ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            progress.update(task, advance=1, description=f"{a.id} · {tally}")
    report_all(assignment=str(a.directory), out=out, formats=("html", "csv"), students=False)  # dashboard, grades.csv
    wanted = {s.student for s in subs}
    return [r for r in gradebook.latest(book, a.id) if r.student in wanted]


def check(*, assignment: str, notebook: Path, lang: str = "en", as_json: bool = False,
          out: Path | None = None, profile: str = "standin", data_root: Path | None = None) -> int:
    """A student's self-check: public graders only; falls back to a weaker sandbox with a warning."""
    a = assignment_mod.find(assignment)
    level = sandbox.choose_level("auto")
    if level != "strict":
        console.print(f"[yellow]{catalogue.text('sandbox_weak', lang, {'level': level})}[/]")
    if profile == "standin":
        build_data(assignment=assignment, data_root=data_root)
    sub = intake.collect(notebook, a)[0]
    result = grade_submission(sub, a, level=level, profile=profile, data_root=data_root, public_only=True)
    if out:
        report.render_reports(result, out, assignment_title=a.title, course=a.course)
    if as_json:
        print(result.to_json())
    else:
        _print_table(result, lang)
    ok = result.status == "graded" and all(t.outcome in ("passed", "manual") for q in result.questions for t in q.tests)
    return 0 if ok else 1


def audit_key(*, assignment: str, lang: str = "en", sandbox_level: str = "strict", allow_weak_sandbox: bool = False,
              profile: str = "standin", data_root: Path | None = None) -> int:
    """Grade the reference solution (must be 100 %) and list where the official key disagrees with it."""
    a = assignment_mod.find(assignment)
    level = sandbox.choose_level(sandbox_level, allow_weak=allow_weak_sandbox)
    if profile == "standin":
        build_data(assignment=assignment, data_root=data_root)
    found = audit.audit(a, level=level, profile=profile, data_root=data_root)
    out = Console()
    earned, possible = found.automatic_points
    _print_table(found.result, lang)
    out.print(catalogue.text("audit_reference", lang, {"earned": earned, "possible": possible},
                             variant="pass" if found.reference_complete else "fail"))
    for check in found.disagreements:
        key = "audit_key_missing" if check.reference is None else "audit_key_disagrees"
        out.print(catalogue.text(key, lang, {"key": check.key, "official": show(check.official),
                                             "reference": show(check.reference)}))
    if found.checks and not found.disagreements:
        out.print(catalogue.text("audit_key_agrees", lang, {"count": len(found.checks)}))
    return 0 if found.reference_complete else 1


def assign(*, assignment: str, public: Path | None = None, check: bool = False) -> int:
    """Write the notebooks generated from the assignment's masters (or, with `check`, list those that
    differ from a fresh `davar assign` and exit 1)."""
    written = authoring.assign(assignment_mod.find(assignment), public=public, check=check)
    changed = [w.path for w in written if w.changed]
    for path in changed:
        print(path)
    console.print(f"{len(written)} notebooks, {len(changed)} {'differ' if check else 'written'}")
    return 1 if check and changed else 0


def new(*, assignment: str, root: Path) -> int:
    """Scaffold a new assignment in the course folder `root`."""
    for path in scaffold.new(assignment, root=root):
        print(path)
    console.print(f"next: davar assign {assignment} && davar audit-key {assignment} && "
                  f"davar grade {assignment} submissions/{assignment}")
    return 0


REPORT_FORMATS = ("html", "pdf", "csv", "xlsx", "moodle", "gradescope", "junit")


def report_all(*, assignment: str, out: Path = Path("reports"), formats: tuple[str, ...] = ("html",),
               release_hidden: bool | None = None, moodle_worksheet: Path | None = None,
               moodle_key: str = "ID number", students: bool = True) -> list[Path]:
    """Re-render from the gradebook alone: the latest result of each student with the TA's manual
    scores merged and the current late policy applied; nothing is executed.  Without `students`, only
    the class-level outputs (dashboard, exports)."""
    from . import dashboard, exports, late

    a = assignment_mod.find(assignment)
    if unknown := set(formats) - set(REPORT_FORMATS):
        raise DavarError(f"unknown format(s) {', '.join(sorted(unknown))}; choose from {', '.join(REPORT_FORMATS)}")
    out_dir = out / a.id
    book = out_dir / "gradebook.sqlite"
    if not book.is_file():
        raise DavarError(f"no gradebook at {book}: run `davar grade {a.id} …` first")
    release = a.visibility.get("release_hidden", False) if release_hidden is None else release_hidden
    manual = gradebook.manual(book, a.id)
    results = [scores.merge(dataclasses.replace(r, lateness=r.lateness and late.lateness(a, r.lateness.submitted_at)),
                            manual) for r in gradebook.latest(book, a.id)]
    written = []
    for r in results if students else ():
        student_dir = out_dir / r.student
        student_dir.mkdir(parents=True, exist_ok=True)
        (student_dir / "result.json").write_text(r.to_json(), encoding="utf-8")
        written += report.render_reports(r, student_dir, assignment_title=a.title, course=a.course,
                                         formats=[f for f in formats if f in report.FORMATS], release_hidden=release)
    if "html" in formats:
        written += dashboard.render_dashboard(results, a, out_dir)
    if "csv" in formats:
        written.append(exports.write_grades_csv(results, a, out_dir / "grades.csv"))
    if "xlsx" in formats:
        written.append(exports.write_grades_xlsx(results, a, out_dir / "grades.xlsx"))
    if "gradescope" in formats:
        written += exports.write_gradescope(results, a, out_dir / "gradescope")
    if "junit" in formats:
        written.append(exports.write_junit(results, a, out_dir / "junit.xml", reveal_hidden=release))
    if "moodle" in formats:
        if moodle_worksheet is None:
            raise DavarError("--format moodle needs --moodle-worksheet: the grading worksheet downloaded from Moodle")
        participants = exports.moodle_participants(moodle_worksheet, key=moodle_key)
        missing = exports.write_moodle_worksheet(results, a, out_dir / "moodle.csv", participants,
                                                 reveal_hidden=release)
        written.append(out_dir / "moodle.csv")
        if missing:
            console.print(f"[yellow]not in the Moodle worksheet (left out): {', '.join(missing)}[/]")
    return written


def import_scores(*, assignment: str, file: Path, out: Path = Path("reports")) -> int:
    """Add a TA's manual grades to the assignment's gradebook (the whole file or nothing)."""
    a = assignment_mod.find(assignment)
    found = scores.read_csv(file, a)
    book = out / a.id / "gradebook.sqlite"
    known = {r.student for r in gradebook.latest(book, a.id)}
    gradebook.add_manual(book, a.id, found)
    unknown = sorted({s.student for s in found} - known)
    console.print(f"{len(found)} manual score(s) imported into {book}")
    if unknown:
        console.print(f"[yellow]not graded yet (kept for when they are): {', '.join(unknown)}[/]")
    return 0


def _print_table(result: SubmissionResult, lang: str) -> None:
    words = report.labels()
    out = Console()
    table = Table(title=f"{result.assignment} · {result.student}")
    for key in ("questions", "test", "outcome", "points", "details"):
        table.add_column(words[key][lang])
    for q in result.questions:
        for t in q.tests:
            msg = " ".join(getattr(m, lang) for m in t.messages)
            points = catalogue.format_number(t.points, lang, "points")
            max_points = catalogue.format_number(t.max_points, lang, "points")
            table.add_row(q.id, t.title.get(lang, t.id), words[f"outcome_name.{t.outcome}"][lang],
                          f"{points}/{max_points}", msg)
    out.print(table)
    for m in result.messages:
        out.print(getattr(m, lang))
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
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("grade", help="grade every submission under PATH")
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

    p = commands.add_parser("check", help="check your notebook with the public graders")
    p.add_argument("assignment")
    p.add_argument("notebook", type=Path)
    p.add_argument("--lang", default="en", choices=catalogue.LANGS)
    p.add_argument("--json", action="store_true", help="print the result JSON")
    p.add_argument("--report", type=Path, help="also write report.fa.html and report.en.html here")
    p.add_argument("--profile", default="standin")
    p.add_argument("--data", type=Path)

    p = commands.add_parser("audit-key", help="check the reference solution and the official answer key")
    p.add_argument("assignment")
    p.add_argument("--lang", default="en", choices=catalogue.LANGS)
    p.add_argument("--sandbox", default="strict", choices=sandbox.LEVELS)
    p.add_argument("--allow-weak-sandbox", action="store_true")
    p.add_argument("--profile", default="standin")
    p.add_argument("--data", type=Path)

    p = commands.add_parser("new", help="scaffold a working assignment (question, master notebook, grader, sample)")
    p.add_argument("assignment", help="its id, e.g. iust-dl-1405-hw1")
    p.add_argument("--root", type=Path, default=Path.cwd(), help="the course folder (default: here)")

    p = commands.add_parser("assign", help="write templates, reference and sample notebooks from the master notebooks")
    p.add_argument("assignment")
    p.add_argument("--public", type=Path, help="also write the student notebooks into this folder")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook on disk differs")

    p = commands.add_parser("data", help="build the offline stand-in datasets of an assignment")
    p.add_argument("assignment")
    p.add_argument("--data", type=Path)

    p = commands.add_parser("report", help="reports, class dashboard and exports from the gradebook alone")
    p.add_argument("assignment")
    p.add_argument("--out", type=Path, default=Path("reports"), help="where the gradebook is (as for grade)")
    p.add_argument("--format", default="html", type=lambda v: tuple(f for f in v.split(",") if f),
                   help=f"comma-separated: {','.join(REPORT_FORMATS)} (default html)")
    p.add_argument("--release-hidden", action=argparse.BooleanOptionalAction, default=None,
                   help="show hidden tests' names and messages (default: the assignment's [visibility])")
    p.add_argument("--moodle-worksheet", type=Path, help="the grading worksheet downloaded from Moodle")
    p.add_argument("--moodle-key", default="ID number", help="its column holding the student id")

    p = commands.add_parser("scores", help="manual grades a TA enters")
    p.add_argument("action", choices=["import"])
    p.add_argument("assignment")
    p.add_argument("file", type=Path, help="CSV: student,question,points,comment,lang")
    p.add_argument("--out", type=Path, default=Path("reports"), help="where the gradebook is (as for grade)")

    args = parser.parse_args(argv)
    try:
        if args.command == "grade":
            grade(assignment=args.assignment, path=args.path, out=args.out, sandbox_level=args.sandbox,
                  allow_weak_sandbox=args.allow_weak_sandbox, profile=args.profile, data_root=args.data,
                  workers=args.workers, gpus=args.gpus, per_gpu=args.per_gpu, force=args.force, cluster=args.cluster)
            console.print(f"reports: {(args.out / Path(args.assignment).name).resolve()}")
            return 0
        if args.command == "check":
            return check(assignment=args.assignment, notebook=args.notebook, lang=args.lang, as_json=args.json,
                         out=args.report, profile=args.profile, data_root=args.data)
        if args.command == "audit-key":
            return audit_key(assignment=args.assignment, lang=args.lang, sandbox_level=args.sandbox,
                             allow_weak_sandbox=args.allow_weak_sandbox, profile=args.profile, data_root=args.data)
        if args.command == "report":
            for path in report_all(assignment=args.assignment, out=args.out, formats=args.format,
                                   release_hidden=args.release_hidden, moodle_worksheet=args.moodle_worksheet,
                                   moodle_key=args.moodle_key):
                print(path)
            return 0
        if args.command == "assign":
            return assign(assignment=args.assignment, public=args.public, check=args.check)
        if args.command == "new":
            return new(assignment=args.assignment, root=args.root)
        if args.command == "scores":
            return import_scores(assignment=args.assignment, file=args.file, out=args.out)
        print(build_data(assignment=args.assignment, data_root=args.data))
        return 0
    except DavarError as e:
        console.print(f"[red]davar: {e}[/]")
        return 2


if __name__ == "__main__":
    sys.exit(main())
