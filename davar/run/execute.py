"""Run one notebook of a submission with papermill in the sandbox and keep its kernel alive for grading.

    with execute.run(submission, assignment, notebook="HW3.ipynb", level="strict") as live:
        ...  # graders probe live.bridge
    # the kernel is shut down and its cgroup emptied here, whatever happened

Failures are results: a raising cell, a cell or whole-notebook timeout and a dead kernel (out of
memory, CPU limit, crash) all give a `LiveRun` whose `execution.status` says which.  What happened
is taken from our own per-cell hooks and the exceptions nbclient raises, never from papermill's
saved metadata (which can say "completed" for a killed kernel).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from traitlets import Integer, List, Type, Unicode

from davar import catalogue, files
from davar.assignment import Assignment, Limits
from davar.datasets import native
from davar.errors import InvalidSubmission, KernelUnavailable, UnsafeFile
from davar.inside import protocol
from davar.intake import repair
from davar.intake.inbox import Submission
from davar.probe.bridge import Bridge
from davar.results import CellRecord, CellStatus, ExecutionRecord, Figure, Level, Message, RunStatus, SandboxRecord
from davar.run import cell_names, figures, quota, sandbox

INSIDE = Path(__file__).parent.parent / "inside"  # bound read-only into the sandbox as one folder
SNAPSHOT = protocol.SNAPSHOT  # in the sandbox's working folder
SETUP_TAG = "davar-setup"
SKIPPED_SOURCE = "# davar: left out of this run: it stopped the kernel in the first run\n"
#: What OpenMP, MKL, OpenBLAS, torch and TensorFlow read for their thread counts (TensorFlow has two pools, each a
#: thread a core unless told), and joblib for the processes of `n_jobs=-1` (scikit-learn's, loky's).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                    "TF_NUM_INTEROP_THREADS", "LOKY_MAX_CPU_COUNT")
#: The pids limit counts threads.  With a thread a core, TensorFlow's pools alone were 2 a core and 5 more (a
#: Python that imported it and multiplied had 69 threads told 32, 133 told 64), torch's and OpenBLAS's one a core
#: each: a kernel using the three would pass a limit of 256 on a host of ~60 cores.  So no library is told more
#: than one thread per this many pids.
PIDS_PER_THREAD = 8
#: How long an idle OpenBLAS thread spins before it sleeps: 2**20 cycles (~0.4 ms), not OpenBLAS's 2**28 (~0.1 s).
#: numpy's import starts OpenBLAS's threads, which spun 0.1 s of CPU in every kernel as it booted, on the core
#: the previous student's training ran beside; back-to-back BLAS calls still find their threads awake
#: (bench/README.md, item 12).
OPENBLAS_THREAD_TIMEOUT = "20"
#: OpenMP's waiting threads (torch's, MKL's) sleep rather than spin.  A lone slot's kernel has a thread on every
#: core; with one core busy elsewhere, its spinning threads made iust-dl-1403-hw2's 32 s training cell pass its
#: 180 s limit, where sleeping ones took 52 s; idle, 24–30 s sleeping, 30–31 s spinning (bench/README.md, item 14).
OMP_WAIT_POLICY = "PASSIVE"
#: The kernel's user name ($LOGNAME and $USER, which getpass.getuser() reads first): a walled kernel's uid is in no
#: passwd file, where the fallback raised KeyError (a notebook's own call, a library naming its cache folder).
USER = "student"

_SEED_LINES = {
    None: "import os, random\nos.environ['PYTHONHASHSEED'] = str({seed})\nrandom.seed({seed})\n"
          "try:\n    import numpy\n    numpy.random.seed({seed})\nexcept ImportError:\n    pass\n",
    "torch": "import torch\ntorch.manual_seed({seed})\n",
    "tensorflow": "import tensorflow\ntensorflow.random.set_seed({seed})\n",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveRun:
    """An executed notebook whose kernel may still be alive (``bridge`` is None when it is not)."""

    submission: Submission
    notebook: str
    execution: ExecutionRecord
    level: Level
    limits: Limits
    bridge: Bridge | None
    output_notebook: Path
    audit: AuditLog
    figures: tuple[Figure, ...] = ()  # the images it displayed (`davar.run.figures`)
    workdir: Path | None = None  # the sandbox's working folder, on the host
    notes: tuple[Message, ...] = ()  # submission-level messages about the run (its figures refused)

    def save_snapshot(self, dest: Path) -> dict:
        """Have the kernel save its namespace (`ops.snapshot`, davar/inside/ops.py) and keep the file at `dest` as
        opaque bytes.  Returns what was kept and skipped."""
        if self.bridge is None or self.workdir is None:
            raise KernelUnavailable()  # the kernel is gone: there is no namespace to save
        reply = self.bridge.request("snapshot")  # within the bridge's time limit
        dest.parent.mkdir(parents=True, exist_ok=True)
        # The kernel wrote it, or left a pipe, a link or a folder there: `UnsafeFile`, never a wait.  No
        # file the kernel writes can be larger than its file size limit.
        files.copy_file(self.workdir / SNAPSHOT, dest, limit=self.limits.file_size_mb * 2**20, beneath=self.workdir)
        return reply

    def sandbox_record(self) -> SandboxRecord:
        """The sandbox's facts; only a walled-off kernel had anything blocked.  Without walls (`none`) the kernel
        sees the host: its network use is what `strict` would have blocked, and its file reports the paths its
        cells named that the kernel refused as `strict` would not have them (davar/inside/audit.py)."""
        box = sandbox.strategy(self.level)
        attempts = self.audit.attempts()
        kept = {"blocked": attempts} if box.walled else {
            "not_blocked": tuple(a for a in attempts if a["kind"] == "network"),
            "refused": tuple(a for a in attempts if a["kind"] == "file")}
        return SandboxRecord(level=self.level, network=box.network, limits=dataclasses.asdict(self.limits),
                             not_enforced=box.not_enforced, **kept)


class AuditLog:
    """Datagrams from the kernel's audit hook, read as they come by a thread of its own: the socket queues about
    ten, and the hook waits at most a second in all for room before it drops a report (davar/inside/audit.py;
    read only after the run, a network attempt after ten guessed paths was lost).  Kept: any network use; file
    accesses that name a real host path, or a file named like the grading material (hidden data, graders)
    wherever the notebook guessed it to be, and without walls every file access the kernel refused; at most
    `KEPT` of each, and nothing past `READ` datagrams (a flood is the kernel's own CPU, not ours)."""

    KEPT, READ = 200, 20_000

    def __init__(self, path: Path, *, visible_roots: list[str], protected: list[Path], walled: bool):
        self.path, self.walled = path, walled
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        os.chmod(path, 0o666)
        self.visible_roots = visible_roots
        self.protected_names = {p.name for root in protected if root.is_dir() for p in root.rglob("*")
                                if p.is_file() and p.suffix != ".pyc"}
        self.events: list[dict[str, str]] = []
        self.shim_events: list[dict[str, str]] = []
        self._read, self._lock, self._closing = 0, threading.Lock(), threading.Event()
        threading.Thread(target=self._reader, name="davar-audit", daemon=True).start()

    def attempts(self) -> tuple[dict[str, str], ...]:
        self._drain()
        return tuple(self.events)

    def shim(self) -> tuple[dict[str, str], ...]:
        """What the Colab/Kaggle shim did (davar/inside/colab_shim.py): mounts, downloads, pip, unzip."""
        self._drain()
        return tuple(self.shim_events)

    def close(self) -> None:
        """The reader closes the socket once it sees this (woken by a datagram of our own)."""
        self._closing.set()
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as wake:
            wake.setblocking(False)  # a full queue wakes the reader all the same
            wake.sendto(b"", str(self.path))

    def _reader(self) -> None:
        try:
            readable = select.poll()  # not select(): a worker's descriptors may be numbered past 1024
            readable.register(self.sock, select.POLLIN)
            while not self._closing.is_set() and self._read < self.READ:
                if readable.poll(1000) and not self._drain():
                    time.sleep(0.01)  # read by `attempts` meanwhile, or readable with nothing to read: no spin
        except OSError:
            pass
        finally:
            self._closing.wait()  # what is still queued is read by `attempts` and `shim` until then
            self.sock.close()

    def _drain(self) -> bool:
        """Read what is queued; whether there was anything."""
        before = self._read
        with self._lock, contextlib.suppress(BlockingIOError, OSError):
            while self._read < self.READ:
                data = self.sock.recv(2048)
                self._read += 1
                with contextlib.suppress(ValueError, AttributeError, KeyError):
                    event = json.loads(data)
                    event = {k: str(event[k])[:500] for k in ("kind", "op", "target")}
                    if event["kind"] == "shim":
                        if event not in self.shim_events and len(self.shim_events) < self.KEPT:
                            self.shim_events.append(event)
                    elif event not in self.events and len(self.events) < self.KEPT and self._counts(event):
                        self.events.append(event)
        return self._read > before

    def _counts(self, event: dict[str, str]) -> bool:
        if event["kind"] == "network" or not self.walled:
            return True
        target = os.path.normpath(event["target"])
        if any(target == r or target.startswith(r.rstrip("/") + "/") for r in self.visible_roots):
            return False  # inside the sandbox's own world: a plain "file not found"
        if os.path.basename(target) in self.protected_names:
            return True
        # /tmp is the sandbox's own tmpfs: that the host has the same path (matplotlib's cache) means nothing
        return not target.startswith("/tmp/") and os.path.lexists(target)


class _Client(AsyncKernelClient):
    """jupyter_client's client, ready 0.2 s sooner: its `wait_for_ready` ends with 0.2 s of silence on IOPub
    (a flush), paid by every run on its way to the first cell.  Ready here as soon as the kernel's reply to
    kernel_info came on the shell channel and its idle status for that request on IOPub (so the subscription
    is live); what else IOPub holds concerns no request of nbclient's, which reads only its own.  Once `cancel` is
    set (`_boot`'s: a pool that closes), it stops waiting within 0.1 s rather than when the kernel is up.
    Without a heartbeat: whether the kernel lives is asked of its manager (every client here is a manager's), and
    jupyter_client's heartbeat thread, when its channels were stopped before it ran (a pool's cancelled start, a
    kernel dead at once), undid the stop and made sockets in a loop until its context's 1023 were used up: ~1000
    descriptors open in the harness for a moment, and a thread ending in "Too many open files"."""

    cancel: threading.Event | None = None

    def start_channels(self, shell: bool = True, iopub: bool = True, stdin: bool = True, hb: bool = False,
                       control: bool = True) -> None:
        super().start_channels(shell=shell, iopub=iopub, stdin=stdin, hb=False, control=control)  # asked for or not

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (60.0 if timeout is None else timeout)
        asked: set[str] = set()  # a slow kernel answers an earlier request while a later one waits
        reply = None
        while time.monotonic() < deadline:
            if self.cancel is not None and self.cancel.is_set():
                raise RuntimeError("cancelled: the pool closed while the kernel was starting")
            asked.add(self.kernel_info())
            with contextlib.suppress(queue.Empty):
                while reply is None:  # the kernel is up once it answers one
                    msg = await self.get_shell_msg(timeout=0.1)
                    reply = msg if msg["parent_header"].get("msg_id") in asked else None
                while True:  # then an idle status for one of them on IOPub
                    msg = await self.get_iopub_msg(timeout=0.02)  # none: not subscribed yet, ask again
                    if msg["parent_header"].get("msg_id") in asked and msg["msg_type"] == "status" \
                            and msg["content"].get("execution_state") == "idle":
                        self._handle_kernel_info_reply(reply)
                        return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
        raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")


class _SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command is the sandbox's, over IPC sockets."""

    client_factory = Type(_Client, klass=AsyncKernelClient)

    sandbox_cmd = List(Unicode(), help="the sandbox's argv; {connection_file} is filled in")
    sandbox_uid = Integer(None, allow_none=True, help="the sandbox's uid, owner of the connection file")
    clients: List[AsyncKernelClient] = List(help="the clients handed out, stopped when the kernel goes")

    def client(self, **kwargs):
        """nbclient leaves the client of a kernel it does not own running; remember it to stop it."""
        kc = super().client(**kwargs)
        self.clients = [*self.clients, kc]
        return kc

    def format_kernel_cmd(self, extra_arguments=None):
        return [a.replace("{connection_file}", self.connection_file) for a in self.sandbox_cmd]

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self.sandbox_uid is not None:
            os.chown(self.connection_file, self.sandbox_uid, self.sandbox_uid)


def _prepare_notebook(src: Path, dest: Path, *, seed: int, frameworks: Sequence[str],
                      skip: Collection[int] = ()) -> list[tuple[str, str]]:
    """Copy the notebook with a setup cell in front (seeds; the kernel side installed the Colab/Kaggle shim)
    and the student's cells numbered in `skip` reduced to a comment (kept, so every cell keeps its number);
    return the type and source of each cell the student wrote."""
    nb = repair.load(src)[0]  # as davar.intake.repair reads it: outputs dropped, damage repaired, normalized
    for i in skip:
        nb.cells[i].source = SKIPPED_SOURCE
    for cell in nb.cells:  # the tag tells davar's own cell from the student's (`_CellLog`): theirs never has it
        tags = cell.metadata.get("tags")
        if isinstance(tags, list) and SETUP_TAG in tags:
            cell.metadata["tags"] = [t for t in tags if t != SETUP_TAG]
    code = "".join(_SEED_LINES[k] for k in [None, *frameworks] if k in _SEED_LINES).format(seed=seed)
    setup = nbformat.v4.new_code_cell(code, metadata={"tags": [SETUP_TAG]})
    student_cells = [(c.cell_type, c.source) for c in nb.cells]
    nb.cells.insert(0, setup)
    # Some editors save no kernel metadata; papermill needs the language, and only Python runs here.
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata.setdefault("language_info", {})["name"] = "python"
    nbformat.write(nb, dest)
    return student_cells


class _CellLog:
    """nbclient hooks: our own record of what ran, and output trimming."""

    def __init__(self, output_limit: int):
        self.started: dict[int, float] = {}
        self.finished: dict[int, tuple[int | None, float, CellStatus]] = {}  # executed index -> count, seconds, status
        self.errors: dict[int, dict[str, Any]] = {}  # executed index -> what the cell raised (`CellRecord`'s fields)
        self.first_traceback = ""  # of the first cell that raised
        self.ours: dict[int, bool] = {}
        self.current: int | None = None
        self.output_limit = output_limit
        self.output_used = 0

    def on_cell_start(self, cell, cell_index):
        self.current = cell_index
        self.started[cell_index] = time.monotonic()
        self.ours[cell_index] = bool({SETUP_TAG, "injected-parameters"} & set(cell.metadata.get("tags", [])))

    def student_index(self, executed: int | None) -> int | None:
        """The executed notebook's cell index as the cell's index in the student's notebook."""
        if executed is None:
            return None
        return executed - sum(1 for i, ours in self.ours.items() if ours and i < executed)

    def on_cell_executed(self, cell, cell_index, execute_reply):
        ok = execute_reply["content"].get("status", "ok") == "ok"
        status: CellStatus = "ok" if ok else "error"
        self.finished[cell_index] = (cell.get("execution_count"), round(time.monotonic() - self.started[cell_index], 3),
                                     status)
        if not ok:
            content = execute_reply["content"]
            if not self.errors:
                self.first_traceback = "\n".join(content.get("traceback", []))[-20000:]
            self.errors[cell_index] = {"error_name": str(content.get("ename", ""))[:200],
                                       "error_value": str(content.get("evalue", ""))[:2000],
                                       "defines": cell_names.defined(cell.get("source", ""))}
        self.output_used += len(json.dumps(cell.get("outputs", [])))
        if self.output_used > self.output_limit:
            cell["outputs"] = [nbformat.v4.new_output("stream", name="stderr", text="[davar: output truncated]\n")]

    def cell_records(self, student_cells: list[tuple[str, str]]) -> tuple[CellRecord, ...]:
        """One record per code cell of the student's notebook, in the student's numbering; a cell that did not
        run through (raised, stopped or never started) with the names its code would have defined."""
        ran = {self.student_index(i): i for i, ours in self.ours.items() if not ours}
        out = []
        for j, (kind, source) in enumerate(student_cells):
            if kind != "code":
                continue
            i = ran.get(j, -1)  # -1: the cell never started
            unfinished: CellStatus = "timeout" if i == self.current else "not_run"
            count, seconds, status = self.finished.get(i, (None, 0.0, unfinished))
            fields = self.errors.get(i) or ({} if status == "ok" else {"defines": cell_names.defined(source)})
            out.append(CellRecord(index=j, execution_count=count, duration_s=seconds, status=status, **fields))
        return tuple(out)

    def first_error(self) -> int | None:
        """The executed index of the first cell that raised, if one did."""
        return min(self.errors, default=None)


#: What a kernel started ahead of its submission (`start` for a `davar.run.pool`) has room for on its file
#: system: the submission's files and, for a regrade, its snapshot, in bytes and in files and folders.  A
#: larger submission starts its own kernel; a smaller one gets a file system made the same way, started
#: ahead or not (the same inodes left to the kernel: `quota.DiskQuota.mount`).
WARM_PRELOAD_MB = 1024
WARM_PRELOAD_ENTRIES = 1024


@dataclass(eq=False, kw_only=True)
class Ready:
    """A sandboxed kernel started before its submission is known (`start`): its run folder and file system,
    cgroup, audit socket and kernel, the frameworks imported, nothing of a student's in it yet.  It serves
    exactly one run (`run(ready=...)`), which closes it; `close` undoes it all."""

    rundir: Path
    paths: sandbox.Paths
    limits: Limits
    km: _SandboxedKernelManager
    audit: AuditLog
    cgroup: sandbox.Cgroup | None
    disk: quota.DiskQuota | None
    public: Path
    preload: int  # bytes of the submission's (and its snapshot's) its file system has room for
    entries: int  # and files and folders
    error: str  # why the kernel did not start; "" when it did
    stack: contextlib.ExitStack
    closer: Executor | None = None  # where `close` does its work (a pool's thread); None: here, now

    def alive(self) -> bool:
        return not self.error and bool(run_sync(self.km.is_alive)())

    def close(self) -> None:
        """Kill the kernel and remove its cgroup, file system and run folder (in `closer` when it has one: the
        run's result does not wait for that)."""
        if self.closer is None:
            self.stack.close()
        else:
            self.closer.submit(self.stack.close)


def start(assignment: Assignment, *, level: Level, profile: str = "standin", slot: sandbox.Slot = sandbox.Slot(),
          data_root: Path | None = None, preload: int, entries: int, keep: bool = False,
          cancel: threading.Event | None = None) -> Ready:
    """Start a kernel for one run of `assignment`: a fresh run folder (on its own disk quota, with room for
    `preload` bytes and `entries` files and folders of the submission's), the data binds, a fresh cgroup, the
    kernel started under the sandbox's uid and rlimits, its frameworks imported, its socket folder sealed.  A
    kernel that did not start is a `Ready` with its `error` (the run says "kernel_start_failed"); anything else
    that fails is raised, with what was made undone.  Once `cancel` is set, a start still booting or importing
    gives up (a `Ready` with an error, to be closed): a pool that closes does not wait for a kernel it destroys."""
    limits, box = assignment.limits(profile), sandbox.strategy(level)
    with contextlib.ExitStack() as stack:  # undone in reverse: kernel, audit, cgroup, disk, folder
        rundir = Path(tempfile.mkdtemp(prefix=sandbox.run_prefix()))  # owner in the name: `sandbox.remove_stale`
        if not keep:
            stack.callback(files.remove_tree, rundir)
        disk = box.disk_quota(rundir, limits, preload=preload, entries=entries)
        if disk:
            stack.callback(disk.remove, keep_image=keep)
        public = assignment.public_data(data_root)
        maps, downloads = _data_map(assignment, public, box)
        threads = kernel_threads(slot, limits)
        paths = _work_folder(rundir, public=public, maps=maps if box.walled else (),
                             cores=threads if box.walled else None)
        box.prepare_paths(paths, slot)
        places = {} if box.walled else _places(paths, rundir / "places", maps)
        cgroup = box.cgroup(rundir.name, limits)
        if cgroup:
            stack.callback(cgroup.remove)
        audit = _audit_log(paths, assignment, data_root, walled=box.walled)
        stack.callback(audit.close)
        km, kernel_env = _kernel_manager(box, paths, limits=limits, slot=slot, threads=threads, cgroup=cgroup,
                                         shim={"downloads": downloads, "paths": places})
        stack.callback(_shutdown, km)
        error = _boot(km, env=kernel_env, cwd=paths.work, log=rundir / "kernel.log",
                      frameworks=assignment.frameworks, timeout_s=limits.cell_timeout_s, cancel=cancel)
        if not error:
            box.seal_paths(paths)
        return Ready(rundir=rundir, paths=paths, limits=limits, km=km, audit=audit, cgroup=cgroup, disk=disk,
                     public=public, preload=preload, entries=entries, error=error, stack=stack.pop_all())
    raise AssertionError("unreachable")  # for mypy: the with block returns or raises


@contextlib.contextmanager
def run(submission: Submission, assignment: Assignment, *, notebook: str, level: Level, profile: str = "standin",
        slot: sandbox.Slot = sandbox.Slot(), data_root: Path | None = None, keep: bool = False,
        snapshot: Path | None = None, skip_cells: Collection[int] = (),
        ready: Ready | None = None) -> Iterator[LiveRun]:
    """Execute one of the submission's notebooks in a fresh sandboxed kernel; yield while it is alive.
    The whole submission folder is copied into the sandbox, whichever notebook runs.  The student's cells
    numbered in `skip_cells` (0-based, as `ExecutionRecord.failing_cell`) run as a comment instead of their code.

    `ready`: a kernel `start`ed for this assignment, level, profile and slot ahead of time (`davar.run.pool`),
    used by this run alone and closed after it; without one (or one too small for this submission) the
    run starts its own, the same way, now.

    With `snapshot` (a file `LiveRun.save_snapshot` wrote), the notebook is not run: its saved
    namespace is restored into the fresh kernel instead, and a failure to do so is an "error" status
    with `error_name` "SnapshotRestoreFailed"."""
    box = sandbox.strategy(level)
    preload = quota.size_of([submission.root / f for f in submission.files] + ([snapshot] if snapshot else []))
    entries = quota.entries_of(submission.files) + (2 if snapshot else 0)  # the snapshot and its empty notebook
    with contextlib.ExitStack() as cleanup:  # undone in reverse: bridge, then the kernel and its run folder
        if ready is not None and (preload > ready.preload or entries > ready.entries):
            ready.close()
            ready = None
        if ready is None:  # its file system made as a warm kernel's, unless the submission needs more room
            ready = start(assignment, level=level, profile=profile, slot=slot, data_root=data_root, keep=keep,
                          preload=max(preload, WARM_PRELOAD_MB * 2**20), entries=max(entries, WARM_PRELOAD_ENTRIES))
        cleanup.callback(ready.close)
        limits, paths = ready.limits, ready.paths
        _copy_submission(paths.work, submission, limit=assignment.intake.max_unpacked_mb * 2**20)
        disk = ready.disk.hold(ready.preload - preload) if ready.disk else None  # room for what it has, no more
        source = paths.work / submission.notebooks[notebook].relative_to(submission.root)
        if snapshot is not None:  # nothing of the student's runs: the namespace comes from the snapshot
            source = _prepare_restore(paths.work, snapshot, limits.file_size_mb * 2**20)
        nb_in, nb_out = paths.work / ".davar-input.ipynb", ready.rundir / "executed.ipynb"
        nb_out.touch()  # its inode now: a notebook may leave none (the disk's reserve for the harness is blocks only)
        student_cells = _prepare_notebook(source, nb_in, seed=assignment.seed, frameworks=assignment.frameworks,
                                       skip=skip_cells)
        box.hand_over(paths.work, slot)
        record = _execute(ready, nb_in, nb_out, notebook=notebook, student_cells=student_cells,
                          parameters=_parameters(box, paths, ready.public, assignment, profile),
                          allow_errors=assignment.on_cell_error == "continue" and snapshot is None)
        record = _disk_use(record, disk)
        _stop_clients(ready.km)  # papermill's: what the kernel prints while graders probe it must not pile up here
        bridge = _bridge(ready.km, paths, limits, record)
        if bridge:
            cleanup.callback(bridge.close)
        if snapshot is not None:
            record = _restore(bridge, record)
        shown, notes = _figures(nb_out, notebook, limits)
        yield LiveRun(submission=submission, notebook=notebook, execution=record, level=level, limits=limits,
                      bridge=bridge, output_notebook=nb_out, audit=ready.audit, figures=shown, workdir=paths.work,
                      notes=notes)


def _data_map(assignment: Assignment, public: Path,
              box: sandbox.Sandbox) -> tuple[tuple[tuple[Path, str], ...], dict[str, str]]:
    """The assignment's `[data_map]` as sandbox mounts (path keys) and the shim's downloads (the others, as
    paths the kernel sees), with the URLs of framework dataset loaders whose files the public data holds
    (`native.loader_downloads`).  Entries whose data is missing are left out: the notebook then fails as it
    would on a machine without them."""
    maps, downloads = [], {}
    for key, rel in {**native.loader_downloads(public), **assignment.data_map}.items():
        src = public / rel
        if not src.exists() or ".." in Path(rel).parts:
            continue
        if key.startswith("/"):
            maps.append((src, os.path.normpath(key)))
        else:
            downloads[key] = box.seen(src, f"{sandbox.DATA}/{rel}")
    return tuple(maps), downloads


def _work_folder(rundir: Path, *, public: Path, maps: tuple[tuple[Path, str], ...],
                 cores: int | None) -> sandbox.Paths:
    """The run's folders, with the mount points the data map needs in the working folder (/content/... is
    the working folder); with `cores`, the file that tells the kernel it has that many (`sandbox.Paths.cores`)."""
    online = None
    if cores:
        online = rundir / "cores"
        online.write_text(f"0-{cores - 1}\n" if cores > 1 else "0\n")
    paths = sandbox.Paths(work=rundir / "work", ipc=rundir / "ipc", exchange_in=rundir / sandbox.REQUESTS,
                          exchange_out=rundir / sandbox.REPLIES, data=public if public.is_dir() else None, maps=maps,
                          tmp=rundir / "tmp", cores=online)
    for src, dest in maps:  # bwrap mounts onto points that exist
        for root in sandbox.COLAB_WORK:
            if dest.startswith(root + "/"):
                point = paths.work / dest.removeprefix(root + "/")
                (point if src.is_dir() else point.parent).mkdir(parents=True, exist_ok=True)
                if not src.is_dir():
                    point.touch()
    return paths


def _places(paths: sandbox.Paths, root: Path, maps: tuple[tuple[Path, str], ...]) -> dict[str, str]:
    """Without walls nothing is mounted: where an unwalled kernel finds what a walled one has where a Colab or
    Kaggle notebook looks (the shim's `paths`, davar/inside/colab_shim.py).  /content and /kaggle/working are the
    working folder; each of `maps` is a link, in the working folder where the walled kernel has its mount point,
    else under `root` as under /, whose first folder then stands for the one of /."""
    places = dict.fromkeys(sandbox.COLAB_WORK, str(paths.work))
    for src, dest in sorted(maps, key=lambda m: m[1]):
        under = next((r for r in sandbox.COLAB_WORK if dest.startswith(r + "/")), None)
        if under is not None:
            base, rel = paths.work, dest.removeprefix(under + "/")
        else:
            first = "/" + Path(dest).parts[1]
            places.setdefault(first, str(root / first[1:]))
            base, rel = root, dest[1:]
        # one inside another's place would be made in the course's data: left out (a walled kernel has both)
        if dest not in places and not _through_link(base, rel) and not os.path.lexists(base / rel):
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            (base / rel).symlink_to(src)
    return places


def _through_link(base: Path, rel: str | Path) -> bool:
    """Whether `base / rel` lies inside one of `_places`' links (a folder of the course's data)."""
    return any((base / p).is_symlink() for p in Path(rel).parents)


def _copy_submission(work: Path, submission: Submission, *, limit: int) -> None:
    """A copy of every file of the submission in the working folder (`davar.files`: regular files only, `limit`
    bytes in all, else `InvalidSubmission`); none inside a data map's place there (`_places`: a link to the course's
    data), which a walled kernel's mount hides as well."""
    budget = limit  # the submission's files together (the intake's cap on a submission)
    for rel in submission.files:
        if _through_link(work, rel):
            continue
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        try:  # intake listed regular files; one that is no longer one (or has grown) is refused, not opened
            budget -= files.copy_file(submission.root / rel, work / rel, limit=budget, beneath=submission.root)
        except UnsafeFile as e:
            raise InvalidSubmission(e.key, **e.values) from None


def _prepare_restore(work: Path, snapshot: Path, limit: int) -> Path:
    """Put the snapshot where the kernel's `restore` finds it (at most `limit` bytes); return an empty
    notebook to run instead of the student's (its setup cell still seeds; the kernel has the shim)."""
    files.copy_file(snapshot, work / SNAPSHOT, limit=limit)
    empty = work / ".davar-restore.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), empty)
    return empty


def _audit_log(paths: sandbox.Paths, assignment: Assignment, data_root: Path | None, *, walled: bool) -> AuditLog:
    """The socket the kernel's audit hook reports to, and what makes a report count."""
    return AuditLog(paths.ipc / "audit.sock",
                    visible_roots=[sandbox.WORK, sandbox.DATA, "/exchange", "/proc", "/dev", "/sys"],
                    protected=[assignment.hidden_data(data_root), assignment.directory], walled=walled)


def _kernel_manager(box: sandbox.Sandbox, paths: sandbox.Paths, *, limits: Limits, slot: sandbox.Slot,
                    threads: int | None, cgroup: sandbox.Cgroup | None,
                    shim: dict) -> tuple[_SandboxedKernelManager, dict[str, str]]:
    """A kernel manager that starts the kernel in the sandbox, not yet started; and the environment to
    start it with (a walled-off kernel has its own in its command, and nothing of ours), the math libraries told
    `threads` (`kernel_threads`).  The kernel side installs the Colab/Kaggle shim configured with `shim` when it
    starts (davar/inside/kernel_side.py)."""
    env = {
        "HOME": box.seen(paths.work, sandbox.WORK),
        # Not HOME's .ipython: a profile there (startup files, ipython_kernel_config.py) is the student's code,
        # run while the kernel starts, before the kernel side serves the bridge and before the setup cell.
        "IPYTHONDIR": box.seen(paths.work.parent / "ipython", "/tmp/ipython"),
        "PYTHONNOUSERSITE": "1",  # nor HOME's .local (a usercustomize.py, .pth files) where a site allows them
        "USER": USER,
        "LOGNAME": USER,
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONDONTWRITEBYTECODE": "1",
        protocol.ENV_AUDIT_SOCKET: str(paths.ipc / "audit.sock"),
        protocol.ENV_EXCHANGE_IN: box.seen(paths.exchange_in, sandbox.EXCHANGE_IN),
        protocol.ENV_EXCHANGE_OUT: box.seen(paths.exchange_out, sandbox.EXCHANGE_OUT),
        protocol.ENV_SHIM: json.dumps(shim),
        "CUDA_VISIBLE_DEVICES": slot.gpu if slot.gpu is not None else "",  # no GPU unless the slot has one
        **({k: str(threads) for k in THREAD_VARIABLES} if threads else {}),
        "OPENBLAS_THREAD_TIMEOUT": OPENBLAS_THREAD_TIMEOUT,
        "OMP_WAIT_POLICY": OMP_WAIT_POLICY,
    }
    if not box.walled:  # what the grading's sandbox shows of the host: the cells' reads elsewhere are refused
        env[protocol.ENV_AUDIT_SHOWN] = json.dumps(sandbox.host_view(paths, INSIDE))
    command = box.kernel_command(paths=paths, limits=limits, slot=slot, cgroup=cgroup, env=env, inside=INSIDE)
    km = _SandboxedKernelManager(kernel_name="python3", transport="ipc", ip=str(paths.ipc / "k"),
                                 connection_file=str(paths.ipc / "kernel.json"), sandbox_cmd=command,
                                 sandbox_uid=box.uid(slot))
    return km, {} if box.walled else env


def kernel_threads(slot: sandbox.Slot, limits: Limits) -> int | None:
    """The threads each math library of the kernel is told it may use (None: as many as it finds cores): the slot's
    share of the cores, and never more than the pids limit leaves room for, however many cores the host has."""
    cap = max(1, limits.pids // PIDS_PER_THREAD)
    if slot.threads is None:
        return cap if len(os.sched_getaffinity(0)) > cap else None
    return min(slot.threads, cap)


def _parameters(box: sandbox.Sandbox, paths: sandbox.Paths, public: Path, assignment: Assignment,
                profile: str) -> dict:
    """What papermill injects into the notebook's parameters cell, with the paths the kernel sees."""
    return {"DATA_DIR": box.seen(public, sandbox.DATA), "SEED": assignment.seed,
            "OUTPUT_DIR": f"{box.seen(paths.work, sandbox.WORK)}/output", "PROFILE": profile,
            **assignment.profile_parameters(profile)}


class _Deadline:
    """The whole notebook's time limit and its CPU seconds (all its processes', where the cgroup counts them:
    each process's own rlimit alone let N processes use N times `cpu_s`), while papermill runs: past either,
    kill the kernel and everything it started (its cgroup, or its process group), which nbclient then sees as
    a dead kernel.  `reason` says which: "total_timeout" or "cpu_limit"."""

    POLL_S = 0.5  # how often the CPU count is read: a run overshoots its budget by at most this times its cores

    def __init__(self, seconds: float, cpu_s: float, km: _SandboxedKernelManager, cgroup: sandbox.Cgroup | None):
        self.km, self.cgroup, self.seconds, self.cpu_s = km, cgroup, seconds, cpu_s
        self.passed, self._stop = threading.Event(), threading.Event()
        self.reason = ""
        self._watch = threading.Thread(target=self._run, name="davar-deadline", daemon=True)

    def _run(self) -> None:
        end = time.monotonic() + self.seconds
        used = self.cgroup.cpu_seconds if self.cgroup and self.cgroup.cpu_seconds() is not None else None
        step = self.POLL_S if used else self.seconds
        while not self._stop.wait(max(0.0, min(step, end - time.monotonic()))):
            if time.monotonic() >= end:
                return self._kill("total_timeout")
            if used and (used() or 0) >= self.cpu_s:
                return self._kill("cpu_limit")

    def _kill(self, reason: str) -> None:
        self.reason = reason
        self.passed.set()
        if self.cgroup:
            self.cgroup.kill_all()
        else:
            run_sync(self.km.signal_kernel)(signal.SIGKILL)

    def __enter__(self) -> _Deadline:
        self._watch.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._watch.join()  # a kill under way ends before the run closes and removes the cgroup


def preload_code(frameworks: Sequence[str]) -> str:
    """What a kernel runs before the submission arrives: numpy and the assignment's frameworks imported."""
    return "".join(f"try:\n    import {m}\nexcept ImportError:\n    pass\n" for m in ("numpy", *frameworks))


def _boot(km: _SandboxedKernelManager, *, env: dict[str, str], cwd: Path, log: Path, frameworks: Sequence[str],
          timeout_s: float, cancel: threading.Event | None = None) -> str:
    """Start the kernel with the sandbox's command (what it prints goes to `log`), wait until it answers, and
    import numpy and the assignment's `frameworks` in it without a trace in its history (the setup cell
    seeds them later, once the student's files are there); "" once it is ready, else why not.  The import
    is waited for in short steps, so a kernel that dies importing (its memory limit) or a `cancel` ends the
    wait at once rather than after `timeout_s`."""
    kc = None
    try:
        with open(log, "wb") as kernel_log:
            run_sync(km.start_kernel)(env=env, cwd=str(cwd), stdout=kernel_log, stderr=subprocess.STDOUT)
        kc = km.client()
        kc.cancel = cancel
        kc.start_channels()
        run_sync(kc.wait_for_ready)(timeout=60)
        asked = kc.execute(preload_code(frameworks), silent=True, store_history=False)
        deadline = time.monotonic() + timeout_s
        while True:
            if cancel is not None and cancel.is_set():
                return "cancelled: the pool closed while the kernel was importing"
            with contextlib.suppress(queue.Empty):
                if run_sync(kc.get_shell_msg)(timeout=0.1)["parent_header"].get("msg_id") == asked:
                    return ""
            if not run_sync(km.is_alive)():
                return "the kernel died while importing " + ", ".join(("numpy", *frameworks))
            if time.monotonic() > deadline:
                return f"the imports took longer than {timeout_s:g} s"
    except Exception as e:  # it died, never answered, or could not start
        return f"{type(e).__name__}: {e}"[:2000]
    finally:
        if kc is not None:
            kc.stop_channels()


def import_for_run() -> None:
    """Import what a run needs and a kernel's start does not (papermill, 0.1 s): a pool's taker does it while
    its kernel is still starting, rather than after (pool.py)."""
    import papermill  # noqa: F401  (not at the top: a worker's first kernels start before it)


def _papermill(km: _SandboxedKernelManager, nb_in: Path, nb_out: Path, *, parameters: dict, limits: Limits,
               cells: _CellLog, allow_errors: bool) -> None:
    """Run the notebook in the started kernel, each cell under the cell time limit; `cells` records.  With
    `allow_errors` every cell runs even after one raised (nbclient's option; papermill still raises at the end)."""
    import papermill  # not at the top: `import_for_run`

    papermill.execute_notebook(
        str(nb_in), str(nb_out), parameters=parameters, km=km, kernel_name="python3", progress_bar=False,
        execution_timeout=limits.cell_timeout_s, start_timeout=60, request_save_on_cell_execute=False,
        on_cell_start=cells.on_cell_start, on_cell_executed=cells.on_cell_executed, allow_errors=allow_errors)


def _execute(ready: Ready, nb_in: Path, nb_out: Path, *, notebook: str, student_cells: list[tuple[str, str]],
             parameters: dict, allow_errors: bool) -> ExecutionRecord:
    """Run the notebook in the started kernel under the limits and say what happened: "ok" and "error"
    only while the kernel is still alive, else "dead" or "timeout" with the reason.  "error": a cell raised
    (with `allow_errors` the later cells ran all the same); `failing_cell` and the error are the first one's."""
    from papermill import PapermillExecutionError  # as in `_papermill`

    km, limits, cgroup = ready.km, ready.limits, ready.cgroup
    cells = _CellLog(limits.output_mb * 2**20)
    deadline = _Deadline(limits.total_timeout_s, limits.cpu_s, km, cgroup)
    started = time.monotonic()
    status: RunStatus = "ok"
    reason, failing, error = "", None, {}
    try:
        if ready.error:
            raise RuntimeError(ready.error)  # "kernel_start_failed", below
        with deadline:
            _papermill(km, nb_in, nb_out, parameters=parameters, limits=limits, cells=cells,
                       allow_errors=allow_errors)
    except PapermillExecutionError as e:  # it names the last cell that raised; the record keeps the first
        status, failing = "error", cells.first_error()
        if failing is None:  # one papermill marked without an error reply
            failing, error = e.cell_index, {"error_name": e.ename, "error_value": str(e.evalue)[:2000],
                                            "traceback": "\n".join(e.traceback)[-20000:]}
        else:
            first = cells.errors[failing]
            error = {"error_name": first["error_name"], "error_value": first["error_value"],
                     "traceback": cells.first_traceback}
    except CellTimeoutError:
        status, reason, failing = "timeout", "cell_timeout", cells.current
    except (DeadKernelError, RuntimeError) as e:  # nbclient says "Kernel died" with either
        status, failing = "dead", cells.current
        reason = "kernel_start_failed" if cells.current is None and not deadline.passed.is_set() else "kernel_died"
        error = {"error_value": str(e)[:2000]}
    if deadline.passed.is_set():
        status, reason = "timeout", deadline.reason
    used = cgroup.cpu_seconds() if cgroup else None
    if status == "dead" and cgroup and cgroup.oom_killed():
        reason = "memory_limit"
    elif status == "dead" and (used or 0) >= limits.cpu_s:  # past it between two reads, or a process's backstop
        status, reason = "timeout", "cpu_limit"
    if status in ("ok", "error") and not run_sync(km.is_alive)():
        status, reason = "dead", "kernel_died"
    return ExecutionRecord(
        notebook=notebook, status=status, wall_s=round(time.monotonic() - started, 3),
        peak_memory_mb=cgroup.peak_memory_mb() if cgroup else None, cpu_s=None if used is None else round(used, 2),
        cells_total=sum(kind == "code" for kind, _ in student_cells), cells=cells.cell_records(student_cells),
        failing_cell=cells.student_index(failing), reason=reason, **error)


def _disk_use(record: ExecutionRecord, disk: quota.DiskQuota | None) -> ExecutionRecord:
    """What the run folder holds now, where it has a quota; and "disk_limit" as the reason when the notebook
    filled it: its error says ENOSPC/EDQUOT, or the quota is full now (a library's own words for a failed
    write, an error the notebook caught, a kernel that died of it).  A timeout or an out-of-memory kill
    keeps its own reason."""
    if disk is None:
        return record
    full = record.reason in ("", "kernel_died") and (
        quota.out_of_space(record.error_value, record.traceback) or disk.full())
    return dataclasses.replace(record, disk_used_mb=disk.used_mb(), reason="disk_limit" if full else record.reason)


def _bridge(km: _SandboxedKernelManager, paths: sandbox.Paths, limits: Limits,
            record: ExecutionRecord) -> Bridge | None:
    """The graders' way into the kernel, if it outlived the notebook (`_execute` says "ok" or "error"
    only then)."""
    if record.status not in ("ok", "error"):
        return None
    return Bridge(km, exchange_in=paths.exchange_in, exchange_out=paths.exchange_out,
                  reply_limit=limits.reply_mb * 2**20)


def _restore(bridge: Bridge | None, record: ExecutionRecord) -> ExecutionRecord:
    """Load the snapshot into the kernel; say in the record why it could not be."""
    try:
        if bridge is None:
            raise RuntimeError(f"the kernel is not running ({record.reason or record.status})")
        failed = bridge.request("restore")["failed"]
        if failed:
            raise RuntimeError("; ".join(f"{k}: {v}" for k, v in list(failed.items())[:5]))
    except Exception as e:  # GradeFailure (bridge) or the above: the snapshot cannot serve
        return dataclasses.replace(record, status="error", error_name="SnapshotRestoreFailed", error_value=str(e)[:500])
    return record


def _figures(nb_out: Path, notebook: str, limits: Limits) -> tuple[tuple[Figure, ...], tuple[Message, ...]]:
    """The images of the executed notebook, read back within a size limit: the student's sources (the
    largest notebook intake reads) and the outputs kept (`limits.output_mb`, the rest was cut while it
    ran); a notebook past it keeps no figures, and a note says why."""
    try:
        return figures.from_notebook(nb_out, notebook, limit=repair.MAX_BYTES + limits.output_mb * 2**20), ()
    except UnsafeFile as e:
        reason = {lang: e.text(lang).rstrip(".") for lang in catalogue.LANGS}
        return (), (catalogue.message("figures_refused", {"notebook": notebook, "reason": reason}),)


def _stop_clients(km: _SandboxedKernelManager) -> None:
    """Stop the channels (zmq sockets and threads) of the clients handed out: papermill's stays subscribed to
    everything the kernel publishes, read by no one, until it is stopped."""
    for kc in km.clients:
        with contextlib.suppress(Exception):
            kc.stop_channels()


def _shutdown(km: _SandboxedKernelManager) -> None:
    """Stop the clients' channels (their zmq sockets and threads), then shut the kernel down at once
    (a graceful shutdown stalls ~3 s about one time in ten, measured on these machines): killed here and
    waited for in 5 ms steps, as jupyter_client's own wait after its kill looks every 0.1 s, which was
    0.1 s more of the end of every run that someone waits for (a worker's last, `davar check`)."""
    _stop_clients(km)
    with contextlib.suppress(Exception):
        if km.has_kernel:
            run_sync(km.signal_kernel)(signal.SIGKILL)
            deadline = time.monotonic() + 5
            while run_sync(km.is_alive)() and time.monotonic() < deadline:
                time.sleep(0.005)
            run_sync(km.shutdown_kernel)(now=True)
