"""`davar` command line: it parses arguments, calls one library function (davar/commands.py,
davar/authoring/masters.py, davar/authoring/scaffold.py) and prints what it returns.

    davar grade ASSIGNMENT PATH [--workers N]    TA: execute + grade every submission, reports, gradebook
    davar check ASSIGNMENT NOTEBOOK [--lang fa]  student: public graders, a table, exit 1 if one fails
    davar audit-key ASSIGNMENT                   TA: reference solution must score 100 %; official key vs reference
    davar new ASSIGNMENT                         TA: scaffold a working assignment to start from
    davar assign ASSIGNMENT [--check]            TA: templates, reference and sample notebooks from the masters
    davar data ASSIGNMENT                        build the offline stand-in datasets
    davar requirements [ASSIGNMENT ...]          setup: the pip requirements of the [environment] tables
    davar scores import ASSIGNMENT FILE.csv      TA: manual grades into the gradebook (nothing re-runs)
    davar scores list|delete ASSIGNMENT          TA: the manual scores stored; delete one student's (--student)
    davar scores override ASSIGNMENT STUDENT TEST POINTS --reason "…"   TA: one student's points for an automatic
                                                 test (--clear removes it); `scores overrides` lists them
    davar report ASSIGNMENT [--format html,pdf,…] TA: reports, dashboard and exports from the gradebook alone
    davar export-public ASSIGNMENT OUT/          TA: the student bundle (public graders, templates; `pip install OUT/`)
    davar ci ASSIGNMENT [--junit FILE]           a submission repo's CI: public graders, JUnit, a Markdown summary
    davar init-ci ASSIGNMENT [--bundle DIR]      TA: a GitHub Actions workflow and a GitLab CI job running `davar ci`
    davar review ASSIGNMENT [--submissions PATH] TA: grade the manual questions in the browser (a one-time token)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jdatetime
import rich.markup
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from davar import assignment as assignment_mod
from davar import catalogue, commands, late
from davar.authoring import masters, scaffold
from davar.checks import show
from davar.errors import DavarError, ScoresError
from davar.grading import batch
from davar.public import bundle, ci
from davar.reporting import report
from davar.results import STATUSES, SubmissionResult
from davar.run import sandbox

console = Console(stderr=True)


def _grade(args: argparse.Namespace) -> int:
    if args.dry_run:
        return _dry_run(args)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[running]}"))
    counts: dict[str, int] = {}
    words = report.labels()
    results_skipped: list[int] = []
    planned: list[int] = []
    leftovers: list[sandbox.Leftovers] = []  # what a killed batch had left, removed first
    stopped: batch.Stopped | None = None
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(Path(args.assignment).name, total=None, running="")

        def start(todo: int, skipped: int) -> None:
            results_skipped.append(skipped)
            planned.append(todo)
            progress.update(task, total=todo)
            if skipped:
                console.print(catalogue.text("grade_skipping", args.lang, {"count": skipped}))

        def finished(result: SubmissionResult) -> None:
            counts[result.status] = counts.get(result.status, 0) + 1
            progress.console.print(f"{result.student}: {words[f'status_name.{result.status}'][args.lang]} "
                                   f"{result.score:g}/{result.max_score:g}", markup=False)
            tally = ", ".join(f"{words[f'status_name.{k}'][args.lang]} {v}" for k, v in sorted(counts.items()))
            progress.update(task, advance=1, description=f"{result.assignment} · {tally}")

        def running(now: list[batch.Running]) -> None:
            slowest = min(now, key=lambda r: r.since, default=None)
            progress.update(task, running=f"{len(now)} running, slowest {slowest.student} "
                            f"{time.monotonic() - slowest.since:.0f} s" if slowest else "")

        try:
            results = commands.grade(
                assignment=args.assignment, path=args.path, out=args.out, sandbox_level=args.sandbox,
                allow_weak_sandbox=args.allow_weak_sandbox, profile=args.profile, data_root=args.data,
                workers=args.workers, gpus=args.gpus, per_gpu=args.per_gpu, force=args.force, cluster=args.cluster,
                trust_file_times=args.trust_file_times, times=args.times, on_start=start, on_result=finished,
                on_running=running, on_leftovers=leftovers.append, warm=not args.cold)
        except batch.Stopped as e:  # workers, kernels, cgroups and run folders are gone already
            stopped = e
    if stopped:
        done = sum(counts.values())
        print(catalogue.text("grade_stopped", args.lang, {
            "signal": stopped.signal_name, "done": done, "remaining": max(sum(planned) - done, 0),
            "gradebook": args.out / assignment_mod.find(args.assignment).id / "gradebook.sqlite"}))
        return 128 + stopped.signum  # as a shell reports a process ended by that signal
    _print_summary(results, skipped=sum(results_skipped), out=args.out, lang=args.lang,
                   leftovers=leftovers[0] if leftovers else None)
    return 0


def _dry_run(args: argparse.Namespace) -> int:
    """`davar grade --dry-run`: a table of what would be graded, on stdout; nothing runs or is written."""
    planned = commands.plan(assignment=args.assignment, path=args.path, out=args.out, profile=args.profile,
                            data_root=args.data, force=args.force, trust_file_times=args.trust_file_times,
                            times=args.times)
    a, lang, words = assignment_mod.find(args.assignment), args.lang, report.labels()
    table = Table(title=a.id)
    for key in ("student", "notebook", "submitted_at", "status"):
        table.add_column(words[key][lang])
    for p in planned:
        s = p.submission
        retimed = p.previous is not None and (p.previous.submitted_at, p.previous.time_source) != (
            s.submitted_at, s.time_source)
        action = ("retime" if retimed else "skip") if p.done else "regrade" if p.previous else "grade"
        source = words.get(f"time_source_name.{s.time_source}", {}).get(lang, "")
        when = _local_time(s.submitted_at, a, lang)
        table.add_row(f"{s.student} {s.display_name}".strip(),
                      "\n".join(str(f.relative_to(s.root)) if f.is_relative_to(s.root) else f.name
                                for f in s.notebooks.values()),
                      f"{when} ({source})" if when and source else when or source or
                      catalogue.text("dry_run_no_time", lang),
                      catalogue.render(s.problem, lang, a.messages) if s.problem
                      else catalogue.text("dry_run_action", lang, variant=action))
    Console().print(table)
    print(catalogue.text("dry_run_summary", lang, {
        "assignment": a.id, "count": len(planned), "path": args.path, "todo": sum(not p.done for p in planned),
        "done": sum(p.done for p in planned)}))
    return 0


def _local_time(value: str, a: assignment_mod.Assignment, lang: str) -> str:
    """An ISO time as wall-clock time in the assignment's zone (Jalali in Persian); "" when there is none."""
    when = late.parse_time(value, late.zone(a)) if value else None
    if when is None:
        return ""
    when = when.astimezone(late.zone(a))
    if lang == "fa":
        return jdatetime.datetime.fromgregorian(datetime=when).strftime("%Y-%m-%d %H:%M")
    return when.strftime("%Y-%m-%d %H:%M")


