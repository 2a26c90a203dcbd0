"""Grade many submissions: parallel sandbox slots, results streamed out as they finish, and resume.

    for result in batch.grade_all(submissions, assignment, level="strict", workers=2, done=keys):
        ...  # the driver writes the gradebook and the reports, one result at a time

Each worker process owns one slot for its whole life (its own sandbox uid and cgroups: ARCHITECTURE.md §2)
and grades one submission at a time with `grade.grade_submission`.  Workers are a
`ProcessPoolExecutor` (the standard library's pool, not a home-made queue) started with `spawn`, so
no worker inherits the driver's threads or sockets; even one slot is a worker, so that the driver never
holds a kernel and a stop is the same whatever the slot count.

Stops: SIGTERM, SIGINT and SIGHUP of the driver stop the batch (`Stopped`): the workers are killed
(their kernels go with them: bubblewrap's ``--die-with-parent``, the cgroup), their cgroups and run
folders removed (`sandbox.remove_stale`), and what was yielded before is the work kept.  Workers run in
sessions of their own, so a terminal's Ctrl-C or hang-up reaches the driver alone, which stops them.  A
driver killed outright (``kill -9``) takes its workers with it: each asks the kernel for SIGKILL when its
parent dies (``prctl(PR_SET_PDEATHSIG)``; measured on these machines: the worker is gone 2 ms after the
driver, even while stuck in C code holding the GIL, where a thread polling ``getppid`` takes its poll
interval, or forever; process groups do not help against ``kill -9 PID``).  What such a run left, the
next `davar grade` removes (`sandbox.remove_stale`, by the owner's pid in the run's name).

A worker that dies (a crash in the harness, the OOM killer) or stays on one submission past
`stall_limit_s` (killed by the driver) costs only that submission: its result says so (`worker_lost`,
`worker_stalled`; not cached, so the same command grades it again), the submissions its pool's break
interrupted run again on a fresh pool, and the batch goes on.

Data: the driver resolves the data folder (``--data``, ``$DAVAR_DATA`` or the course's ``data/``) and its
digest once (`DataExpected`); each worker, on this machine or on Dask, checks before its first notebook
that the same path holds the same data (`check_data`: the assignment's public and hidden datasets, the
digest by name, size and mtime, computed once per worker and batch) and otherwise refuses the task
with a keyed error naming the worker and the path: the batch stops, and no student gets a result
computed without the course's data.

Past one machine, the same task runs on Dask distributed (`cluster="local"` for a LocalCluster, or a
scheduler address).  The submission's files and the assignment's graders and reference travel with
the tasks (the graders once per worker, broadcast); each worker needs davar, the frameworks and the
assignment's data at the same `--data` path, and must run one task at a time
(`dask worker --nthreads 1`); its slot is its rank among the cluster's workers, sharing its host's cores
with the others there.  Each worker's first kernels start as the batch starts (`_warm_worker`), and its pool
outlives the batch: a cluster kept running between commands regrades in kernels already warm.  A worker
that sees the driver's snapshot folder (the same machine, a shared file system) saves and restores
snapshots as the driver's own workers do.  Results come back as JSON text, never as pickled objects, and
the gradebook stays with the driver.

Resume and cache: `cache_key` names what a result depends on: the submission's files, the graders
and reference, the data, the profile and davar's version.  A submission whose key is already in the
gradebook is skipped, so running the same command again after Ctrl-C or `kill -9` grades only what
is missing, and changing a grader regrades everyone.
"""

from __future__ import annotations

import atexit
import concurrent.futures as cf
import contextlib
import ctypes
import dataclasses
import hashlib
import json
import multiprocessing
import multiprocessing.util
import os
import queue
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from davar import __version__, datasets, files
from davar.assignment import Assignment
from davar.assignment import load as load_assignment
from davar.errors import DataNotFound, DavarError, UnsafeFile
from davar.grading import snapshot_store
from davar.intake.inbox import Submission
from davar.results import Level, SubmissionResult, from_json
from davar.run import sandbox
from davar.run.sandbox import Slot, cpu_slots, gpu_slots

