"""The kernels of one submission's notebooks, as its graders need them: each started (or restored from its
snapshot) when its first test needs `sub`, shut down after its last, and what the result needs of each run
kept once its kernel is gone.  A notebook whose cell stopped its kernel runs once more without that cell
(`rerun_without_fatal_cell` in assignment.toml), so a fatal last cell costs only what depends on it."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Iterator
from pathlib import Path

from davar import catalogue
from davar.assignment import Assignment
from davar.errors import DavarError, GradeFailure, NotebookMissing, SnapshotUnusable, UnsafeFile
from davar.grading import snapshot_store
from davar.grading.outcome import Ran
from davar.intake.inbox import Submission
from davar.probe.bridge import Replay, Reply, Sub
from davar.results import ExecutionRecord, Figure, Level, Message, SandboxRecord, SubmissionResult
from davar.run import execute
from davar.run.pool import Pool
from davar.run.sandbox import Slot

#: What the Colab/Kaggle shim reports (davar/inside/colab_shim.py), as catalogue keys.
SHIM_KEYS = {f"shim_{op}" for op in ("mount", "download", "download_refused", "pip_present", "pip_missing", "unzip",
                                     "standin_integrity", "cuda_on_cpu", "patch_failed")}


class Kernels:
    """One live kernel per notebook, one at a time as the tests are grouped by notebook.

    `pool`: where each run takes its kernel, started while the previous submission was graded.

    Snapshots: each notebook's namespace is saved right after it runs, and put in the store of
    `snapshot_dir` when its kernel is closed, once its graders have shown what they read (`Sub.read`:
    kept, with every small value; the rest is left out, `snapshot_store`).  With `previous` (this
    submission's last result), a notebook with a snapshot is restored instead of run again, and graded
    as it ran then; a grader that needs a value the snapshot left out sets `incomplete`, and the
    submission is graded again by running it (`davar.grading.grade`).  Before any kernel, such a notebook is
    graded from the replies its last grading got (`davar.probe.bridge.Replay`) when its manifest has them
    and `replay` is on; a request they lack sets `missed`, and the submission is graded again with `replay`
    off.  A grading in a kernel keeps its replies with the snapshot (the full run's with its values, a
    restored kernel's in place of the old ones).

    A fatal cell (`_fatal_cell`): the notebook is run once more in a fresh sandbox with that cell left
    out, and that second run is the one graded (its record names the cell and why), its snapshot saved."""

    def __init__(self, submission: Submission, assignment: Assignment, *, level: Level, profile: str = "standin",
                 data_root: Path | None = None, slot: Slot = Slot(), snapshot_dir: Path | None = None,
                 previous: SubmissionResult | None = None, pool: Pool | None = None, replay: bool = True):
        self.submission, self.level, self.profile = submission, level, profile
        self.snapshot_dir, self.previous, self.replay = snapshot_dir, previous, replay
        self.reply_limit = assignment.limits(profile).reply_mb * 2**20
        self.rerun_fatal, self.aliases = assignment.rerun_without_fatal_cell, assignment.names
        run = functools.partial(execute.run, submission, assignment, level=level, profile=profile, slot=slot,
                                data_root=data_root)
        # each run in a kernel of its own: the pool's next one (started ahead of time for this slot), else its own
        self._run = lambda **kwargs: run(ready=pool.take() if pool else None, **kwargs)
        self.ran: dict[str, Ran] = {}  # notebook -> its run, once its kernel is shut down
        self.notes: list[Message] = []  # submission-level messages: snapshots used or not, what the shim did
        # The sandboxes of runs not graded here, for what they tried: the original runs of restored notebooks,
        # the first of re-run ones.
        self.sandboxes_before: tuple[SandboxRecord, ...] = ()
        self._up: dict[str, tuple[execute.LiveRun, contextlib.ExitStack]] = {}
        self._subs: dict[str, Sub] = {}
        self._restored: dict[str, snapshot_store.Manifest] = {}  # notebook -> the manifest it was restored from
        self._replayed: dict[str, Replayed] = {}  # notebook -> its grading from the replies of the last one
        # notebook -> its saved container waiting for `close` to be put in the store, the values the kernel
        # could not save, and the container's removal
        self._unkept: dict[str, tuple[Path, tuple[str, ...], contextlib.ExitStack]] = {}

    def sub(self, notebook: str) -> Sub:
        """The graders' view of `notebook`, its kernel started on first use."""
        if notebook not in self._subs:
            if notebook not in self.submission.notebooks:
                raise NotebookMissing(notebook)
            live = self._start(notebook)
            kept = self._restored.get(notebook)
            self._subs[notebook] = Sub(live, aliases=self.aliases) if kept is None else Sub(
                live, aliases=self.aliases, restored=True, dropped=frozenset(k for k, _ in kept.dropped),
                all_models=kept.all_models)
        return self._subs[notebook]

    @property
    def missed(self) -> bool:
        """Whether a notebook graded from its replies was asked what they lack: this grade cannot stand."""
        return any(r.bridge.missed for r in self._replayed.values())

    @property
    def incomplete(self) -> Message | None:
        """Why this grade cannot stand, when a grader needed a value a restored snapshot left out: the
        `snapshot_fallback` note of the regrade that runs the notebooks again."""
        for notebook, sub in self._subs.items():
            if sub.needs is not None:
                return catalogue.message("snapshot_fallback", {"notebook": notebook,
                                                               "reason": _in_both_languages(sub.needs)})
        return None

    def _start(self, notebook: str) -> execute.LiveRun | Replayed:
        """A live run of `notebook`: when regrading one with a snapshot, its last grading's replies (`replay`) or
        its snapshot restored; else executed."""
        # The notebook's manifest; its values are blobs in the store of all students (snapshot_store.py).
        snapshot = self.snapshot_dir / f"{notebook}.json" if self.snapshot_dir else None
        store = snapshot_store.Store(self.snapshot_dir.parent) if self.snapshot_dir else None
        before = {e.notebook: e for e in self.previous.executions} if self.previous else {}
        if self.previous is not None and notebook in before and snapshot and store and snapshot.is_file():
            try:
                kept = snapshot_store.read_manifest(snapshot)
                figures = tuple(f for f in self.previous.figures if f.notebook == notebook)
                if self.replay and (replies := _replies(store, kept)) is not None:
                    self._as_it_ran(notebook, before[notebook], "snapshot_replayed")
                    self._replayed[notebook] = Replayed(before[notebook], Replay(
                        replies, reply_limit=self.reply_limit), figures, dataclasses.replace(
                            self.previous.sandbox, blocked=(), not_blocked=(), refused=()))
                    return self._replayed[notebook]
                with contextlib.ExitStack() as stack, store.assembled(snapshot) as container:
                    live = stack.enter_context(self._run(notebook=notebook, snapshot=container))
                    if live.execution.status == "ok":  # graded as it ran then: its record, figures, violations
                        self._as_it_ran(notebook, before[notebook], "snapshot_regraded")
                        live = dataclasses.replace(live, execution=before[notebook], figures=figures)
                        self._record(live)
                        self._up[notebook] = (live, stack.pop_all())
                        self._restored[notebook] = kept
                        return live
                    reason: str | dict[str, str] = live.execution.error_value or live.execution.reason
            except (UnsafeFile, SnapshotUnusable) as e:  # a blob gone or altered, a file davar no longer copies
                reason = _in_both_languages(e)
            self.notes.append(catalogue.message("snapshot_fallback", {"notebook": notebook, "reason": reason}))
        live, stack = self._execute(notebook)
        with stack:  # closed here only if what follows fails
            if snapshot and store and live.bridge is not None:
                self._save(notebook, live, store)
                self._record(live)
            self._up[notebook] = (live, stack.pop_all())
        return live

    def _as_it_ran(self, notebook: str, execution: ExecutionRecord, how: str) -> None:
        """The notes of a notebook graded from its snapshot (`how`: its replies or its restored kernel), as it ran
        then: what the shim did, what it tried against the sandbox, the fatal cell it ran without."""
        assert self.previous is not None
        self.notes.append(catalogue.message(how, {"notebook": notebook}))
        self.notes += [m for m in self.previous.messages  # what the shim did when it really ran
                       if m.key in SHIM_KEYS and m.values.get("notebook") == notebook]
        self.sandboxes_before += (self.previous.sandbox,)
        if execution.skipped_cell is not None:
            self.notes.append(_skipped_note(execution))

    def _record(self, live: execute.LiveRun) -> None:
        """Have the graders' requests and their replies kept, to be stored with the snapshot on `close`."""
        if self.snapshot_dir is not None and live.bridge is not None:
            live.bridge.record()

    def _save(self, notebook: str, live: execute.LiveRun, store: snapshot_store.Store) -> None:
        """Have the kernel save its namespace now, as the notebook left it (before any grader's call), into
        a file that waits for `close` (`_keep`).  No snapshot only means a later regrade runs the notebook
        again; the result says why."""
        held = contextlib.ExitStack()
        try:
            container = held.enter_context(store.incoming())
            reply = live.save_snapshot(container)
            skipped = reply.get("skipped") if isinstance(reply, dict) else None  # the kernel's words: plain names
            unpicklable = tuple(k for k in skipped if isinstance(k, str)) if isinstance(skipped, dict) else ()
            self._unkept[notebook] = (container, unpicklable, held)
        except Exception as e:  # a pipe or a link where the file should be, a request past its limit, ...
            held.close()
            self.notes.append(catalogue.message("snapshot_not_saved", {
                "notebook": notebook, "reason": _in_both_languages(e)}))

    def _keep_replies(self, notebook: str, replies: list[Reply] | None) -> None:
        """The graders' `replies` from a notebook restored from its snapshot, in place of those it had."""
        if self.snapshot_dir is not None:
            with contextlib.suppress(Exception):  # the old replies stay; a regrade that misses them restores
                snapshot_store.Store(self.snapshot_dir.parent).record_replies(
                    self.snapshot_dir / f"{notebook}.json", self._restored[notebook], replies)

    def _keep(self, notebook: str, replies: list[Reply] | None) -> None:
        """Put the namespace `_save` left for `notebook` in the store: what its graders read, every small value
        (`snapshot_store.Store.keep`), and the graders' `replies`."""
        if self.snapshot_dir is None or notebook not in self._unkept:
            return
        store, manifest = snapshot_store.Store(self.snapshot_dir.parent), self.snapshot_dir / f"{notebook}.json"
        container, unpicklable, held = self._unkept.pop(notebook)
        sub = self._subs.get(notebook)
        needed = snapshot_store.Needed(frozenset(sub.read) if sub else frozenset(),
                                       all_models=sub.listed_models if sub else False, unpicklable=unpicklable)
        with held:
            try:
                store.keep(container, manifest, needed, replies)
            except Exception as e:  # a broken container, a full disk
                self.notes.append(catalogue.message("snapshot_not_saved", {
                    "notebook": notebook, "reason": _in_both_languages(e)}))

    def _execute(self, notebook: str) -> tuple[execute.LiveRun, contextlib.ExitStack]:
        """A live run of `notebook` and the stack that ends it.  When a student's cell stopped the kernel
        (`_fatal_cell`), that run is closed and the notebook runs once more in a fresh sandbox with the cell
        left out; only once, so a second fatal cell is graded as it is.  What the first run tried against
        the sandbox still counts."""
        with contextlib.ExitStack() as stack:
            live = stack.enter_context(self._run(notebook=notebook))
            cell = _fatal_cell(live.execution) if self.rerun_fatal else None
            if cell is None:
                return live, stack.pop_all()
            first = live.execution
            self.sandboxes_before += (live.sandbox_record(),)
        with contextlib.ExitStack() as stack:
            live = stack.enter_context(self._run(notebook=notebook, skip_cells=(cell,)))
            live = dataclasses.replace(live, execution=dataclasses.replace(
                live.execution, skipped_cell=cell, skipped_reason=first.reason or "kernel_died"))
            self.notes.append(_skipped_note(live.execution))
            return live, stack.pop_all()

    @contextlib.contextmanager
    def timeout(self, notebook: str, seconds: float | None) -> Iterator[None]:
        """A grader's own `timeout=` for its requests to the kernel, while it runs."""
        live = self._up[notebook][0] if notebook in self._up else self._replayed.get(notebook)
        bridge = live.bridge if live is not None else None
        if not (seconds and bridge):
            yield
            return
        default, bridge.timeout_s = bridge.timeout_s, seconds
        try:
            yield
        finally:
            bridge.timeout_s = default

    def close(self, notebook: str) -> None:
        """Keep what the result needs of the run, shut its kernel down, then store its snapshot."""
        if notebook in self._replayed:
            replayed = self._replayed[notebook]
            self.ran[notebook] = Ran(replayed.execution, replayed.sandbox, replayed.figures)
        if notebook in self._up:
            live, stack = self._up.pop(notebook)
            replies = live.bridge.replies if live.bridge else None
            try:
                with stack:
                    self.ran[notebook] = Ran(live.execution, live.sandbox_record(), live.figures)
                    self.notes += live.notes
                    self.notes += [catalogue.message(f"shim_{e['op']}", {"notebook": notebook, "target": e["target"]})
                                   for e in live.audit.shim() if f"shim_{e['op']}" in SHIM_KEYS]
            finally:
                (self._keep_replies if notebook in self._restored else self._keep)(notebook, replies)

    def close_all(self) -> None:
        """Close every kernel still up (a session that ended early); each is shut down, whatever fails."""
        try:
            for notebook in [*self._up, *self._replayed]:
                self.close(notebook)
        finally:
            for _, stack in self._up.values():
                stack.close()
            for _, _, held in self._unkept.values():  # saved containers never kept
                held.close()


@dataclasses.dataclass(frozen=True, slots=True)
class Replayed:
    """A notebook graded from the replies of its last grading, as `Sub` sees a live run: no kernel, its run's
    record, figures and sandbox as they were."""

    execution: ExecutionRecord
    bridge: Replay
    figures: tuple[Figure, ...]
    sandbox: SandboxRecord


def _replies(store: snapshot_store.Store, kept: snapshot_store.Manifest) -> tuple[Reply, ...] | None:
    """The replies `kept` names, None without them (or with a blob of them gone: the kernel is restored)."""
    if kept.replies is None:
        return None
    with contextlib.suppress(SnapshotUnusable):
        return store.replies(kept)
    return None


def _fatal_cell(execution: ExecutionRecord) -> int | None:
    """The student's cell that stopped the run, where leaving it out can save the rest: it killed the kernel
    (out of memory, `os._exit`, a signal, a full disk) or ran past the cell time limit, and was running
    then.  None after a total timeout (the notebook as a whole would meet it again), and when no cell of
    the student's was running (a kernel that never started, or died in davar's setup cell or between cells)."""
    stopped = execution.status == "dead" or (execution.status == "timeout" and execution.reason == "cell_timeout")
    running = {c.index for c in execution.cells if c.status == "timeout"}  # unfinished when the run stopped
    return execution.failing_cell if stopped and execution.failing_cell in running else None


def _skipped_note(execution: ExecutionRecord) -> Message:
    """The submission-level message of a run without its fatal cell (cells are numbered from 1 for people)."""
    return catalogue.message("rerun_without_cell", {
        "notebook": execution.notebook, "cell": (execution.skipped_cell or 0) + 1, "reason": execution.skipped_reason})


def _in_both_languages(e: Exception) -> dict[str, str]:
    """What went wrong, in fa and en, as a message value: a keyed error's own words, else its type and text."""
    if isinstance(e, DavarError):
        return {lang: e.text(lang).rstrip(".") for lang in catalogue.LANGS}
    if isinstance(e, GradeFailure):  # a bridge error: a timeout, a refused reply, the kernel's own error
        with contextlib.suppress(KeyError, IndexError, ValueError, TypeError):
            return {lang: catalogue.text(e.key, lang, e.values).rstrip(".") for lang in catalogue.LANGS}
    text = f"{type(e).__name__}: {e}"[:300]
    return {lang: text for lang in catalogue.LANGS}