def _print_summary(results: list[SubmissionResult], *, skipped: int, out: Path, lang: str,
                   leftovers: sandbox.Leftovers | None = None) -> None:
    """What a batch did, on stdout, in the TA's language: every folder by status, what was skipped or
    restored from a snapshot, what a killed batch had left and was removed, and where the class dashboard
    and grades are."""
    words = report.labels()
    by_status = {s: sum(r.status == s for r in results) for s in STATUSES}
    restored = sum(any(m.key in ("snapshot_regraded", "snapshot_replayed") for m in r.messages) for r in results)
    assignment_id = results[0].assignment if results else ""
    out_dir = (out / assignment_id).resolve()
    print(catalogue.text("grade_summary", lang, {
        "assignment": assignment_id, "count": len(results), "skipped": skipped, "restored": restored,
        "statuses": ", ".join(f"{words[f'status_name.{s}'][lang]} {n}" for s, n in by_status.items() if n)}))
    if undated := sum(r.time_source == "file_copied" for r in results):
        print(catalogue.text("grade_summary_undated", lang, {"count": undated}))
    if from_ta := sum(r.time_source == "ta_csv" for r in results):
        print(catalogue.text("grade_summary_ta_times", lang, {"count": from_ta}))
    if leftovers:
        print(catalogue.text("grade_summary_leftovers", lang, {
            "cgroups": leftovers.cgroups, "folders": leftovers.folders, "processes": leftovers.processes}))
    print(catalogue.text("grade_outputs", lang, {
        "dashboard": out_dir / ("index.html" if lang == "fa" else "index.en.html"),
        "grades": out_dir / "grades.csv", "reports": out_dir}))


