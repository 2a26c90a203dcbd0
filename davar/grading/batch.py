"""Grade many submissions: parallel sandbox slots, results streamed out as they finish, and resume.

    for result in batch.grade_all(submissions, assignment, level="strict", workers=2, done=keys):
        ...  # the driver writes the gradebook and the reports, one result at a time

Each worker process owns one slot for its whole life (its own sandbox uid and cgroups: ARCHITECTURE.md §2)
and grades one submission at a time with `grade.grade_submission`.  Workers are a
`ProcessPoolExecutor` (the standard library's pool, not a home-made queue) started with `spawn`, so
no worker inherits the driver's threads or sockets.

Past one machine, the same task runs on Dask distributed (`cluster="local"` for a LocalCluster, or a
scheduler address).  The submission's files and the assignment's graders and reference travel with
the tasks (the graders once per worker, broadcast); each worker needs davar, the frameworks and the
assignment's data at the same `--data` path, and must run one task at a time
(`dask worker --nthreads 1`); its slot is its rank among the cluster's workers.  Results come back as
JSON text, never as pickled objects, and the gradebook stays with the driver.

Resume and cache: `cache_key` names what a result depends on: the submission's files, the graders
and reference, the data, the profile and davar's version.  A submission whose key is already in the
gradebook is skipped, so running the same command again after Ctrl-C or `kill -9` grades only what
is missing, and changing a grader regrades everyone.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from davar import __version__
from davar.assignment import Assignment
from davar.assignment import load as load_assignment
from davar.intake.inbox import Submission
from davar.results import Level, SubmissionResult, from_json
from davar.run.sandbox import Slot, cpu_slots, gpu_slots

_slot = Slot()  # this worker process's slot, set by `_take_slot`


@dataclass(frozen=True, slots=True)
class Running:
    """What the progress display shows about a submission being graded."""

    student: str
    since: float  # time.monotonic() when it was first seen running


def default_workers(assignment: Assignment, profile: str = "standin") -> int:
    """One slot per two cores, as many as the memory limit of a kernel allows; at least one."""
    cores = len(os.sched_getaffinity(0))
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return max(1, min(cores // 2, memory_mb // max(assignment.limits(profile).memory_mb, 1)))


def _digest_tree(h: hashlib._Hash, root: Path, *, content: bool, names: str = "*") -> None:
    if not root.is_dir():
        return
    for p in sorted(root.rglob(names)):
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc"):
            h.update(str(p.relative_to(root)).encode() + b"\0")
            h.update(p.read_bytes() if content else f"{p.stat().st_size}:{p.stat().st_mtime_ns}".encode())


def data_digest(assignment: Assignment, *, data_root: Path | None = None, profile: str = "standin") -> str:
    """What a notebook's run depends on besides its own files: the data (by name, size and mtime: it
    can be large), the profile and davar's version."""
    h = hashlib.sha256(f"davar {__version__}\0profile {profile}\0".encode())
    _digest_tree(h, assignment.data_root(data_root), content=False)
    return h.hexdigest()


def graders_digest(assignment: Assignment) -> str:
    """The code that computes the points, by content: the assignment folder's Python files (graders,
    course modules) and its reference solution.  `davar report` refuses results graded by other code."""
    h = hashlib.sha256()
    _digest_tree(h, assignment.directory, content=True, names="*.py")
    _digest_tree(h, assignment.reference_dir, content=True)
    return h.hexdigest()


