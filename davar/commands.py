"""What each `davar` command does, as keyword-only library functions; `cli.py` only parses the
arguments, calls one of these and prints what it returns.  Tests, the benchmark and a TA's own
scripts call them directly:

    results = commands.grade(assignment="iust-dl-1403-hw2", path=Path("submissions/..."), out=Path("reports"))

`assignment` is an id (looked up in `graders/`) or the path of an assignment's folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import importlib
import os
import sys
import threading
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

from davar import assignment as assignment_mod
from davar import datasets
from davar.book import decisions, gradebook, overrides, scores
from davar.book import times as submission_times
from davar.book.view import view
from davar.errors import AssignmentError, DataNotFound, DavarError, ScoresError
from davar.grading import audit as audit_mod
from davar.grading import batch, outcome
from davar.grading.grade import grade_submission
from davar.intake import inbox
from davar.reporting import dashboard, exports, report
from davar.results import DataRecord, SubmissionResult, from_json
from davar.run import quota, sandbox
from davar.run.pool import Pool

REPORT_FORMATS = ("html", "pdf", "csv", "xlsx", "moodle", "gradescope", "junit")


def build_data(*, assignment: str, data_root: Path | None = None) -> Path:
    """Build every stand-in dataset of an assignment (offline, idempotent; never over real data).
    Each `[datasets.<name>] standin = "module:function"` names a course module in `graders/<id>/`.

    Stand-in data is built only where it is asked for: `davar data ID [--data DIR]` calls this (the
    TA asked); `grade`, `check` and `audit_key` with profile "standin" call it (through `prepare_data`)
    only for the default data root, the repo's `data/` (neither `data_root` nor $DAVAR_DATA given).  With
    an explicit root that lacks the data they stop before grading anyone; profile "real" never builds."""
    a = assignment_mod.find(assignment)
    root = a.data_root(data_root)
    root.parent.mkdir(parents=True, exist_ok=True)
    # two commands building at once (two terminals, two batches on a fresh clone): one builds, the other then finds it
    # built; the lock is beside the data root, not in it, where the data's digest would count it
    with (root.parent / f".{root.name}.lock").open("a") as lock, assignment_mod.course_imports(a):
        fcntl.flock(lock, fcntl.LOCK_EX)
        for spec in a.datasets.values():
            module, func = spec.standin.split(":")
            getattr(importlib.import_module(module), func)(root)
    return root


def prepare_data(*, assignment: str, profile: str = "standin", data_root: Path | None = None) -> DataRecord:
    """Make sure the assignment's data is there before anyone is graded, and say what it is.  Builds the
    stand-in only for profile "standin" at the default data root (`build_data`'s rule); anywhere else
    missing data raises `DataNotFound` (catalogue key `data_not_found` or `data_not_found_real`)
    naming the path looked at, and nothing is written there."""
    a = assignment_mod.find(assignment)
    if profile == "standin" and not datasets.explicit_root(data_root):
        build_data(assignment=assignment, data_root=data_root)
    if absent := datasets.missing(a, data_root):
        root = a.data_root(data_root)
        key = "data_not_found" if profile == "standin" else "data_not_found_real"
        values = {"assignment": a.id, "path": str(root), "root": str(root.parent), "profile": profile,
                  "missing": ", ".join(str(p.relative_to(root)) for p in absent)}
        raise DataNotFound(key, **values)
    return DataRecord(profile=profile, digest=batch.data_digest(a, data_root=data_root, profile=profile),
                      standin=datasets.is_standin(a, data_root))


def grade(*, assignment: str, path: Path, out: Path = Path("reports"), sandbox_level: str = "strict",
          allow_weak_sandbox: bool = False, profile: str = "standin", data_root: Path | None = None,
          workers: int | None = None, gpus: Sequence[str] = (), per_gpu: int = 1, force: bool = False,
          cluster: str | None = None, trust_file_times: bool = False, times: Path | None = None,
          on_start: Callable[[int, int], None] | None = None,
          on_result: Callable[[SubmissionResult], None] | None = None,
          on_running: Callable[[list[batch.Running]], None] | None = None,
          on_leftovers: Callable[[sandbox.Leftovers], None] | None = None, warm: bool = True) -> list[SubmissionResult]:
    """Grade every submission under `path` (skipping those already graded with the same graders, data
    and files, unless `force`), each in a kernel started ahead of time unless not `warm`; write
    result.json + fa/en reports per student, the gradebook, the class dashboard and grades.csv.  `times`
    is a TA's CSV of submission times (`davar.book.times`); a skipped student whose submission time
    changed (`times`, `trust_file_times`) gets a new gradebook row with it, nothing re-run.
    `on_start(to_grade, skipped)`, `on_result(result)` and `on_running(running)` report progress as it
    happens.  First, what a killed batch left (`sandbox.remove_stale`) is removed, and `on_leftovers`
    told when there was any."""
    a = assignment_mod.find(assignment)
    level = sandbox.choose_level(sandbox_level, allow_weak=allow_weak_sandbox)
    if (left := sandbox.remove_stale()) and on_leftovers:
        on_leftovers(left)
    data = prepare_data(assignment=assignment, profile=profile, data_root=data_root)
    book = out / a.id / "gradebook.sqlite"
    planned = _plan(a, path, book=book, data_root=data_root, profile=profile, force=force,
                    trust_file_times=trust_file_times, times=times)
    todo, cached = [p for p in planned if not p.done], [p for p in planned if p.done]
    if todo:  # room on the host for every parallel run's disk quota, and a margin (davar/run/quota.py)
        runs = 0 if cluster else len(gpus) * per_gpu if gpus else workers or batch.default_workers(a, profile)
        quota.check_batch(disk_mb=a.limits(profile).disk_mb, runs=runs, out=out)
    snapshots = batch.Snapshots.load(
        book.parent / "snapshots", [p.submission for p in todo],
        {p.submission.student: p.previous for p in todo if p.previous},
        batch.data_digest(a, data_root=data_root, profile=profile))
    if on_start:
        on_start(len(todo), len(cached))
    manual, decided = gradebook.manual(book, a.id), gradebook.overrides(book, a.id)
    graded_with = gradebook.GradedWith(graders=batch.graders_digest(a), config=batch.config_digest(a),
                                       folder=str(a.directory.resolve()))
    keys = {p.submission.student: p.cache_key for p in planned}

    def store(result: SubmissionResult) -> None:
        """The student's files first, the gradebook row last: a batch killed in between grades them again."""
        student_dir = book.parent / result.student
        student_dir.mkdir(parents=True, exist_ok=True)
        (student_dir / "result.json").write_text(result.to_json(), encoding="utf-8")  # the row, byte for byte
        report.render_reports(view(result, a, manual, decided), student_dir, assignment_title=a.title, course=a.course,
                              messages=a.messages, release_hidden=a.visibility.release_hidden, timezone=a.timezone)
        harness_failed = any(m.key in batch.HARNESS_FAILURES for m in result.messages)
        gradebook.add(book, result, cache_key=None if harness_failed else keys[result.student], graded_with=graded_with)

    for p in cached:  # graded before: only a changed submission time is stored
        if p.previous and (p.previous.submitted_at, p.previous.time_source) != (p.submission.submitted_at,
                                                                                 p.submission.time_source):
            store(dataclasses.replace(p.previous, submitted_at=p.submission.submitted_at,
                                      time_source=p.submission.time_source))
    if todo:
        _import_idle("pandas")  # grades.csv's (davar/reporting/exports.py), for the class pages at the end
    for result in batch.grade_all([p.submission for p in todo], a, level=level,
                                  workers=workers or batch.default_workers(a, profile), profile=profile,
                                  data_root=data_root, data_key=data.digest, gpus=gpus, per_gpu=per_gpu,
                                  cluster=cluster, snapshots=snapshots, on_running=on_running, warm=warm):
        store(dataclasses.replace(result, data=data))  # what it was graded on, the same for the whole batch
        if on_result:
            on_result(result)
    if snapshots:  # every worker is done: no blob is being written (davar/grading/snapshot_store.py)
        snapshots.sweep()
    report_all(assignment=str(a.directory), out=out, formats=("html", "csv"), students=False,
               accept_other_graders=True)  # the class pages after grading: `davar report` is where it is checked
    wanted = {p.submission.student for p in planned}
    return [r for r in gradebook.latest(book, a.id) if r.student in wanted]


def _import_idle(name: str) -> None:
    """Import module `name` in a thread at the lowest priority (on Linux a thread has its own nice value):
    the driver mostly waits while its workers grade, and what it imports then is not waited for after the
    last result (pandas: 0.2 s of the class pages' 0.3 s, measured on these machines)."""

    def work() -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        with contextlib.suppress(ImportError):
            importlib.import_module(name)

    threading.Thread(target=work, name="davar-imports", daemon=True).start()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """One student of a batch before it runs: the submission as intake found it (notebooks matched or
    its problem, submission time and its source), its cache key, its newest result in the gradebook if
    any, and whether it is `done`: graded before with these graders, data and files (skipped)."""

    submission: inbox.Submission
    cache_key: str
    previous: SubmissionResult | None
    done: bool


def _plan(a: assignment_mod.Assignment, path: Path, *, book: Path, data_root: Path | None, profile: str,
          force: bool, trust_file_times: bool, times: Path | None) -> list[Planned]:
    """Every student under `path`, by id; nothing is written (the gradebook `book` is read if it exists)."""
    subs = inbox.collect(path, a, trust_file_times=trust_file_times)
    if times is not None:
        given = submission_times.read_times(times, a, known={s.student for s in subs})
        subs = [dataclasses.replace(s, submitted_at=given[s.student], time_source="ta_csv") if s.student in given
                else s for s in subs]
    common = batch.assignment_digest(a, data_root=data_root, profile=profile)
    fresh = force or not book.is_file()
    done = set() if fresh else gradebook.cache_keys(book, a.id)
    last = {} if fresh else {r.student: r for r in gradebook.latest(book, a.id)}
    keys = {s.student: batch.cache_key(s, common) for s in subs}
    return [Planned(submission=s, cache_key=keys[s.student], previous=last.get(s.student),
                    done=keys[s.student] in done) for s in subs]


def plan(*, assignment: str, path: Path, out: Path = Path("reports"), profile: str = "standin",
         data_root: Path | None = None, force: bool = False, trust_file_times: bool = False,
         times: Path | None = None) -> list[Planned]:
    """What `grade` would do, and nothing of it (`davar grade --dry-run`): every student under `path` with
    the notebooks matched (or why none is), the submission time and its source, and whether it would be
    graded or skipped as already graded (`Planned.done`)."""
    a = assignment_mod.find(assignment)
    return _plan(a, path, book=out / a.id / "gradebook.sqlite", data_root=data_root, profile=profile,
                 force=force, trust_file_times=trust_file_times, times=times)


def check(*, assignment: str, notebook: Path, level: str = "auto", out: Path | None = None,
          profile: str = "standin", data_root: Path | None = None) -> SubmissionResult:
    """A student's self-check: the public graders only, in the best sandbox this machine offers
    (`level="auto"`), under limits no stricter than the handout's (`as_promised`); the hidden tests left
    out are announced by number and points (`hidden_tests_announced`).  With `out`, the fa/en self-check
    reports are written there too (`self_check_view`: no student id, submission time or lateness).
    The assignment is looked up from here, else from the notebook's folder upward (`find_for_check`)."""
    a = as_promised(find_for_check(assignment, notebook), profile)
    chosen = sandbox.choose_level(level)
    data = prepare_data(assignment=str(a.directory), profile=profile, data_root=data_root)  # what the kernel binds
    # its kernel starts while the graders' own imports are done, the notebook is read and repaired and the graders
    # are collected
    pool = Pool(a, level=chosen, profile=profile, data_root=data_root, refill=False)
    try:
        _import_grader_modules(a)
        sub = inbox.collect(notebook, a)[0]
        result = grade_submission(sub, a, level=chosen, profile=profile, data_root=data_root, public_only=True,
                                  data=data, pool=pool)
    finally:
        pool.close()
    withheld = _withheld(a)
    if withheld and not any(m.key == "hidden_tests_announced" for m in result.messages):  # a student bundle
        result = dataclasses.replace(result, messages=(*result.messages, outcome.hidden_announcement(
            withheld, result.questions)))
    if out:
        report.render_reports(self_check_view(result), out, assignment_title=a.title, course=a.course,
                              messages=a.messages, timezone=a.timezone)
    return result


def _import_grader_modules(a: assignment_mod.Assignment) -> None:
    """Import what the graders and the reference import (`Assignment.grader_imports`) while the check's kernel
    starts: a reference imports torch, keras or scikit-learn inside its functions, which the check would otherwise
    pay after the notebook ran.  What the imports print (TensorFlow's C++ log lines, on file descriptor 2) is not
    shown, as pytest's capture hid it in the graders.  An import that fails here fails again in the grader that
    needs it, which reports it."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        for name in a.grader_imports():
            with contextlib.suppress(Exception):
                importlib.import_module(name)
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        for fd, was in zip((1, 2), saved, strict=True):
            os.dup2(was, fd)
            os.close(was)
        os.close(null)


def _withheld(a: assignment_mod.Assignment) -> list[float]:
    """The points of each test a student bundle cut from its graders, from the bundle's `withheld.toml`
    (`davar export-public`: their names, questions and points; a test whose points its source does not
    state counts 0); none in a course repository, where a check deselects its hidden tests itself."""
    path = a.directory.parent.parent / "withheld.toml"  # davar.public.bundle.WITHHELD, in the bundle's root
    if not path.is_file():
        return []
    tests = tomllib.loads(path.read_text("utf-8")).get("tests", [])
    return [float(t.get("points", 0.0)) for t in tests for _ in range(int(t.get("instances", 1)))]


def find_for_check(assignment: str, notebook: Path) -> assignment_mod.Assignment:
    """The assignment a student checks: by id or folder as every command finds it, else, where no course
    is found from here ($DAVAR_COURSE, --course, davar.toml from the current folder upward), in the course
    holding the notebook (a student's copy inside the bundle).  Neither: `check_no_course`, saying where to
    run it."""
    try:
        return assignment_mod.find(assignment)
    except AssignmentError as e:
        if e.key != "course_not_found":
            raise
    try:
        root = assignment_mod.course_root(Path(notebook).resolve().parent)
    except AssignmentError:
        raise AssignmentError("check_no_course", assignment=assignment, here=str(Path.cwd())) from None
    return assignment_mod.find(root / "graders" / assignment)


def as_promised(a: assignment_mod.Assignment, profile: str) -> assignment_mod.Assignment:
    """`a` with `profile`'s limits no stricter than the assignment's own `[limits]`, what the handout
    promises a student (a profile's shorter cell timeout is for the TA's batch, not for a self-check)."""
    chosen = a.profiles.get(profile)
    if chosen is None:
        return a
    base = a.base_limits
    kept = {k: v for k, v in chosen.limits.items() if v >= getattr(base, k)}
    return dataclasses.replace(a, profiles={**a.profiles, profile: dataclasses.replace(chosen, limits=kept)})


def self_check_view(result: SubmissionResult) -> SubmissionResult:
    """A self-check's result as its reports show it: no student id (a file name), no submission time (a
    file's time) and no lateness; nothing of it is graded."""
    return dataclasses.replace(result, student="", display_name="", submitted_at="", time_source="", lateness=None)


def audit_key(*, assignment: str, sandbox_level: str = "strict", allow_weak_sandbox: bool = False,
              profile: str = "standin", data_root: Path | None = None) -> audit_mod.Audit:
    """Grade the reference solution (it must score 100 %) and compare the official key with it."""
    a = assignment_mod.find(assignment)
    level = sandbox.choose_level(sandbox_level, allow_weak=allow_weak_sandbox)
    data = prepare_data(assignment=assignment, profile=profile, data_root=data_root)
    found = audit_mod.audit(a, level=level, profile=profile, data_root=data_root)
    return dataclasses.replace(found, result=dataclasses.replace(found.result, data=data))


def requirements(*, assignments: Sequence[str] = ()) -> list[str]:
    """The pip requirements of the `[environment]` of `assignments` (default: every assignment of the course),
    each once, sorted: what the setup installs into the grading environment (`make venv`), never grading."""
    if assignments:
        found = [assignment_mod.find(name) for name in assignments]
    else:
        root = assignment_mod.course_root()
        found = [assignment_mod.load(root / "graders" / name) for name in assignment_mod.known(root)]
    return sorted({package for a in found for package in a.environment.packages})


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Reports:
    """What `report_all` wrote, the students a Moodle worksheet had no row for, and those whose Moodle
    grade is left empty because a TA has yet to grade one of their questions."""

    written: list[Path]
    not_in_moodle: list[str]
    awaiting_ta: list[str] = dataclasses.field(default_factory=list)


def report_all(*, assignment: str, out: Path = Path("reports"), formats: Sequence[str] = ("html",),
               release_hidden: bool | None = None, moodle_worksheet: Path | None = None,
               moodle_key: str = "ID number", students: bool = True, accept_other_graders: bool = False) -> Reports:
    """Re-render from the gradebook alone: a view (`davar.book.view`: the TA's manual scores merged and
    overrides applied, the current late policy) of the latest result of each student; nothing is
    executed.  Each student's result.json is rewritten as the gradebook stores it.  Without
    `students`, only the class-level outputs (dashboard, exports).  Results graded by other grader code, or in another
    course folder with another configuration, are refused (`_check_graded_with`) unless
    `accept_other_graders`."""
    a = assignment_mod.find(assignment)
    if unknown := set(formats) - set(REPORT_FORMATS):
        raise DavarError("report_unknown_format", unknown=", ".join(sorted(unknown)), formats=", ".join(REPORT_FORMATS))
    out_dir = out / a.id
    book = out_dir / "gradebook.sqlite"
    if not book.is_file():
        raise DavarError("report_no_gradebook", path=str(book), assignment=a.id)
    if not accept_other_graders:
        _check_graded_with(a, book)
    release = a.visibility.release_hidden if release_hidden is None else release_hidden
    manual, decided = gradebook.manual(book, a.id), gradebook.overrides(book, a.id)
    stored = gradebook.latest_json(book, a.id)
    results = [view(from_json(text), a, manual, decided) for text in stored]
    written: list[Path] = []
    many_pdfs = "pdf" in formats and students and len(stored) > 1  # in processes, one per core
    with report.pdf_writer() if many_pdfs else contextlib.nullcontext(report.html_to_pdf) as write_pdf:
        for text, r in zip(stored, results, strict=True) if students else ():
            student_dir = out_dir / r.student
            student_dir.mkdir(parents=True, exist_ok=True)
            (student_dir / "result.json").write_text(text, encoding="utf-8")
            written += report.render_reports(r, student_dir, assignment_title=a.title, course=a.course,
                                             messages=a.messages, formats=[f for f in formats if f in report.FORMATS],
                                             release_hidden=release, timezone=a.timezone, write_pdf=write_pdf)
    if "html" in formats:
        written += dashboard.render_dashboard(results, a, out_dir, release_hidden=release)
    if "csv" in formats:
        written.append(exports.write_grades_csv(results, a, out_dir / "grades.csv", release_hidden=release))
    if "xlsx" in formats:
        written.append(exports.write_grades_xlsx(results, a, out_dir / "grades.xlsx", release_hidden=release))
    if "gradescope" in formats:
        written += exports.write_gradescope(results, a, out_dir / "gradescope")
    if "junit" in formats:
        written.append(exports.write_junit(results, a, out_dir / "junit.xml", reveal_hidden=release))
    missing: list[str] = []
    awaiting = sorted(r.student for r in results if any(q.awaiting_ta for q in r.questions))
    if "moodle" in formats:
        if moodle_worksheet is None:
            raise DavarError("moodle_needs_worksheet")
        participants = exports.moodle_participants(moodle_worksheet, key=moodle_key)
        if results and not any(r.student in participants for r in results):  # a worksheet of no use
            raise DavarError("moodle_no_match", count=len(results), worksheet=str(moodle_worksheet), column=moodle_key)
        missing = exports.write_moodle_worksheet(results, a, out_dir / "moodle.csv", participants,
                                                 reveal_hidden=release)
        written.append(out_dir / "moodle.csv")
    return Reports(written=written, not_in_moodle=missing, awaiting_ta=awaiting)


def _check_graded_with(a: assignment_mod.Assignment, book: Path) -> None:
    """Refuse results graded by other code (`batch.graders_digest`: their points are that code's), and
    results graded in another course folder whose configuration differs (another clone's assignment.toml:
    its deadline and late policy would be replaced by this one's).  Editing the configuration in the same
    folder (a late policy, a wording) is what `davar report` is for, and passes."""
    now = gradebook.GradedWith(graders=batch.graders_digest(a), config=batch.config_digest(a),
                               folder=str(a.directory.resolve()))
    recorded = {s: w for s, w in gradebook.graded_with(book, a.id).items() if w is not None}  # None: older books
    code = sorted(s for s, w in recorded.items() if w.graders != now.graders)
    folder = sorted(s for s, w in recorded.items() if w.folder != now.folder and w.config != now.config)
    if other := code or folder:
        names = ", ".join(other[:5]) + (" …" if len(other) > 5 else "")
        raise DavarError("report_other_graders" if code else "report_other_folder", count=len(other),
                         students=names, assignment=a.id, folder=recorded[other[0]].folder, current=now.folder,
                         course=str(Path(recorded[other[0]].folder).parent.parent))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Imported:
    """What `import_scores` stored: how many scores, and where."""

    count: int
    gradebook: Path


def _existing_gradebook(a: assignment_mod.Assignment, out: Path) -> Path:
    """The assignment's gradebook under `out`; a `ScoresError` when there is none (a wrong or forgotten
    --out), so that nothing is written into a new, empty one."""
    book = out / a.id / "gradebook.sqlite"
    if not book.is_file():
        raise ScoresError("scores_no_gradebook", path=str(book), assignment=a.id)
    return book


def import_scores(*, assignment: str, file: Path, out: Path = Path("reports")) -> Imported:
    """Add a TA's manual grades to the assignment's existing gradebook: the whole file or nothing.  Every
    student must have a result there (an unknown id is refused with the closest ids suggested)."""
    a = assignment_mod.find(assignment)
    book = _existing_gradebook(a, out)
    found = scores.read_csv(file, a, known=gradebook.students(book, a.id))
    gradebook.add_manual(book, a.id, found)
    return Imported(count=len(found), gradebook=book)


def list_scores(*, assignment: str, out: Path = Path("reports"), student: str | None = None
                ) -> list[scores.ManualScore]:
    """The manual scores stored (deleted ones left out), by student and question, the latest first in
    each: the first of each (student, question) is the one reports count."""
    a = assignment_mod.find(assignment)
    book = _existing_gradebook(a, out)
    if student is not None:
        student = scores.normalise(student)
    return scores.history(gradebook.manual(book, a.id), student)


def delete_scores(*, assignment: str, student: str, question: str | None = None,
                  out: Path = Path("reports")) -> int:
    """Delete a student's manual scores (of `question`, or all): a TA's correction.  The rows stay in the
    gradebook marked deleted, and reports no longer count them.  Returns how many were deleted; a
    `ScoresError` when there is none to delete (closest students with manual scores suggested)."""
    a = assignment_mod.find(assignment)
    book = _existing_gradebook(a, out)
    student = scores.normalise(student)
    question = None if question is None else scores.normalise(question)
    deleted = gradebook.delete_manual(book, a.id, student, question)
    if not deleted:
        close = scores.suggestions(student, {s.student for s in gradebook.manual(book, a.id)})
        if question is None:
            raise ScoresError("scores_nothing_to_delete_any", student=student, suggestions=", ".join(close) or "-")
        raise ScoresError("scores_nothing_to_delete", student=student, question=question,
                          suggestions=", ".join(close) or "-")
    return deleted


def override_score(*, assignment: str, student: str, test: str, points: float | str, reason: str, by: str,
                   question: str | None = None, out: Path = Path("reports")) -> overrides.Override:
    """A TA's points for one automatic test of one student, with a reason (`davar.book.decisions`); the
    next `davar report` shows it, and a regrade keeps it."""
    a = assignment_mod.find(assignment)
    return decisions.override_test(book=_existing_gradebook(a, out), assignment=a.id, student=student, test=test,
                                   points=points, reason=reason, by=by, question=question)


def clear_override(*, assignment: str, student: str, test: str, by: str, reason: str = "",
                   question: str | None = None, out: Path = Path("reports")) -> overrides.Override:
    """Remove a student's override of a test (kept in the history): its automatic points count again."""
    a = assignment_mod.find(assignment)
    return decisions.clear_override(book=_existing_gradebook(a, out), assignment=a.id, student=student, test=test,
                                    by=by, reason=reason, question=question)


def list_overrides(*, assignment: str, out: Path = Path("reports"), student: str | None = None
                   ) -> list[overrides.Override]:
    """Every override and clearing stored, by student, question and test, the latest first in each."""
    a = assignment_mod.find(assignment)
    book = _existing_gradebook(a, out)
    return overrides.history(gradebook.overrides(book, a.id), None if student is None else scores.normalise(student))