def _best_level(lang: str) -> str:
    """The best sandbox here, for a student's check or a repo's CI; below `strict` it says so, and where bubblewrap
    is installed but the host keeps it from making a user namespace, which setting does (README: sandbox levels)."""
    level = sandbox.choose_level("auto")
    if level != "strict":
        console.print(f"[yellow]{catalogue.text('sandbox_weak', lang, {'level': level})}[/]")
    setting = sandbox.detect().userns_off
    if level == "none" and setting:
        console.print(f"[yellow]{catalogue.text('sandbox_userns_off', lang, {'setting': setting})}[/]")
    return level


def _check(args: argparse.Namespace) -> int:
    level = _best_level(args.lang)
    result = commands.check(assignment=args.assignment, notebook=args.notebook, level=level, out=args.report,
                            profile=args.profile, data_root=args.data)
    result = commands.self_check_view(result)  # no student id or submission time: a file's name and time
    if args.json:
        print(check_json(result, figures=args.figures))
    else:
        messages = commands.find_for_check(args.assignment, args.notebook).messages
        _print_cell_errors(result, args.lang, messages)
        _print_table(result, args.lang, messages, first=_CELL_KEYS)
    if args.report:
        console.print(catalogue.text("check_report_written", args.lang, {
            "path": (args.report / f"report.{args.lang}.html").resolve()}), soft_wrap=True, highlight=False)
    ok = result.status == "graded" and all(t.outcome in ("passed", "manual") for q in result.questions for t in q.tests)
    return 0 if ok else 1


#: The messages of cells that raised or stopped the run: a check prints them first, with the failing line.
_CELL_KEYS = frozenset({"cell_failed", "cell_raised", "cells_raised_more", "cell_timeout", "total_timeout",
                        "cpu_limit", "kernel_died", "kernel_start_failed", "memory_limit", "disk_limit",
                        "disk_limit_full"})


def check_json(result: SubmissionResult, *, figures: bool = False) -> str:
    """`davar check --json`: the result without terminal escape codes (tracebacks cleaned, "Cell In[n]" as
    the cell's number, `report.student_traceback`), figures only when asked for (base64 PNGs), and every cell
    numbered as the messages, the report and Jupyter's cell list number it: from 1, markdown cells included
    (the TA's result.json keeps davar.results' 0-based indexes)."""
    def one(i: int | None) -> int | None:
        return None if i is None else i + 1

    executions = tuple(dataclasses.replace(
        ex, traceback=report.student_traceback(ex), failing_cell=one(ex.failing_cell),
        skipped_cell=one(ex.skipped_cell), cells=tuple(dataclasses.replace(c, index=c.index + 1) for c in ex.cells))
        for ex in result.executions)
    shown = tuple(dataclasses.replace(f, cell=f.cell + 1) for f in result.figures) if figures else ()
    return dataclasses.replace(result, executions=executions, figures=shown).to_json()