_slot = Slot()  # this worker process's slot, set by `_start_worker`
_began: Any = None  # where this worker says which job it takes (`_start_worker`)
_kernels_left: Any = None  # the batch's notebook runs no worker has started yet, shared (`_start_worker`)
#: The messages of a result davar failed to compute: not cached, so the same command grades it again.
HARNESS_FAILURES = frozenset({"harness_error", "worker_lost", "worker_stalled"})
#: What `stall_limit_s` allows the graders of one submission beyond its notebooks' own time limits.
STALL_MARGIN_S = 900
#: What stops a batch (`Stopped`): `kill`, Ctrl-C, a closed terminal.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1  # prctl(2)


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
    """Where the notebooks' saved namespaces go (`<root>/<student>/<notebook>.json` manifests + manifest.json,
    their values once for all students in `<root>/objects`: `snapshot_store`), and the last results of the
    students whose snapshots can serve a regrade (same files, same data)."""

    root: Path
    previous: dict[str, SubmissionResult]

    @classmethod
    def load(cls, root: Path, submissions: list[Submission], last: dict[str, SubmissionResult], data_key: str):
        return cls(root, {s.student: last[s.student] for s in submissions
                          if s.student in last and cls.holds(root / s.student, s, data_key)})

    @staticmethod
    def holds(folder: Path, submission: Submission, data_key: str) -> bool:
        """Whether the student's snapshot `folder` was saved for these files and data: its manifest, as
        `prepare` wrote it (read as `davar.files` reads: a regular file, 64 KiB at most)."""
        with contextlib.suppress(OSError, ValueError, UnsafeFile):
            manifest = json.loads(files.read_bytes(folder / "manifest.json", limit=2**16, beneath=folder.parent))
            return bool(manifest == {"digest": submission.digest, "data": data_key})
        return False

    def prepare(self, submission: Submission, data_key: str) -> tuple[Path | None, SubmissionResult | None]:
        """The student's snapshot folder; emptied first when the notebooks will run for real.  None for a
        student whose id names the blobs' folder: their notebooks run again at a regrade."""
        if submission.student == snapshot_store.OBJECTS:
            return None, None
        folder = self.root / submission.student
        if submission.student not in self.previous:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            (folder / "manifest.json").write_text(json.dumps({"digest": submission.digest, "data": data_key}))
        return folder, self.previous.get(submission.student)

    def sweep(self) -> int:
        """Remove the stored values no student's snapshot names any more; the bytes freed.  Only when no
        worker is saving one (`snapshot_store`: at the end of a batch)."""
        return snapshot_store.Store(self.root).sweep() if self.root.is_dir() else 0


@dataclass(frozen=True, slots=True)
class DataExpected:
    """The data a batch is graded on, as the driver resolved it once: the data root (absolute: ``--data``,
    ``$DAVAR_DATA`` or the course's ``data/``) and `data_digest` there.  Every worker must see the same
    (`check_data`); `batch` tells one batch from the next (a Dask worker outlives a batch)."""

    root: Path
    digest: str
    batch: str
    version: str = __version__  # the driver's davar

    @classmethod
    def resolve(cls, assignment: Assignment, *, data_root: Path | None, profile: str,
                digest: str | None = None) -> DataExpected:
        root = assignment.data_root(data_root).parent.absolute()
        return cls(root=root, digest=digest or data_digest(assignment, data_root=root, profile=profile),
                   batch=uuid.uuid4().hex)


_checked: set[tuple[str, str, DataExpected]] = set()  # per process: (assignment, profile, expected) seen


def check_data(assignment: Assignment, *, expected: DataExpected, profile: str, worker: str) -> None:
    """Refuse to grade anyone here unless this machine has the driver's data at the driver's path: each
    of the assignment's datasets, public and hidden (`DataNotFound` "worker_data_missing"), and the same
    files by name, size and mtime ("worker_data_differs"), seen by the same davar ("worker_davar_differs":
    the digest counts davar's version).  `worker` names this worker in the error.  Checked once per process
    and batch."""
    key = (assignment.id, profile, expected)
    if key in _checked:
        return
    folder = assignment.data_root(expected.root)
    if expected.version != __version__:
        raise DavarError("worker_davar_differs", worker=worker, version=__version__, driver_version=expected.version)
    if absent := datasets.missing(assignment, expected.root):
        raise DataNotFound("worker_data_missing", worker=worker, path=str(folder),
                           missing=", ".join(str(p.relative_to(folder)) for p in absent))
    if data_digest(assignment, data_root=expected.root, profile=profile) != expected.digest:
        raise DavarError("worker_data_differs", worker=worker, path=str(folder))
    _checked.add(key)