def config_digest(assignment: Assignment) -> str:
    """The rest of the assignment folder by content (`assignment.toml`, `messages.toml`, notebooks):
    what a report may apply anew (a late policy, a wording) without a regrade."""
    h = hashlib.sha256()
    for p in sorted(assignment.directory.rglob("*")):
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts:
            h.update(str(p.relative_to(assignment.directory)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def assignment_digest(assignment: Assignment, *, data_root: Path | None = None, profile: str = "standin") -> str:
    """What every result depends on besides the submission: `graders_digest`, `config_digest` and
    `data_digest`."""
    parts = (data_digest(assignment, data_root=data_root, profile=profile), graders_digest(assignment),
             config_digest(assignment))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def cache_key(submission: Submission, assignment_key: str) -> str:
    return hashlib.sha256(f"{submission.digest}\0{assignment_key}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Snapshots:
    """Where the notebooks' saved namespaces go (`<root>/<student>/<notebook>.pkl` + manifest.json), and
    the last results of the students whose snapshots can serve a regrade (same files, same data)."""

    root: Path
    previous: dict[str, SubmissionResult]

    @classmethod
    def load(cls, root: Path, submissions: list[Submission], last: dict[str, SubmissionResult], data_key: str):
        usable = {}
        for s in submissions:
            with contextlib.suppress(OSError, ValueError):
                manifest = json.loads((root / s.student / "manifest.json").read_text("utf-8"))
                if manifest == {"digest": s.digest, "data": data_key} and s.student in last:
                    usable[s.student] = last[s.student]
        return cls(root, usable)

    def prepare(self, submission: Submission, data_key: str) -> tuple[Path, SubmissionResult | None]:
        """The student's snapshot folder; emptied first when the notebooks will run for real."""
        folder = self.root / submission.student
        if submission.student not in self.previous:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            (folder / "manifest.json").write_text(json.dumps({"digest": submission.digest, "data": data_key}))
        return folder, self.previous.get(submission.student)


@dataclass(frozen=True, slots=True)
class Job:
    """One submission to grade, with everything a worker needs."""

    submission: Submission
    assignment: Assignment
    level: Level
    profile: str = "standin"
    data_root: Path | None = None
    snapshot_dir: Path | None = None  # save the notebooks' namespaces here
    previous: SubmissionResult | None = None  # regrade from those snapshots, as this result ran

    def run(self, slot: Slot) -> str:
        """The result as JSON text (what crosses process and machine boundaries)."""
        import logging

        from davar.grading.grade import grade_submission

        logging.getLogger("papermill").setLevel(logging.CRITICAL)
        logging.getLogger("traitlets").setLevel(logging.ERROR)
        return grade_submission(self.submission, self.assignment, level=self.level, profile=self.profile,
                                data_root=self.data_root, slot=slot, snapshot_dir=self.snapshot_dir,
                                previous=self.previous).to_json()


def grade_all(submissions: list[Submission], assignment: Assignment, *, level: Level, workers: int = 1,
              gpus: Sequence[str] = (), per_gpu: int = 1, profile: str = "standin", data_root: Path | None = None,
              cluster: str | None = None, snapshots: Snapshots | None = None,
              on_running: Callable[[list[Running]], None] | None = None) -> Iterator[SubmissionResult]:
    """Grade `submissions`, yielding each result as soon as it is ready (in finishing order).  With
    `gpus`, there are `per_gpu` slots on each listed device instead of `workers` CPU slots.  With
    `snapshots` (not on Dask), namespaces are saved and reused (module docstring)."""
    if cluster:
        yield from _on_dask(submissions, assignment, cluster=cluster, workers=workers, level=level, profile=profile,
                            data_root=data_root)
        return
    data_key = data_digest(assignment, data_root=data_root, profile=profile)
    jobs = [Job(s, assignment, level, profile, data_root, *(snapshots.prepare(s, data_key) if snapshots else ()))
            for s in submissions]
    slots = gpu_slots(list(gpus), per_gpu) if gpus else cpu_slots(max(workers, 1))
    if len(slots) == 1:
        for job in jobs:
            if on_running:
                on_running([Running(job.submission.student, time.monotonic())])
            yield from_json(job.run(slots[0]))
        return
    ctx = multiprocessing.get_context("spawn")
    free = ctx.Queue()
    for slot in slots:
        free.put(slot)
    with cf.ProcessPoolExecutor(max_workers=len(slots), mp_context=ctx, initializer=_take_slot,
                                initargs=(free,)) as pool:
        pending = {pool.submit(_run_in_slot, job): job.submission for job in jobs}
        started: dict[cf.Future, float] = {}
        try:
            while pending:
                done, _ = cf.wait(pending, timeout=1.0, return_when=cf.FIRST_COMPLETED)
                now = time.monotonic()
                for f in pending:
                    if f.running() and f not in started:
                        started[f] = now
                if on_running:
                    on_running([Running(pending[f].student, t)
                                for f, t in started.items() if f in pending and f not in done])
                for f in done:
                    pending.pop(f)
                    yield from_json(f.result())
        finally:
            for f in pending:
                f.cancel()


def _take_slot(slots) -> None:
    global _slot
    _slot = slots.get()


def _run_in_slot(job: Job) -> str:
    return job.run(_slot)


# ------------------------------------------------------------------------------------------- Dask


def _files(root: Path, names) -> dict[str, bytes]:
    return {str(name): (root / name).read_bytes() for name in names}


def _course_files(assignment: Assignment) -> dict[str, bytes]:
    """graders/<id>/ and reference/<id>/ as relative path -> bytes."""
    repo = assignment.directory.parent.parent
    return {f"{top}/{assignment.id}/{p.relative_to(folder)}": p.read_bytes()
            for top, folder in (("graders", assignment.directory), ("reference", assignment.reference_dir))
            if folder.is_dir() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and repo in p.parents}


def _write(files: dict[str, bytes], root: Path) -> None:
    for rel, data in files.items():
        path = (root / rel).resolve()
        if root.resolve() not in path.parents:
            raise ValueError(f"refusing to write outside {root}: {rel}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


_courses: dict[str, Path] = {}  # per worker process: course digest -> where its graders were written


def _grade_on_worker(files: dict[str, bytes], submission: Submission, course: dict[str, bytes], course_key: str,
                     assignment_id: str, level: Level, profile: str, data_root: Path | None) -> str:
    """A Dask task: write the submission and (once per worker) the graders locally, then grade."""
    if course_key not in _courses:
        _courses[course_key] = Path(tempfile.mkdtemp(prefix="davar-course-"))
        _write(course, _courses[course_key])
    assignment = load_assignment(_courses[course_key] / "graders" / assignment_id)
    with tempfile.TemporaryDirectory(prefix="davar-sub-") as tmp:
        root = Path(tmp)
        _write(files, root)
        local = dataclasses.replace(submission, root=root, notebooks={
            name: root / path.relative_to(submission.root) for name, path in submission.notebooks.items()})
        return Job(local, assignment, level, profile, data_root).run(_worker_slot())


def _worker_slot() -> Slot:
    """A LocalCluster's workers are named 0…n-1; other workers get their rank among the cluster's."""
    from distributed import get_client, get_worker

    worker = get_worker()
    if str(worker.name).isdigit():
        return Slot(int(worker.name))
    return Slot(sorted(get_client().scheduler_info()["workers"]).index(worker.address))


def _on_dask(submissions: list[Submission], assignment: Assignment, *, cluster: str, workers: int, level: Level,
             profile: str, data_root: Path | None) -> Iterator[SubmissionResult]:
    from distributed import Client, LocalCluster, as_completed

    with contextlib.ExitStack() as stack:
        if cluster == "local":
            local = stack.enter_context(LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True,
                                                     dashboard_address=None))
            client = stack.enter_context(Client(local))
        else:
            client = stack.enter_context(Client(cluster))
        course = _course_files(assignment)
        course_key = hashlib.sha256(b"".join(k.encode() + b"\0" + v for k, v in sorted(course.items()))).hexdigest()
        [shared] = client.scatter([course], broadcast=True)
        futures = [client.submit(_grade_on_worker, _files(s.root, s.files), s, shared, course_key, assignment.id,
                                 level, profile, data_root, pure=False, key=f"davar-{s.student}-{s.digest[:12]}")
                   for s in submissions]
        for future in as_completed(futures):
            yield from_json(future.result())