def _print_cell_errors(result: SubmissionResult, lang: str, messages: Mapping[str, Any]) -> None:
    """What stopped or broke the notebook, before the table: each cell's error and the line that raised."""
    out = Console()
    for m in result.messages:
        if m.key in _CELL_KEYS:
            out.print(f"[red]{rich.markup.escape(_plain(catalogue.render(m, lang, messages)))}[/]", soft_wrap=True)
    for ex in result.executions:
        if ex.failing_cell is not None and (found := report.failing_line(ex)):
            line, code = found
            out.print(_plain(catalogue.text("check_failing_line", lang, {
                "notebook": ex.notebook, "cell": ex.failing_cell + 1, "line": line, "code": code})),
                markup=False, soft_wrap=True, highlight=False)


def _plain(text: str) -> str:
    """Text for a terminal: without the invisible direction marks (FSI, PDI, LRI, RLI, LRM, RLM, …) that
    the catalogue puts around values for a web page; a terminal shows them as gaps and breaks tables."""
    return text.translate(_BIDI)


_BIDI = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


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
    for total in found.inconsistent_sums:
        out.print(catalogue.text("audit_key_sum", lang, {"key": total.key, "official": show(total.official),
                                                         "parts": ", ".join(total.parts),
                                                         "sum": show(total.parts_sum)}))
    if found.checks and not found.disagreements and not found.inconsistent_sums:
        out.print(catalogue.text("audit_key_agrees", lang, {"count": len(found.checks)}))
    return 0 if found.reference_complete else 1


def _assign(args: argparse.Namespace) -> int:
    written = masters.assign(assignment_mod.find(args.assignment), public=args.public, check=args.check)
    changed = [w.path for w in written if w.changed]
    for path in changed:
        print(path)
    console.print(catalogue.text("assign_summary", _lang(args), {"count": len(written), "changed": len(changed)},
                                 variant="check" if args.check else "write"))
    return 1 if args.check and changed else 0


def _new(args: argparse.Namespace) -> int:
    try:
        root = assignment_mod.course_root()
    except DavarError:  # no course yet: this folder becomes one
        root = Path.cwd()
    for path in scaffold.new(args.assignment, root=root):
        print(path)
    console.print(catalogue.text("new_next", _lang(args), {"assignment": args.assignment}))
    return 0


def _requirements(args: argparse.Namespace) -> int:
    for line in commands.requirements(assignments=args.assignments):
        print(line)
    return 0


def _data(args: argparse.Namespace) -> int:
    print(commands.build_data(assignment=args.assignment, data_root=args.data))
    return 0


def _report(args: argparse.Namespace) -> int:
    reports = commands.report_all(assignment=args.assignment, out=args.out, formats=args.format,
                                  release_hidden=args.release_hidden, moodle_worksheet=args.moodle_worksheet,
                                  moodle_key=args.moodle_key, accept_other_graders=args.accept_other_graders)
    for path in reports.written:
        print(path)
    if reports.not_in_moodle:
        console.print(catalogue.text("report_not_in_moodle", args.lang, {"students": ", ".join(reports.not_in_moodle)}),
                      style="yellow", markup=False)
    if reports.awaiting_ta and "moodle" in args.format:
        console.print(catalogue.text("report_moodle_awaiting", args.lang, {"students": ", ".join(reports.awaiting_ta)}),
                      style="yellow", markup=False)
    return 0


def _scores(args: argparse.Namespace) -> int:
    """`davar scores import|list|delete|override|overrides`: every sentence from the catalogue, in --lang; a refusal
    (`ScoresError`) is printed by `main` in that language too, with exit 2, as every `DavarError` is."""
    lang = args.lang
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
    elif args.action == "delete":
        count = commands.delete_scores(assignment=args.assignment, student=args.student, question=args.question,
                                       out=args.out)
        console.print(catalogue.text("scores_deleted", lang, {"count": count, "student": args.student}))
    elif args.action == "override":
        _override(args)
    else:
        _list_overrides(args)
    return 0


