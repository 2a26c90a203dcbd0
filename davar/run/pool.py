"""Warm kernels: a slot's next sandboxed kernel started while the current submission is graded.

    pool = Pool(assignment, level="strict", slot=slot)
    with execute.run(sub, assignment, notebook="HW3.ipynb", level="strict", slot=slot, ready=pool.take()):
        ...  # the next kernel is starting meanwhile, in a thread of the pool's

A kernel is started by `execute.start` exactly as a run starts its own: a fresh run folder, disk quota,
cgroup and uid, the data binds, the frameworks imported; only the submission's files arrive later, when
it is taken, and the setup cell seeds after them.  It serves one run and is destroyed with it: nothing of
one student reaches the next.  A kernel that could not start or died while it waited is not handed out
(the run starts its own).  A batch worker or a Dask worker keeps one pool for its life (`for_slot`), closed
when the process exits; a worker killed with its pool's kernel waiting leaves what `sandbox.remove_stale`
removes (bubblewrap kills the kernel with its parent).
"""

from __future__ import annotations

import atexit
import collections
import concurrent.futures as cf
import contextlib
import dataclasses
import functools
import os
import threading
from collections.abc import Callable
from pathlib import Path

from davar.assignment import Assignment
from davar.results import Level
from davar.run import execute
from davar.run.sandbox import Slot


class Pool:
    """One slot's next kernels for one assignment, `depth` of them starting side by side or waiting: by default
    two where the slot has two cores or more (a kernel takes longer to start than a short submission to grade,
    and two starts at once take less than twice as long), else one.  They start as the pool is made (while the
    caller reads the notebook and collects the graders); with `refill`, each `take` starts another.  `wanted`,
    when the owner knows it, is told how many kernels were just taken (0 as the pool starts, 1 at each
    `take`) and says how many more will be taken after them (a batch's notebooks no worker has started
    yet): no kernel starts beyond that, so the end of a batch, or a one-student regrade, does not start
    kernels only to destroy them."""

    def __init__(self, assignment: Assignment, *, level: Level, profile: str = "standin", slot: Slot = Slot(),
                 data_root: Path | None = None, refill: bool = True, depth: int | None = None,
                 wanted: Callable[[int], int] | None = None):
        depth = depth or (2 if (slot.threads or len(os.sched_getaffinity(0))) >= 2 else 1)
        self.key = kernel_key(assignment, level=level, profile=profile, slot=slot, data_root=data_root)
        self._cancel = threading.Event()  # set by `close`: a start still importing gives up
        self._start = functools.partial(execute.start, assignment, level=level, profile=profile, slot=slot,
                                        data_root=data_root, preload=execute.WARM_PRELOAD_MB * 2**20,
                                        entries=execute.WARM_PRELOAD_ENTRIES,
                                        cancel=self._cancel)
        self._refill = refill
        self._wanted = wanted
        self._threads = cf.ThreadPoolExecutor(depth, thread_name_prefix="davar-warm")
        self._closer = cf.ThreadPoolExecutor(1, thread_name_prefix="davar-close")  # runs that ended, destroyed
        first = min(depth if refill else 1, wanted(0) if wanted else depth)
        self._next = collections.deque(self._threads.submit(self._start) for _ in range(first))

    def take(self) -> execute.Ready | None:
        """The oldest kernel started (waited for if it is still starting), now the caller's to close; None
        when it could not start or has died since.  Another one starts now."""
        if not self._next:
            return None
        future = self._next.popleft()
        if self._refill and (self._wanted is None or self._wanted(1) > len(self._next)):
            self._next.append(self._threads.submit(self._start))
        if not future.done():  # the caller would wait idle: it imports what its run needs meanwhile
            execute.import_for_run()
        try:
            ready = future.result()
        except Exception:  # the host's disk is short, a cgroup could not be made, ...: the run says why itself
            return None
        if not ready.alive():
            ready.close()
            return None
        return dataclasses.replace(ready, closer=self._closer)

    def close(self) -> None:
        """Destroy the kernels waiting (a start still importing its frameworks gives up first: nobody waits
        for a torch import only to destroy its kernel) and those of the runs that ended; stop the threads."""
        self._cancel.set()
        waiting, self._next = list(self._next), collections.deque()
        self._threads.shutdown(wait=True, cancel_futures=True)
        for future in waiting:
            if not future.cancelled() and future.exception() is None:
                future.result().close()
        self._closer.shutdown(wait=True)


_pool: Pool | None = None
_pool_lock = threading.RLock()  # a Dask worker's task and its warm-up (`batch._warm_worker`) may ask at once


def kernel_key(assignment: Assignment, *, level: Level, profile: str, slot: Slot, data_root: Path | None) -> tuple:
    """What a kernel started ahead of time depends on: the assignment as its assignment.toml says (limits,
    frameworks, data), not the folder its graders are in, so a Dask worker keeps its kernels when a new
    version of the graders arrives in another folder (such a kernel's audit knows the graders' file names
    of the version it started for); the sandbox level, profile, slot and data."""
    return (dataclasses.replace(assignment, directory=Path()), assignment.data_root(data_root).absolute(), level,
            profile, slot)


def for_slot(assignment: Assignment, *, level: Level, profile: str = "standin", slot: Slot = Slot(),
             data_root: Path | None = None, wanted: Callable[[int], int] | None = None) -> Pool:
    """This process's pool for the assignment (a batch or Dask worker grades one slot's submissions one
    after the other); one for another assignment, level, profile or slot is closed first.  `wanted`: `Pool`."""
    global _pool
    key = kernel_key(assignment, level=level, profile=profile, slot=slot, data_root=data_root)
    with _pool_lock:
        if _pool is None or _pool.key != key:
            close()
            _pool = Pool(assignment, level=level, profile=profile, slot=slot, data_root=data_root, wanted=wanted)
        return _pool


@atexit.register
def close() -> None:
    """Close this process's pool, if it has one (at exit: no kernel outlives its worker)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        with contextlib.suppress(Exception):
            pool.close()