def _this_worker() -> str:
    return f"{socket.gethostname()} (pid {os.getpid()})"


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
    expected: DataExpected | None = None  # the driver's data: checked here first (`check_data`)
    warm: bool = True  # in a kernel the worker's pool started ahead of time (`davar.run.pool`); else started now

    def run(self, slot: Slot, *, worker: str = "") -> str:
        """The result as JSON text (what crosses process and machine boundaries); a `DavarError` instead
        when this machine does not have the driver's data (`expected`)."""
        import logging

        from davar.grading.grade import grade_submission
        from davar.run.pool import for_slot

        if self.expected is not None:
            check_data(self.assignment, expected=self.expected, profile=self.profile, worker=worker or _this_worker())
        logging.getLogger("papermill").setLevel(logging.CRITICAL)
        logging.getLogger("traitlets").setLevel(logging.ERROR)
        pool = for_slot(self.assignment, level=self.level, profile=self.profile, slot=slot,
                        data_root=self.data_root) if self.warm else None
        return grade_submission(self.submission, self.assignment, level=self.level, profile=self.profile,
                                data_root=self.data_root, slot=slot, snapshot_dir=self.snapshot_dir,
                                previous=self.previous, pool=pool).to_json()


class Stopped(Exception):
    """The driver was told to stop (`STOP_SIGNALS`) and did: its workers and their kernels are gone, their
    cgroups and run folders removed.  What was yielded before is the batch's work so far; the same command
    grades the rest."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name


class _Stop:
    """While a batch runs, a stop signal only notes that it must stop (`signum`); the loop waiting for
    results looks at least every quarter second and stops the batch itself (`check`), so a signal never
    lands in a gradebook write or a worker's pickle, and a second one while stopping changes nothing.
    Only the main thread receives signals: elsewhere this does nothing."""

    def __init__(self) -> None:
        self.signum = 0
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Stop:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._note) for s in STOP_SIGNALS}
        return self

    def _note(self, signum: int, frame: object) -> None:
        self.signum = self.signum or signum

    def check(self) -> None:
        if self.signum:
            raise Stopped(self.signum)

    def __exit__(self, *exc: object) -> None:
        for s, handler in self._previous.items():
            if handler is not None:  # None: not installed from Python, nothing to put back
                signal.signal(s, handler)


def grade_all(submissions: list[Submission], assignment: Assignment, *, level: Level, workers: int = 1,
              gpus: Sequence[str] = (), per_gpu: int = 1, profile: str = "standin", data_root: Path | None = None,
              data_key: str | None = None, cluster: str | None = None, snapshots: Snapshots | None = None,
              on_running: Callable[[list[Running]], None] | None = None,
              warm: bool = True) -> Iterator[SubmissionResult]:
    """Grade `submissions`, yielding each result as soon as it is ready (in finishing order).  `warm`: each
    worker starts the next kernels ahead of time (`davar.run.pool`; Dask workers always do).  With
    `gpus`, there are `per_gpu` slots on each listed device instead of `workers` CPU slots.  With
    `snapshots`, namespaces are saved and reused (module docstring; on Dask, by the workers that see the
    driver's snapshot folder).  `data_key` is
    `data_digest` when the caller has it.  Raises `Stopped` on a stop signal, and a worker's `DavarError`
    (its data is not the driver's); either way the workers are stopped first and nothing more is yielded."""
    expected = DataExpected.resolve(assignment, data_root=data_root, profile=profile, digest=data_key)
    with _Stop() as stop:
        if cluster:
            yield from _on_dask(submissions, assignment, cluster=cluster, workers=workers, level=level,
                                profile=profile, expected=expected, snapshots=snapshots, stop=stop)
            return
        jobs = []
        for s in submissions:
            folder, previous = snapshots.prepare(s, expected.digest) if snapshots else (None, None)
            jobs.append(Job(s, assignment, level, profile, expected.root, folder, previous, expected, warm))
        slots = gpu_slots(list(gpus), per_gpu) if gpus else cpu_slots(max(workers, 1))
        yield from _on_pool(jobs, slots, stop=stop, on_running=on_running)


def stall_limit_s(job: Job) -> float:
    """How long a worker may spend on `job` before it is taken for stuck: twice every notebook's whole time
    limit (a re-run without a fatal cell) and `STALL_MARGIN_S` for the graders.  Every step has its own
    limit, so only a harness fault reaches this one."""
    notebooks = len(job.submission.notebooks) or len(job.assignment.notebooks) or 1
    return 2 * notebooks * job.assignment.limits(job.profile).total_timeout_s + STALL_MARGIN_S


def _on_pool(jobs: list[Job], slots: list[Slot], *, stop: _Stop,
             on_running: Callable[[list[Running]], None] | None) -> Iterator[SubmissionResult]:
    """Run `jobs` on a pool of workers, one slot each, yielding results as they finish.  A worker that dies
    (a crash in the harness, the OOM killer) or stays on one job past `stall_limit_s` (then killed here)
    breaks the pool: its job gets a result that says so (`worker_lost`, `worker_stalled`), the jobs the
    break interrupted run again on a fresh pool (twice interrupted by a break without a culprit: lost too),
    and the batch goes on.  A pool that breaks before any job is taken (a worker that cannot start: a script
    that calls davar without a `__main__` guard has every spawned worker run it again) is tried once more, then
    its jobs get `workers_failing`."""
    from davar.grading.grade import unexecuted_result

    todo = dict(enumerate(jobs))
    interrupted: dict[int, int] = {}
    while todo:
        ended = yield from _pool_round(todo, slots, stop=stop, on_running=on_running)
        culprit = any(key not in RETRIED for key, _ in ended.values())
        for i, (key, values) in ended.items():
            if key in RETRIED:  # a bystander of a worker's end: again, as long as each break has a culprit that
                interrupted[i] = interrupted.get(i, 0) + (not culprit)  # leaves the batch
                if interrupted[i] < 2:
                    continue
                key = RETRIED[key]
            job = todo.pop(i)
            yield unexecuted_result(job.submission, job.assignment, level=job.level, status="execution_error",
                                    key=key, values=values)
        sandbox.remove_stale()  # the ended workers' cgroups (what still ran in them) and run folders


def _pool_round(todo: dict[int, Job], slots: list[Slot], *, stop: _Stop,
                on_running: Callable[[list[Running]], None] | None) -> Generator[
                    SubmissionResult, None, dict[int, tuple[str, dict[str, Any]]]]:
    """One pool for the jobs of `todo` (popped as their results are yielded) until they are done or the
    pool breaks; then the jobs that were running, each with why it ended: `worker_stalled`,
    `worker_lost` (its own worker died) or `pool_broken` (another one's did); or, when the pool broke with none
    running, every job of `todo` with `pool_unstarted`."""
    ctx = multiprocessing.get_context("spawn")
    free, began = ctx.Queue(), ctx.Queue()
    kernels_left = ctx.Value("i", sum(_runs(job) for job in todo.values()))
    for slot in slots:
        free.put(slot)
    # Workers are started by `submit`, here, in the thread that runs the batch: a worker's
    # PR_SET_PDEATHSIG fires when the thread that started it ends.
    first = next(iter(todo.values()))  # every job of a batch is for the same assignment, level and data
    pool = cf.ProcessPoolExecutor(max_workers=len(slots), mp_context=ctx, initializer=_start_worker,
                                  initargs=(free, os.getpid(), began, kernels_left, first if first.warm else None))
    pending = {pool.submit(_run_in_slot, i, job): i for i, job in todo.items()}
    started: dict[int, tuple[float, int]] = {}  # job -> when its worker took it, and that worker's pid
    workers: dict[int, Any] = {}  # pid -> its multiprocessing.Process (the pool forgets them when it breaks)
    stalled: dict[int, float] = {}
    broken = False
    try:
        while pending and not broken:
            stop.check()
            done, _ = cf.wait(pending, timeout=0.25, return_when=cf.FIRST_COMPLETED)
            workers.update(pool._processes or {})
            with contextlib.suppress(queue.Empty):
                while True:
                    i, pid = began.get_nowait()
                    started[i] = (time.monotonic(), pid)
            for i, (since, pid) in started.items():
                if i in todo and i not in stalled and time.monotonic() - since > (limit := stall_limit_s(todo[i])):
                    stalled[i] = limit
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
            if on_running:
                on_running([Running(todo[i].submission.student, since) for i, (since, _) in started.items()
                            if i in todo])
            for f in done:
                i = pending.pop(f)
                if isinstance(f.exception(), cf.process.BrokenProcessPool):
                    broken = True
                    continue
                stop.check()  # nothing is yielded once stopping: what was yielded is what is kept
                result = f.result()
                del todo[i]
                yield from_json(result)
        stop.check()
    finally:
        if pending and not broken:  # stopped, a worker's error, or the caller gave up: no worker goes on
            for process in list((pool._processes or {}).values()):  # 3.14: pool.kill_workers()
                with contextlib.suppress(OSError):
                    process.kill()
        pool.shutdown(wait=True, cancel_futures=True)
        if pending and not broken:
            sandbox.remove_stale()  # the killed workers' cgroups (what still ran in them) and run folders
    ended: dict[int, tuple[str, dict[str, Any]]] = {}
    if broken and not any(i in todo for i in started):  # no job to blame: a worker died before taking one
        codes = [p.exitcode for p in workers.values() if p.exitcode not in (None, 0, -signal.SIGTERM)]
        return {i: ("pool_unstarted", {"code": codes[0] if codes else "?"}) for i in todo}
    for i, (_, pid) in started.items():
        if i in todo:
            code = workers[pid].exitcode if pid in workers else None
            if i in stalled:
                ended[i] = ("worker_stalled", {"minutes": round(stalled[i] / 60)})
            elif code not in (None, -signal.SIGTERM):  # the pool's break terminated the others
                ended[i] = ("worker_lost", {"code": code})
            else:
                ended[i] = ("pool_broken", {"code": code})
    return ended


#: What a pool's break tells a job it did not cause (it runs again), and the key its second such break gets.
RETRIED = {"pool_broken": "worker_lost", "pool_unstarted": "workers_failing"}


def _runs(job: Job) -> int:
    """The notebook runs `job` will start: none for a regraded notebook its last grading's replies can answer
    (a request they lack has its kernel started then: `davar.grading.kernels`)."""
    if job.previous is None or job.snapshot_dir is None:
        return len(job.submission.notebooks)
    return sum(not snapshot_store.has_replies(job.snapshot_dir / f"{nb}.json") for nb in job.submission.notebooks)


def _start_worker(slots: Any, driver: int, began: Any, kernels_left: Any, warm: Job | None) -> None:
    """A pool worker's start: a session of its own (a terminal's Ctrl-C and hang-up reach the driver alone,
    which stops the batch), death with the driver (`_die_with`), its slot for life, the queue it tells
    the driver which job it takes on, the count of notebook runs not yet started, and (for `warm` jobs) its
    first kernels starting while it imports what grading needs and waits for its first job: no more of them
    than runs are left (a run that needs one more, a re-run without a fatal cell, starts its own)."""
    global _slot, _began, _kernels_left
    with contextlib.suppress(OSError):
        os.setsid()
    _die_with(driver)
    _slot = slots.get()
    _began, _kernels_left = began, kernels_left
    if warm is not None:
        from davar.run import pool

        pool.for_slot(warm.assignment, level=warm.level, profile=warm.profile, slot=_slot, data_root=warm.data_root,
                      wanted=_kernels_wanted)
        # A worker leaves through multiprocessing's exit, which joins every thread (the pool's starts included)
        # before `atexit` runs; its finalizers run before that join: the pool closes there, starts cut short.
        multiprocessing.util.Finalize(None, pool.close, exitpriority=0)
    multiprocessing.util.Finalize(None, _exit_now, exitpriority=-100)  # the last of them


def _exit_now() -> None:
    """A worker's last step once its finalizers ran: the `atexit` handlers, then out, as a forked
    multiprocessing child leaves, without tearing down every module it imported one by one (pytest,
    papermill, jupyter_client, zmq: measured 0.2 s at the end of every batch, which the driver waits for
    before the class pages)."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)


def _die_with(driver: int) -> None:
    """Have this process killed (SIGKILL) as soon as `driver`, its parent, is gone: by the kernel on Linux
    (PR_SET_PDEATHSIG: no thread, works whatever the worker is stuck in), elsewhere by a thread that
    watches the parent (module docstring: why)."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    else:
        threading.Thread(target=_watch_parent, args=(driver,), daemon=True).start()
    if os.getppid() != driver:  # it died before that
        os._exit(1)


def _watch_parent(driver: int) -> None:
    while os.getppid() == driver:
        time.sleep(0.5)
    os._exit(1)


def _kernels_wanted(taken: int) -> int:
    """The batch's notebook runs left once this worker's pool has handed out `taken` more kernels (`Pool`)."""
    with _kernels_left.get_lock():
        _kernels_left.value -= taken
        return int(_kernels_left.value)


def _run_in_slot(i: int, job: Job) -> str:
    _began.put((i, os.getpid()))
    return job.run(_slot)


# ------------------------------------------------------------------------------------------- Dask


def _files(root: Path, names, limit: int) -> dict[str, bytes]:
    """A submission's files as bytes for a Dask worker: regular files only, `limit` bytes in all
    (`davar.files`).  One that is no longer a regular file stays behind: the worker's run finds it missing
    and the result says so."""
    out: dict[str, bytes] = {}
    for name in names:
        with contextlib.suppress(OSError, UnsafeFile):
            out[str(name)] = files.read_bytes(root / name, limit=limit, beneath=root)
            limit -= len(out[str(name)])
    return out


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
_courses_lock = threading.Lock()  # a task and `_warm_worker` may ask at once


def _course_here(course: dict[str, bytes], course_key: str, assignment_id: str) -> Assignment:
    """The assignment of `course` on this worker, its graders written once per worker."""
    with _courses_lock:
        if course_key not in _courses:
            # named as a run folder of this worker: once the worker is gone, `sandbox.remove_stale` removes it
            folder = Path(tempfile.mkdtemp(prefix=f"{sandbox.run_prefix()}course-"))
            _write(course, folder)
            _courses[course_key] = folder
    return load_assignment(_courses[course_key] / "graders" / assignment_id)


def _grade_on_worker(files: dict[str, bytes], submission: Submission, course: dict[str, bytes], course_key: str,
                     assignment_id: str, level: Level, profile: str, expected: DataExpected,
                     snapshot_dir: Path | None = None, previous: str | None = None) -> str:
    """A Dask task: write the submission and (once per worker) the graders locally, then grade, on the
    driver's data (`check_data`: refused when this worker does not have it).  `snapshot_dir` and `previous`
    (a result's JSON) as `Snapshots.prepare` gave them, used where this worker sees the driver's folder."""
    from distributed import get_client, get_worker

    assignment = _course_here(course, course_key, assignment_id)
    worker = _dask_worker()
    check_data(assignment, expected=expected, profile=profile, worker=worker)  # before anything is written
    with tempfile.TemporaryDirectory(prefix="davar-sub-") as tmp:
        root = Path(tmp)
        _write(files, root)
        local = dataclasses.replace(submission, root=root, notebooks={
            name: root / path.relative_to(submission.root) for name, path in submission.notebooks.items()})
        if snapshot_dir is None or not Snapshots.holds(snapshot_dir, submission, expected.digest):
            # not the driver's folder, which `Snapshots.prepare` has just written (another machine, no shared
            # file system): the notebooks run, nothing is saved
            snapshot_dir = previous = None
        job = Job(local, assignment, level, profile, expected.root, snapshot_dir,
                  from_json(previous) if previous else None, expected)
        return job.run(_worker_slot(get_worker(), get_client().scheduler_info()["workers"]), worker=worker)


async def _warm_worker(course: dict[str, bytes], course_key: str, assignment_id: str, level: Level, profile: str,
                       expected: DataExpected, workers: dict[str, Any], dask_worker: Any = None) -> None:
    """Run on every Dask worker as the batch starts (`Client.run`, in the worker's event loop, maybe while its
    first task already runs; a coroutine, so that the driver need not wait for it): its pool's first kernels
    start while the tasks are on their way.  A worker without the driver's data starts none: its first task
    says why."""
    from davar.run import pool

    assignment = _course_here(course, course_key, assignment_id)
    with contextlib.suppress(DavarError):
        check_data(assignment, expected=expected, profile=profile, worker=_dask_worker())
        pool.for_slot(assignment, level=level, profile=profile, slot=_worker_slot(dask_worker, workers),
                      data_root=expected.root)


def _dask_worker() -> str:
    """This Dask worker, as an error names it: its host and address."""
    from distributed import get_worker

    try:
        return f"{socket.gethostname()} ({get_worker().address})"
    except ValueError:  # not in a task (called directly, or by `Client.run`)
        return _this_worker()


def _worker_slot(worker: Any, workers: dict[str, Any]) -> Slot:
    """A LocalCluster's workers are named 0…n-1; other workers get their rank among the cluster's `workers`
    (the scheduler's).  Workers sharing a host share its cores as `cpu_slots` shares them (the math libraries'
    threads, the pool's depth)."""
    on_host = sum(w.get("host") == worker.ip for w in workers.values())
    threads = max(1, len(os.sched_getaffinity(0)) // on_host) if on_host > 1 else None
    index = int(worker.name) if str(worker.name).isdigit() else sorted(workers).index(worker.address)
    return Slot(index, threads=threads)


def _on_dask(submissions: list[Submission], assignment: Assignment, *, cluster: str, workers: int, level: Level,
             profile: str, expected: DataExpected, snapshots: Snapshots | None,
             stop: _Stop) -> Iterator[SubmissionResult]:
    import dask
    from distributed import Client, LocalCluster, as_completed

    with contextlib.ExitStack() as stack:
        if cluster == "local":
            processes: list[int] = []
            stack.callback(_remove_after, processes)  # once the cluster is closed: what its workers left
            # Without the workers' statistical profiler, which walks the task's stack (pytest's, papermill's)
            # every 10 ms: a task took 15-30 % longer with it (bench/README.md, item 8).
            stack.enter_context(dask.config.set({"distributed.worker.profile.enabled": False}))
            local = stack.enter_context(LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True,
                                                     dashboard_address=None))
            client = stack.enter_context(Client(local))
            processes += client.run(_own_worker).values()
        else:
            client = stack.enter_context(Client(cluster))
        course = _course_files(assignment)
        course_key = hashlib.sha256(b"".join(k.encode() + b"\0" + v for k, v in sorted(course.items()))).hexdigest()
        client.run(_warm_worker, course, course_key, assignment.id, level, profile, expected,
                   client.scheduler_info()["workers"], wait=False)  # a worker that does not answer holds up nothing
        [shared] = client.scatter([course], broadcast=True)
        most = assignment.intake.max_unpacked_mb * 2**20  # what intake lets a submission hold
        futures = []
        for s in submissions:
            folder, previous = snapshots.prepare(s, expected.digest) if snapshots else (None, None)
            futures.append(client.submit(
                _grade_on_worker, _files(s.root, s.files, most), s, shared, course_key, assignment.id, level, profile,
                expected, folder.absolute() if folder else None, previous.to_json() if previous else None, pure=False,
                key=f"davar-{s.student}-{s.digest[:12]}"))
        try:
            finished = as_completed(futures)
            while not finished.is_empty():
                stop.check()
                if not finished.has_ready():
                    time.sleep(0.1)
                    continue
                for future in finished.next_batch(block=False):
                    stop.check()
                    yield from_json(future.result())
            stop.check()
        finally:  # a task already running goes on to its end on its worker: Dask cannot interrupt it
            client.cancel([f for f in futures if not f.done()], force=True)


def _own_worker() -> int:
    """On a worker of the batch's own LocalCluster (a multiprocessing child of its nanny): once closed, it leaves as
    the local pool's workers do (`_exit_now`), not tearing down every module it imported one by one (measured: the
    cluster's close 0.6-0.8 s after the last result, the worker's teardown 0.2 s of it, one worker after the other).
    Its pid, for `_remove_after`."""
    multiprocessing.util.Finalize(None, _exit_now, exitpriority=-100)
    return os.getpid()


def _remove_after(processes: list[int], seconds: float = 10.0) -> None:
    """Once `processes` (a LocalCluster's workers, closing) are gone, remove what they left: their run
    folders and cgroups, and the graders they were given (`sandbox.remove_stale`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in processes):
        time.sleep(0.05)
    sandbox.remove_stale()