def _override(args: argparse.Namespace) -> None:
    """`davar scores override`: set (POINTS) or remove (--clear) one student's override of one test."""
    import getpass

    if args.clear == (args.points is not None):
        raise ScoresError("override_points_or_clear")
    by = args.by
    if by is None:
        try:
            by = getpass.getuser()
        except (OSError, KeyError):  # no login name: --by is needed (the library refuses an empty one)
            by = ""
    common = {"assignment": args.assignment, "student": args.student, "test": args.test, "by": by,
              "question": args.question, "out": args.out}
    if args.clear:
        o = commands.clear_override(**common, reason=args.reason or "")
        key = "scores_override_cleared"
    else:
        o = commands.override_score(**common, points=args.points, reason=args.reason or "")
        key = "scores_overridden"
    console.print(catalogue.text(key, args.lang, {
        "student": o.student, "test": o.test, "question": o.question, "points": o.points, "max": o.max_points,
        "auto_points": o.auto_points, "outcome": f"outcome_{o.outcome}"}), markup=False, soft_wrap=True)


def _list_overrides(args: argparse.Namespace) -> None:
    """`davar scores overrides`: the history, the latest first per student and test."""
    stored = commands.list_overrides(assignment=args.assignment, out=args.out, student=args.student)
    seen: set[tuple[str, str, str]] = set()
    for o in stored:
        variant = "cleared" if o.cleared else "replaced" if (o.student, o.question, o.test) in seen else "counted"
        seen.add((o.student, o.question, o.test))
        print(catalogue.text("scores_override_entry", args.lang, {
            "student": o.student, "question": o.question, "test": o.test, "points": o.points, "max": o.max_points,
            "auto_points": o.auto_points, "outcome": f"outcome_{o.outcome}", "by": o.by, "at": o.made_at,
            "reason": o.reason}, variant=variant).rstrip())
    if not stored:
        console.print(catalogue.text("scores_overrides_empty", args.lang, {"assignment": Path(args.assignment).name}))


# ---- the student bundle and a submission repository's CI (davar/public/)


def _export_public(args: argparse.Namespace) -> int:
    made = bundle.export(assignment_mod.find(args.assignment), args.out)
    console.print(catalogue.text("public_written", _lang(args), {
        "assignment": made.assignment, "out": made.out, "notebooks": len(made.notebooks),
        "withheld": len(made.withheld)}))
    return 0


def _ci(args: argparse.Namespace) -> int:
    level = _best_level(args.lang)
    outcome = ci.run(assignment=args.assignment, repo=args.repo, junit=args.junit, fail_under=args.fail_under,
                     lang=args.lang, level=level, profile=args.profile, data_root=args.data)
    if outcome.summary_path is None:
        print(outcome.summary, end="")
    return outcome.exit_code


def _init_ci(args: argparse.Namespace) -> int:
    for path in ci.init(assignment=args.assignment, repo=args.repo, bundle=args.bundle, force=args.force):
        console.print(catalogue.text("ci_written", _lang(args), {"path": path}))
    return 0


def _review(args: argparse.Namespace) -> int:
    """`davar review`: the TA's grading app (davar/review/app.py) until Ctrl+C; the login URL with its token printed."""
    from davar.review import app as review_app  # starlette and uvicorn only for this command

    review = review_app.prepare(assignment=args.assignment, out=args.out, submissions=args.submissions,
                                lang=args.lang or "fa")

    def ready(url: str) -> None:
        console.print(catalogue.text("review_started", review.lang, {"assignment": review.assignment.id, "url": url}),
                      markup=False, soft_wrap=True)

    review_app.serve(review, host=args.host, port=args.port, on_ready=ready)
    return 0


#: Each subcommand's handler: it calls one library function (davar/commands.py) and prints.
HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "grade": _grade, "check": _check, "audit-key": _audit_key, "new": _new, "assign": _assign, "data": _data,
    "requirements": _requirements, "report": _report, "scores": _scores,
    "export-public": _export_public, "ci": _ci, "init-ci": _init_ci, "review": _review,
}


def _print_table(result: SubmissionResult, lang: str, messages: Mapping[str, Any],
                 first: frozenset[str] = frozenset()) -> None:
    """The result as a table in `lang`; its messages rendered now (`messages`: the assignment's own), those
    with a key in `first` left out (printed before it); no direction marks (`_plain`)."""
    words = report.labels()
    out = Console()
    table = Table(title=" · ".join(part for part in (result.assignment, result.student) if part))
    for key in ("questions", "test", "outcome", "points", "details"):
        table.add_column(words[key][lang])
    for q in result.questions:
        for t in q.tests:
            msg = " ".join(catalogue.render(m, lang, messages) for m in t.messages)
            points = catalogue.format_number(t.points, lang, "points")
            max_points = catalogue.format_number(t.max_points, lang, "points")
            table.add_row(*(rich.markup.escape(_plain(cell)) for cell in (
                q.id, t.title.get(lang, t.id), words[f"outcome_name.{t.outcome}"][lang], f"{points}/{max_points}",
                msg)))
    out.print(table)
    for m in result.messages:
        if m.key not in first:
            out.print(_plain(catalogue.render(m, lang, messages)), markup=False, soft_wrap=True, highlight=False)
    status = words[f"status_name.{result.status}"][lang]
    score = catalogue.format_number(result.score, lang, "points")
    max_score = catalogue.format_number(result.max_score, lang, "points")
    out.print(f"{status}: {score}/{max_score}")


def main(argv: list[str] | None = None) -> int:
    import logging

    logging.getLogger("papermill").setLevel(logging.CRITICAL)  # cell errors and timeouts are in the results
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    args = _parser().parse_args(argv)
    course = os.environ.get("DAVAR_COURSE")
    if args.course:  # for this command and the workers it starts, as $DAVAR_COURSE would
        os.environ["DAVAR_COURSE"] = str(args.course.resolve())
    try:
        return HANDLERS[args.command](args)
    except DavarError as e:  # every harness error is keyed: a sentence in the TA's language
        sentence = rich.markup.escape(e.text(_lang(args)))  # paths may hold "[...]"
        console.print(f"[red]davar: {sentence}[/]", highlight=False, soft_wrap=True)
        return 2
    finally:  # main() is also called in-process (tests, a TA's script): leave the environment as it was
        if course is None:
            os.environ.pop("DAVAR_COURSE", None)
        else:
            os.environ["DAVAR_COURSE"] = course


def _lang(args: argparse.Namespace) -> str:
    """The TA's language for an error: the subcommand's --lang, else $DAVAR_LANG, else English."""
    lang = getattr(args, "lang", None) or os.environ.get("DAVAR_LANG", "en")
    return lang if lang in catalogue.LANGS else "en"


def _parser() -> argparse.ArgumentParser:
    """Every subcommand and option; each option's help says what it does and its default."""
    parser = argparse.ArgumentParser(prog="davar", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, help="the course folder (default: the nearest folder holding "
                        "davar.toml, from here upward; or $DAVAR_COURSE)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("grade", help="grade every submission under PATH")
    _assignment(p)
    p.add_argument("path", type=Path, help="a folder of student folders, a Moodle or Quera zip, one student's "
                                           "folder, or one notebook")
    _out(p)
    _run_options(p)
    p.add_argument("--workers", type=_at_least_one, help="parallel sandbox slots, 1 or more (default: from cores "
                                                          "and memory)")
    p.add_argument("--force", action="store_true", help="regrade submissions already in the gradebook (default: "
                                                        "skip those graded with the same graders, data and files)")
    p.add_argument("--trust-file-times", action="store_true",
                   help="date plain folders by their files' times even when all students' times are within two "
                        "minutes of each other, as after `cp -r` (default: then no submission time, no late penalty)")
    p.add_argument("--times", type=Path, help="a CSV of submission times (student,submitted_at; Jalali or "
                   "Gregorian, in the assignment's time zone): the listed students are dated by it (default: the "
                   "times the submissions carry)")
    p.add_argument("--dry-run", action="store_true", help="list what would be graded (students, notebooks matched, "
                   "submission times and their source) and stop: nothing runs, nothing is written")
    p.add_argument("--cluster", help="grade on Dask: `local` (a LocalCluster of --workers) or tcp://HOST:PORT "
                                     "(default: worker processes on this machine)")
    p.add_argument("--gpus", type=lambda v: [g for g in v.split(",") if g], default=[],
                   help="CUDA devices for the slots, e.g. 0,1 (each slot sees one; replaces --workers; default none)")
    p.add_argument("--per-gpu", type=_at_least_one, default=1, help="slots per GPU, 1 or more (default 1)")
    p.add_argument("--cold", action="store_true", help="start each kernel when its run needs it, not ahead of time "
                   "while the previous submission is graded (slower; the same grades)")
    _lang_option(p, "the summary and errors")

    p = sub.add_parser("check", help="check your notebook with the public graders")
    _assignment(p)
    p.add_argument("notebook", type=Path, help="your notebook")
    _lang_option(p, "the table and errors")
    p.add_argument("--json", action="store_true", help="print the result JSON instead of the table (cells numbered "
                   "from 1 as in the messages; no colour codes; figures only with --figures)")
    p.add_argument("--figures", action="store_true", help="with --json: include the figures as base64 PNGs "
                   "(default: left out)")
    p.add_argument("--report", type=Path, help="also write report.fa.html and report.en.html into this folder "
                                               "(default: no report)")
    _data_options(p)

    p = sub.add_parser("audit-key", help="check the reference solution and the official answer key")
    _assignment(p)
    _lang_option(p, "the table and errors")
    _run_options(p)

    p = sub.add_parser("new", help="scaffold a working assignment (question, master notebook, grader, sample) in "
                                   "the course, or start a course here (davar.toml) when there is none")
    p.add_argument("assignment", help="its id, e.g. iust-dl-1405-hw1")

    p = sub.add_parser("assign", help="write templates, reference and sample notebooks from the master notebooks")
    _assignment(p)
    p.add_argument("--public", type=Path, help="also write the student notebooks into this folder (default: no)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook on disk differs")

    p = sub.add_parser("data", help="build the offline stand-in datasets of an assignment")
    _assignment(p)
    p.add_argument("--data", type=Path, help="where to build them (default: $DAVAR_DATA, else the course's data/)")

    p = sub.add_parser("requirements", help="print the pip requirements that the assignments' [environment] "
                                            "tables list, one a line, for `pip install -r` at setup")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                   help="an assignment's id or folder (default: every assignment of the course)")

    p = sub.add_parser("export-public", help="the student bundle: public graders, templates, the stand-in data "
                       "generator and the engine, pip-installable; no hidden or reference material")
    _assignment(p)
    p.add_argument("out", type=Path, help="a new or empty folder to write the bundle into")
    _lang_option(p, "the summary and errors")

    p = sub.add_parser("ci", help="a submission repository's CI: grade its notebook(s) with the public graders")
    _assignment(p)
    p.add_argument("--repo", type=Path, default=Path("."), help="the repository to search for the notebook(s) "
                                                                "(default: the current folder)")
    p.add_argument("--junit", type=Path, help="also write JUnit XML to this file (default: none)")
    p.add_argument("--fail-under", type=float, help="pass when the public points reach this (default: pass only "
                                                    "when every public test passes)")
    _lang_option(p, "the summary and errors")
    _data_options(p)

    p = sub.add_parser("init-ci", help="write a GitHub Actions workflow and a GitLab CI job that run `davar ci`")
    _assignment(p)
    p.add_argument("--repo", type=Path, default=Path("."), help="the submission repository (default: here)")
    p.add_argument("--bundle", default="davar-bundle", help="the bundle's folder in that repository, as "
                   "`davar export-public` wrote it (default davar-bundle)")
    p.add_argument("--force", action="store_true", help="replace workflow files that exist (default: refuse)")
    _lang_option(p, "the messages and errors")

    p = sub.add_parser("report", help="reports, class dashboard and exports from the gradebook alone")
    _assignment(p)
    _out(p)
    p.add_argument("--format", default=("html",), type=_formats,
                   help=f"comma-separated: {','.join(commands.REPORT_FORMATS)} (default html)")
    p.add_argument("--release-hidden", action=argparse.BooleanOptionalAction, default=None,
                   help="show hidden tests' names and messages (default: the assignment's [visibility])")
    p.add_argument("--moodle-worksheet", type=Path, help="the grading worksheet downloaded from Moodle (needed by "
                                                         "--format moodle; default none)")
    p.add_argument("--moodle-key", default="ID number", help="its column holding the student id, when the "
                   "students are not keyed by participant number (default: \"ID number\")")
    p.add_argument("--accept-other-graders", action="store_true",
                   help="report results graded by other grader code, or in another course folder with another "
                        "assignment.toml (default: refuse, naming them)")
    _lang_option(p, "what is printed")

    p = sub.add_parser("review", help="grade the manual questions in the browser, one question across the class")
    _assignment(p)
    _out(p)
    p.add_argument("--submissions", type=Path, help="the submissions folder `davar grade` read, whose answers the "
                                                     "pages show (default: none, so no answers are shown)")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1; a shared "
                                                       "server for several TAs: its address)")
    p.add_argument("--port", type=int, default=8765, help="default 8765")
    _lang_option(p, "the app's language at login")

    p = sub.add_parser("scores", help="manual grades a TA enters: import, list, delete; overrides of automatic tests")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser("import", help="a CSV of manual grades into the gradebook (the whole file or nothing)")
    _assignment(a)
    a.add_argument("file", type=Path, help="CSV: student,question,points,comment,lang")
    b = actions.add_parser("list", help="the manual scores stored, the latest first per student and question")
    _assignment(b)
    b.add_argument("--student", help="only this student's (default: everyone's)")
    c = actions.add_parser("delete", help="delete a student's manual scores (kept in the history, no longer counted)")
    _assignment(c)
    c.add_argument("--student", required=True, help="whose")
    c.add_argument("--question", help="only this question's (default: all of the student's)")
    d = actions.add_parser("override", help="a TA's points for one automatic test of one student, with a reason "
                           "(replaces the test's points in every report and export; a regrade keeps it)")
    _assignment(d)
    d.add_argument("student", help="the student id")
    d.add_argument("test", help="the test id, as the report and grades name it")
    d.add_argument("points", nargs="?", help="the points given, 0 to the test's own points (leave out with --clear)")
    d.add_argument("--reason", help="why: shown to the student next to the test (required to set an override; "
                                    "default none when clearing)")
    d.add_argument("--by", help="the TA who decides (default: your login name)")
    d.add_argument("--question", help="the test's question, when two questions have a test of that id "
                                      "(default: the one question that has it)")
    d.add_argument("--clear", action="store_true", help="remove the student's override of the test: its automatic "
                                                        "points count again (the override stays in the history)")
    e = actions.add_parser("overrides", help="the overrides stored, with their history, the latest first per test")
    _assignment(e)
    e.add_argument("--student", help="only this student's (default: everyone's)")
    for q in (a, b, c, d, e):
        _out(q)
        _lang_option(q, "what is printed")
    return parser


def _assignment(p: argparse.ArgumentParser) -> None:
    p.add_argument("assignment", help="an assignment id of the course's graders/ (or the path of its folder)")


def _out(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("reports"),
                   help="the reports folder; the gradebook is OUT/ASSIGNMENT/gradebook.sqlite (default reports)")


def _lang_option(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--lang", default=os.environ.get("DAVAR_LANG", "en"), choices=catalogue.LANGS,
                   help=f"the language of {what} (default $DAVAR_LANG, else en)")


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="standin", help="the assignment's [profiles] entry: the data and epochs "
                   "the notebook runs with (default standin: the offline stand-in data)")
    p.add_argument("--data", type=Path, help="the data root (default: $DAVAR_DATA, else the course's data/)")


def _run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sandbox", default="strict", choices=sandbox.LEVELS,
                   help="how the notebooks are walled in (default strict; less needs --allow-weak-sandbox)")
    p.add_argument("--allow-weak-sandbox", action="store_true", help="accept basic or none when strict is not "
                   "available here (default: refuse)")
    _data_options(p)


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
