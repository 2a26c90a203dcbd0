"""The narrow, data-only bridge between trusted graders and the student's live kernel (ARCHITECTURE.md §2).

A request is a ``davar_request`` message on the kernel's shell channel (the names and reply shapes both sides
agree on are in davar/inside/protocol.py); the kernel side serves it with a handler bound when the kernel
started, before any of the student's code (davar/inside/kernel_side.py), and says it is done with a small
``davar_reply``.  Inputs travel as ``.npy`` files in the exchange ``in`` folder (read-only inside the
sandbox); answers come back as a JSON descriptor plus ``.npy`` files in ``out``, never in a message.

The client listens on the shell channel and talks on control (to interrupt); iopub is not connected, so
nothing piles up from what the kernel prints.  Its sockets take no message larger than `MAX_MESSAGE`: a
reply is small, and a forged huge one is dropped by zmq (the request then ends at its time limit).
The harness reads reply files through `davar.files` (no link followed, a named pipe or a device refused
without waiting, regular files only), caps the total size of a reply, loads an array only once its header
matches its bytes and its dtype is plain (numbers, booleans, text) and with ``allow_pickle=False``.
Nothing from the kernel is unpickled, ``torch.load``-ed or evaluated here, and whatever a reply holds,
reading it raises nothing but a `GradeFailure`.

Every request has a time limit (`Bridge.timeout_s`, or the grader's own): it covers the whole wait for the
answer, however many other messages the kernel sends meanwhile.  A request that runs past it fails
(`BridgeTimeout`) and is interrupted, as a notebook's stop button does; a kernel that is not idle again
within `INTERRUPT_GRACE_S` breaks the bridge (the kernel is stopped, and later requests fail at once).

Replies kept for a regrade: a bridge told to `record` keeps each request's key (`request_key`: what was
asked, arrays by their hash) and the reply files the kernel wrote for it, in order (`Bridge.replies`, kept
with the notebook's snapshot by `davar.grading.snapshot_store`).  `Replay` serves them again to a later
grading without any kernel, as long as it asks the same requests in the same order: the answers are the
ones the same kernel state gave, read by the same checks as a live reply.  The first request that differs
(or allows less time than the kernel took then) raises `NotReplayed`, and that grading is done again in a
kernel (`davar.grading.grade`).  A grading with a
request that got no reply (a timeout, a refused reply) or replies past `REPLIES_LIMIT` keeps none.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import math
import os
import queue
import re
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar

import numpy as np
import zmq
from jupyter_client import BlockingKernelClient
from jupyter_core.utils import run_sync

from davar import files
from davar.errors import (
    BridgeTimeout,
    GradeFailure,
    KernelUnavailable,
    MissingName,
    NotReplayed,
    ReplyRejected,
    SnapshotIncomplete,
    StudentCodeRaised,
    UnsafeFile,
)
from davar.inside import protocol
from davar.probe.graph import Graph

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_FILE = re.compile(r"[A-Za-z0-9_-]+(\.json|\.npy)")
DEFAULT_TIMEOUT_S = 120.0
#: How long a request past its limit has to answer once interrupted before its kernel is stopped.
INTERRUPT_GRACE_S = 5.0
#: The largest message the bridge's socket takes: a ``davar_reply`` is a few hundred bytes.
MAX_MESSAGE = 2**16
#: The dtype kinds an array of a reply may have: booleans, integers, floats, complex numbers and text.
ARRAY_KINDS = "biufcUS"
_NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
#: The most reply bytes a recording bridge keeps for a notebook (a model's predictions on a test set are a
#: few hundred KB); past it, the grading keeps no replies and a regrade restores the kernel.
REPLIES_LIMIT = 16 * 2**20
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Reply:
    """One request of a grading and the kernel's answer: the request's `request_key` and id, how long the kernel
    took to answer, and the reply files it wrote (name, bytes), as the bridge read them."""

    key: str
    rid: str
    seconds: float
    files: tuple[tuple[str, bytes], ...]


def request_key(op: str, name: str | None, args: Sequence[Any]) -> str:
    """What a request asks, as a hash: its op, name and arguments (an array by its shape, dtype and bytes)."""
    def described(a: Any) -> Any:
        if isinstance(a, AsTensor | np.ndarray):
            arr = np.ascontiguousarray(a.array if isinstance(a, AsTensor) else a)
            return {"torch" if isinstance(a, AsTensor) else "npy": [
                arr.shape, arr.dtype.str, hashlib.sha256(arr.data if arr.size else b"").hexdigest()]}
        return {"json": a}
    asked = json.dumps([op, name, [described(a) for a in args]], sort_keys=True, default=str)
    return hashlib.sha256(asked.encode()).hexdigest()


class Bridge:
    def __init__(self, km, *, exchange_in: Path, exchange_out: Path, reply_limit: int):
        self._reader(reply_limit)
        self.km = km
        self.exchange_in, self.exchange_out = exchange_in, exchange_out
        self.kc = BlockingKernelClient()  # with a zmq context of its own, set before any socket exists
        self.kc.load_connection_info(km.get_connection_info())
        self.kc.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
        # The shell channel, and control to interrupt a request past its limit; not iopub, which would pile
        # up whatever the kernel prints; liveness comes from the kernel manager, not a heartbeat thread.
        self.kc.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=True)

    def _reader(self, reply_limit: int) -> None:
        """What a bridge reads replies with, with a kernel or without (`Replay`)."""
        self.reply_limit, self.timeout_s = reply_limit, DEFAULT_TIMEOUT_S
        self._ids = itertools.count(1)
        self.broken: str | None = None
        self.replies: list[Reply] | None = None  # with `record`: every request from then on and its reply
        self._files: dict[str, bytes] = {}  # the reply files read for the request under way

    def record(self) -> None:
        """Keep every request from now on and its reply (`replies`), for a regrade to `Replay`."""
        self.replies, self._recorded_bytes = [], 0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.kc.shell_channel.close()
            self.kc.control_channel.close()
        self.kc.context.destroy(linger=0)

    # ------------------------------------------------------------------ transport

    def request(self, op: str, name: str | None = None, *args: Any, timeout: float | None = None) -> Any:
        if self.broken:
            raise KernelUnavailable(self.broken)
        if op not in protocol.OPS:
            raise ValueError(f"not a request the kernel side answers: {op!r}")
        if name is not None and not _NAME.fullmatch(name):
            raise ValueError(f"not a Python name: {name!r}")
        rid = self._next_rid()
        self._files, answered, began = {}, True, time.monotonic()
        try:
            self._ask(rid, op, name, args, timeout or self.timeout_s)
            return self._answer(rid, name or op)
        except (MissingName, StudentCodeRaised):  # the kernel's answer all the same
            raise
        except BaseException:
            answered = False
            raise
        finally:
            self._clean(rid)
            if self.replies is not None:
                self._record_reply(Reply(request_key(op, name, args), rid, round(time.monotonic() - began, 3),
                                         tuple(self._files.items())) if answered else None)

    def _record_reply(self, reply: Reply | None) -> None:
        """Add the request just answered to `replies`; one without an answer (None) ends the recording."""
        self._recorded_bytes += sum(len(data) for _, data in reply.files) if reply else 0
        if reply is None or self.replies is None or self._recorded_bytes > REPLIES_LIMIT:
            self.replies = None
        else:
            self.replies.append(reply)

    def _next_rid(self) -> str:
        return f"r{next(self._ids)}"

    def _ask(self, rid: str, op: str, name: str | None, args: tuple[Any, ...], limit: float) -> None:
        """Send the request and wait, at most `limit` seconds, for the kernel side to say its reply is written."""
        sent = self.kc.session.msg(protocol.REQUEST, {
            "rid": rid, "op": op, "name": name,
            "args": json.dumps(self._send_args(rid, args) if op in protocol.OPS_WITH_ARGS else [])})
        self.kc.shell_channel.send(sent)
        try:
            reply = self._reply_to(sent["header"]["msg_id"], limit)
        except queue.Empty:  # the student's code did not return in time
            if not self._interrupted(sent["header"]["msg_id"], min(limit, INTERRUPT_GRACE_S)):
                self._break("bridge_timeout")
            raise BridgeTimeout(name or op, limit) from None
        content = reply.get("content")
        status = content.get("status") if isinstance(content, dict) else None
        if status != "ok" and not os.path.lexists(self.exchange_out / f"{rid}.json"):
            self._break("kernel_gone") if not run_sync(self.km.is_alive)() else None
            raise ReplyRejected(name or op, "the kernel-side helper did not answer")

    def _reply_to(self, msg_id: str, limit: float) -> dict:
        """The kernel's reply to `msg_id` within `limit` seconds all told (queue.Empty past it): other
        messages on the channel, and messages that cannot be read, do not extend the wait."""
        deadline = time.monotonic() + limit
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise queue.Empty
            try:
                reply = self.kc.get_shell_msg(timeout=left)
            except queue.Empty:
                raise
            except Exception:  # a bad signature, a garbled header: not the answer
                continue
            parent = reply.get("parent_header") if isinstance(reply, dict) else None
            if isinstance(parent, dict) and parent.get("msg_id") == msg_id:
                return reply

    def _interrupted(self, msg_id: str, grace: float) -> bool:
        """Interrupt the request still running, as a notebook's stop button does (``interrupt_request`` on the
        control channel: a KeyboardInterrupt in the student's code), and whether the kernel side then
        answered within `grace` seconds: the kernel is idle again and serves the next request."""
        try:
            self.kc.control_channel.send(self.kc.session.msg("interrupt_request", {}))
            self._reply_to(msg_id, grace)
        except Exception:  # queue.Empty: the code ignored it (or runs in C that never looks)
            return False
        return True

    def _break(self, why: str) -> None:
        """A request that never returned leaves the kernel busy for good: stop using it."""
        self.broken = why
        with contextlib.suppress(Exception):
            run_sync(self.km.signal_kernel)(signal.SIGKILL)  # its process group

    def _send_args(self, rid: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
        out = []
        for i, a in enumerate(args):
            if isinstance(a, AsTensor):
                fname = f"{rid}-in{i}.npy"
                np.save(self.exchange_in / fname, np.ascontiguousarray(a.array), allow_pickle=False)
                out.append({"npy": fname, "as": "torch"})
            elif isinstance(a, np.ndarray):
                fname = f"{rid}-in{i}.npy"
                np.save(self.exchange_in / fname, a, allow_pickle=False)
                out.append({"npy": fname})
            else:
                json.dumps(a)  # only plain data goes in, too
                out.append({"json": a})
        return out

    # ------------------------------------------------------------------ reading a reply

    def _answer(self, rid: str, name: str) -> Any:
        """The reply the kernel side wrote for `rid` (the answer for `name`), decoded: its value, or the
        `GradeFailure` it stands for.  The reply file and its arrays share one size budget."""
        budget = [self.reply_limit]
        try:
            answer = json.loads(self._read(f"{rid}.json", budget=budget, name=name).decode())
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            raise ReplyRejected(name, f"invalid reply: {type(e).__name__}: {e}"[:300]) from None
        if not isinstance(answer, dict) or len(answer) != 1:
            raise ReplyRejected(name, "malformed reply")
        if "missing" in answer:
            raise MissingName(name)
        if "error" in answer:
            err = answer["error"] if isinstance(answer["error"], dict) else {}
            raise StudentCodeRaised(name, f"{err.get('type')}: {err.get('message')}"[:500],
                                    str(err.get("traceback", ""))[-20000:])
        if "ok" not in answer:
            raise ReplyRejected(name, "malformed reply")
        try:
            return self._decode(answer["ok"], budget=budget, name=name)
        except RecursionError:
            raise ReplyRejected(name, "reply nested too deeply") from None

    def _read(self, fname: str, *, budget: list[int], name: str) -> bytes:
        """A reply file of the exchange folder (the answer for `name`), at most what is left of the reply's
        size `budget`."""
        if not _FILE.fullmatch(fname):
            raise ReplyRejected(name, f"bad file name {fname[:100]!r}")
        data = self._fetch(fname, limit=budget[0], name=name)
        budget[0] -= len(data)
        self._files[fname] = data
        return data

    def _fetch(self, fname: str, *, limit: int, name: str) -> bytes:
        try:
            return files.read_bytes(self.exchange_out / fname, limit=limit, beneath=self.exchange_out)
        except UnsafeFile as e:  # a link, a pipe, a device, a folder, or more than the reply may hold
            raise ReplyRejected(name, _in_both_languages(e)) from None
        except OSError as e:
            raise ReplyRejected(name, f"cannot open reply {fname} ({e.strerror})") from None

    def _decode(self, desc: Any, *, budget: list[int], name: str) -> Any:
        if not isinstance(desc, dict) or len(desc) != 1:
            raise ReplyRejected(name, "malformed reply")
        (kind, val), = desc.items()
        if kind == "json":
            return val
        if kind == "npy":
            return _array(self._read(str(val)[:200], budget=budget, name=name), name)
        if kind == "list" and isinstance(val, list):
            return [self._decode(d, budget=budget, name=name) for d in val]
        if kind == "dict" and isinstance(val, dict):
            return {str(k): self._decode(d, budget=budget, name=name) for k, d in val.items()}
        raise ReplyRejected(name, "malformed reply" if kind in ("list", "dict") else
                            f"unknown reply kind {str(kind)[:100]!r}")

    def _clean(self, rid: str) -> None:
        for folder in (self.exchange_in, self.exchange_out):
            for p in folder.glob(f"{rid}[.-]*"):
                with contextlib.suppress(OSError):  # a folder the kernel left under a reply's name stays
                    p.unlink(missing_ok=True)


class Replay(Bridge):
    """A bridge without a kernel: the `replies` a grading got, served again in the same order (module
    docstring).  A request other than the next one recorded, or one whose time limit is shorter than the kernel
    took then, raises `NotReplayed`, as does every later one, and `missed` says so whatever the grader made of
    the error.  The reply files go through the same checks and
    size limit as a live kernel's."""

    def __init__(self, replies: Sequence[Reply], *, reply_limit: int):
        self._reader(reply_limit)
        self._recorded, self._now, self._i = list(replies), dict[str, bytes](), -1
        self.missed = False

    def close(self) -> None:
        pass

    def _next_rid(self) -> str:
        """The id the request recorded in this place had: its reply files are named after it."""
        self._i += 1
        return self._recorded[self._i].rid if self._i < len(self._recorded) else f"r{self._i + 1}"

    def _ask(self, rid: str, op: str, name: str | None, args: tuple[Any, ...], limit: float) -> None:
        recorded = self._recorded[self._i] if self._i < len(self._recorded) else None
        if self.missed or recorded is None or recorded.key != request_key(op, name, args) or recorded.seconds > limit:
            self.missed = True
            raise NotReplayed(name or op)
        self._now = dict(recorded.files)

    def _fetch(self, fname: str, *, limit: int, name: str) -> bytes:
        data = self._now.get(fname)
        if data is None:
            raise ReplyRejected(name, f"cannot open reply {fname}")
        if len(data) > limit:
            raise ReplyRejected(name, "reply too large")
        return data

    def _clean(self, rid: str) -> None:
        pass


def _array(data: bytes, name: str) -> np.ndarray:
    """The array of an .npy file's bytes, loaded only when its header says exactly what follows it: a plain
    dtype (`ARRAY_KINDS`, never objects, so no pickle) and as many items as the bytes hold (a forged shape
    must not make numpy allocate what the file does not have)."""
    f = io.BytesIO(data)
    try:
        read_header = _NPY_HEADERS[np.lib.format.read_magic(f)]
        shape, _, dtype = read_header(f)
        fits = dtype.kind in ARRAY_KINDS and dtype.itemsize > 0 and \
            math.prod(shape) * dtype.itemsize == len(data) - f.tell()
    except Exception as e:  # numpy's words for a damaged or unknown header (ValueError, KeyError, EOFError...)
        raise ReplyRejected(name, f"array refused: {type(e).__name__}: {e}"[:300]) from None
    if not fits:
        raise ReplyRejected(name, f"array refused: dtype {dtype.str[:50]}, shape {str(shape)[:100]} "
                                  f"in {len(data)} bytes")
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as e:  # a header numpy reads differently on the second look
        raise ReplyRejected(name, f"array refused: {type(e).__name__}: {e}"[:300]) from None


def _in_both_languages(e: UnsafeFile) -> dict[str, str]:
    """A refusal's words in fa and en, for a message value (`catalogue.text` picks the page's language)."""
    return {"fa": e.text("fa").rstrip("."), "en": e.text("en").rstrip(".")}


def _as_array(name: str, val: Any) -> np.ndarray:
    """A reply as an array: an array as it came, or JSON numbers, booleans or text in a regular nesting;
    anything else (ragged lists, nulls, objects) is refused."""
    if isinstance(val, np.ndarray):
        return val
    try:
        arr = np.asarray(val)
    except (ValueError, TypeError, OverflowError, RecursionError):  # ragged, or too deep for numpy
        raise ReplyRejected(name, "not an array") from None
    if arr.dtype.kind not in ARRAY_KINDS:
        raise ReplyRejected(name, "not an array")
    return arr


def _well_formed(name: str, read: Callable[[], T]) -> T:
    """What `read` makes of a reply's model description; a description of another shape (the kernel side
    answers plain data, but not necessarily the data a model has) is refused, not a crash."""
    try:
        return read()
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise ReplyRejected(name, f"malformed model description: {type(e).__name__}: {e}"[:300]) from None


# ---------------------------------------------------------------------- what graders use


@dataclass(frozen=True, slots=True)
class AsTensor:
    """An argument of `Sub.call` that the student's function receives as a torch tensor (`array` travels as
    .npy like any array; the kernel side makes it a tensor with the notebook's torch)."""

    array: np.ndarray


@dataclass(frozen=True, slots=True)
class Observed:
    """What `Sub.call_observed` saw: the function's `result`, and each watched model's `outputs` while it ran
    (rows of all its calls concatenated, one row per input row, flattened: N×k), None for a model that did not
    run."""

    result: Any
    outputs: dict[str, np.ndarray | None]


@dataclass(frozen=True, slots=True)
class Layer:
    name: str
    type: str
    module: str
    params: int
    config: dict[str, Any]
    output_shape: tuple[int | None, ...] | None = None


class Asks(Protocol):
    """What graders' requests go through: a `Bridge` (a live kernel, or `Replay`), or `_Restored`'s view of one."""

    def request(self, op: str, name: str | None = None, *args: Any, timeout: float | None = None) -> Any: ...


class _Restored:
    """The bridge of a kernel restored from a snapshot, as `Sub` hands it out: what the student's code raises there
    is not taken for the student's answer, because the restore may be what it lacks (a value the snapshot left
    out, which a function finds with ``globals()``; a Keras model unpickled without the graph its layers' outputs
    belong to).  `fail` makes it `SnapshotIncomplete`: the submission is graded by running its notebooks, as when
    a grader needs a value the snapshot left out."""

    def __init__(self, bridge: Bridge, fail: Callable[[SnapshotIncomplete], NoReturn]):
        self._inner, self._fail = bridge, fail

    def request(self, op: str, name: str | None = None, *args: Any, timeout: float | None = None) -> Any:
        try:
            return self._inner.request(op, name, *args, timeout=timeout)
        except StudentCodeRaised as e:
            self._fail(SnapshotIncomplete("snapshot_student_raised", **e.values))


class ModelProbe:
    """Facts about a model in the student's kernel, and its raw forward pass on grader inputs.

    ``layers()`` lists the model's layers (torch: leaf modules; Keras: ``model.layers``) with their
    configs.  ``graph()`` is the model as a :class:`davar.probe.graph.Graph` of layers and merge ops
    (concatenations, additions) for structure checks: ``graph().inception_modules()``,
    ``.residual_adds()``, ``.grouped_convs()``; it is None when the model cannot be traced (torch.fx and
    data-dependent control flow, a subclassed Keras model never built on one input) and
    ``graph_error()`` then says why.

    Output shapes: a Keras model knows them (batch dimension None).  A torch model needs an example
    input: ``layers(example=x)`` / ``graph(example=x)`` run forward passes on ``x`` (one numpy batch for a
    single-input model, made by the grader, e.g. ``np.zeros((1, 3, 32, 32), np.float32)``; eval mode, no
    gradients, the training mode restored) and give each leaf module's (forward hooks; a module called
    twice: its first call) / graph node's output shape for that batch, batch dimension as is.  Without
    ``example`` torch shapes are None.  ``example`` is ignored for Keras.  A student model that raises on
    the example raises ``StudentCodeRaised``.  Replies are cached per example.
    """

    def __init__(self, bridge: Asks, name: str):
        self._bridge, self.name = bridge, name
        self._info = _well_formed(name, lambda: dict(bridge.request("model_info", name)))
        if not self._info.get("framework"):
            raise GradeFailure("not_a_model", name=name, type=str(self._info.get("class", "?"))[:200])
        self._traces: dict[Any, dict[str, Any]] = {}

    @property
    def framework(self) -> str:
        return self._info["framework"]

    def param_count(self, trainable: bool | None = None) -> int:
        return _well_formed(self.name, lambda: int(self._info["trainable_params" if trainable else "params"]))

    def layers(self, example: np.ndarray | None = None) -> list[Layer]:
        info = self._info
        if example is not None and self.framework == "torch":
            info = self._trace(example).get("info") or info
        return _well_formed(self.name, lambda: [
            Layer(name=str(layer["name"]), type=str(layer["type"]), module=str(layer["module"]),
                  params=int(layer["params"]), config=dict(layer.get("config") or {}),
                  output_shape=tuple(layer["output_shape"]) if layer.get("output_shape") else None)
            for layer in info["layers"]])

    def variables(self) -> dict[str, str]:
        """The model's weight tensors: identity in the student's kernel -> name (a Keras variable's path, a
        torch parameter's qualified name).  Two models share a tensor when an identity is in both."""
        return _well_formed(self.name, lambda: {str(i)[:40]: str(n)[:300]
                                                for i, n in self._info.get("variables") or []})

    def has_layer(self, *types: str) -> bool:
        return any(layer.type in types for layer in self.layers())

    def graph(self, example: np.ndarray | None = None) -> Graph | None:
        reply = self._trace(example)
        if not isinstance(reply.get("graph"), dict):
            return None
        return _well_formed(self.name, lambda: Graph.from_json(reply["graph"]))

    def graph_error(self, example: np.ndarray | None = None) -> str | None:
        """Why ``graph()`` is None (e.g. ``TraceError: symbolically traced variables cannot be used as
        inputs to control flow``), else None."""
        reply = self._trace(example)
        if isinstance(reply.get("graph"), dict):
            return None
        return str(reply.get("graph_error") or "no graph")[:1000]

    def _trace(self, example: np.ndarray | None) -> dict[str, Any]:
        """The kernel's graph reply, once per example (a torch graph and its shapes need one)."""
        if example is None or self.framework != "torch":
            key = None
        else:
            example = np.ascontiguousarray(example)
            key = (example.shape, example.dtype.str, hashlib.sha256(example.tobytes()).hexdigest())
        if key not in self._traces:
            if key is None:
                reply = self._bridge.request("model_graph", self.name)
            else:
                reply = self._bridge.request("model_trace", self.name, example)
            self._traces[key] = reply if isinstance(reply, dict) else {}
        return self._traces[key]

    def predict(self, inputs: np.ndarray, *, timeout: float | None = None) -> np.ndarray:
        return _as_array(self.name, self._bridge.request("predict", self.name, inputs, timeout=timeout))


class Sub:
    """The `sub` fixture: the executed submission as graders see it.

    It records the namespace names the graders ask about (`read`, a dotted name by its first part) and
    whether they listed the models (`listed_models`): what a snapshot of this run keeps whatever its size
    (`davar.grading.snapshot_store`).  In a kernel `restored` from a snapshot that left out the names `dropped`, a
    request naming one raises `SnapshotIncomplete` (so do `find_models` unless `all_models` were kept, and any
    request the student's code raises on: `_Restored`), and `needs` keeps the first such error, whatever the
    grader does with it: the submission is then graded again by running its notebooks (`davar.grading.grade`)."""

    def __init__(self, live, *, aliases: Mapping[str, tuple[str, ...]] | None = None, restored: bool = False,
                 dropped: frozenset[str] = frozenset(), all_models: bool = True):
        self._live = live
        self.execution = live.execution
        self._restored, self._dropped, self._all_models = restored, dropped, all_models
        self._aliases = dict(aliases or {})  # the assignment's `[names]`
        self._resolved: dict[str, str] = {}  # a name with aliases -> the one the notebook has
        self.read: set[str] = set()
        self.listed_models = False
        self.needs: SnapshotIncomplete | None = None

    def _named(self, name: str) -> str:
        """`name` as the notebook names it (`_alias`), recorded as read; `SnapshotIncomplete` when the snapshot
        this kernel came from left it out."""
        head, dot, rest = name.partition(".")
        head = self._alias(head)
        if head in self._dropped:
            self._missing(SnapshotIncomplete("snapshot_value_dropped", name=head))
        self.read.add(head)
        return head + dot + rest

    def _alias(self, name: str) -> str:
        """`name`, or the first of its `[names]` aliases the notebook defines when it lacks `name` itself; the
        test's messages say which was used (`name_alias`)."""
        if name not in self._aliases:
            return name
        if name not in self._resolved:
            def defined(n: str) -> bool:  # a name a restored snapshot left out was defined
                return n in self._dropped or bool(self._bridge.request("has", n)["exists"])
            self._resolved[name] = name if defined(name) else next(
                (a for a in self._aliases[name] if defined(a)), name)
        found = self._resolved[name]
        if found != name:
            from davar.api import note

            note("name_alias", expected=name, found=found)
        return found

    def _missing(self, e: SnapshotIncomplete) -> NoReturn:
        self.needs = self.needs or e
        raise e

    @property
    def _bridge(self) -> Asks:
        if self._live.bridge is None:
            raise KernelUnavailable(self.execution.reason or "kernel_gone")
        return _Restored(self._live.bridge, self._missing) if self._restored else self._live.bridge

    @property
    def ran_ok(self) -> bool:
        return self.execution.status == "ok"

    @property
    def cells(self):
        return self.execution.cells

    def figures(self):
        """The images the notebook displayed: `davar.results.Figure(notebook, cell, mime, data)` each."""
        return self._live.figures

    def has(self, name: str) -> bool:
        return bool(self._bridge.request("has", self._named(name))["exists"])

    def value(self, name: str) -> Any:
        return self._bridge.request("value", self._named(name))

    def array(self, name: str) -> np.ndarray:
        return _as_array(name, self._bridge.request("value", self._named(name)))

    def call(self, name: str, *args: Any, timeout: float | None = None) -> Any:
        return self._bridge.request("call", self._named(name), *args, timeout=timeout)

    def source(self, name: str) -> str:
        return self._bridge.request("source", self._named(name))

    def call_observed(self, name: str, *args: Any, models: list[str], timeout: float | None = None) -> Observed:
        """`call`, watching the torch models named in `models` (forward hooks on each, removed after the call):
        which of them the function ran, and what they returned, to compare with what it answered."""
        watched = [self._named(m) for m in models]
        reply = self._bridge.request("call_observed", self._named(name), watched, *args, timeout=timeout)
        if not isinstance(reply, dict) or not isinstance(reply.get("outputs"), dict) or "result" not in reply:
            raise ReplyRejected(name, "malformed reply")
        outputs = {str(k): None if v is None else _as_array(name, v) for k, v in reply["outputs"].items()
                   if str(k) in watched}
        return Observed(result=reply["result"], outputs=outputs)

    def model(self, name: str = "model", *, framework: str | None = None, kind: str | None = None,
              discover: bool = False) -> ModelProbe:
        """The model the assignment's contract calls `name` (or one of its `[names]` aliases).  A real notebook
        may name it otherwise: then, with `discover`, the one model of its role in the namespace is used (of
        `framework` and of class `kind`, e.g. "Sequential", where given: "the only model", "the Sequential
        one"), and the test's messages say so (`model_discovered`); with several candidates nothing is
        guessed."""
        try:
            return ModelProbe(self._bridge, self._named(name))
        except (MissingName, GradeFailure) as e:
            if not discover or getattr(e, "key", "") not in ("missing_name", "not_a_model"):
                raise
            found = sorted(k for k, v in self.find_models().items()
                           if framework in (None, v["framework"]) and kind in (None, v.get("class")))
            if len(found) != 1:
                raise GradeFailure("model_not_found", name=name, candidates=", ".join(found) or "—") from None
            from davar.api import note

            note("model_discovered", expected=name, found=found[0])
            return ModelProbe(self._bridge, self._named(found[0]))

    def find_models(self) -> dict[str, dict[str, str]]:
        """The models of the namespace by name; each is then read (a snapshot keeps every one listed)."""
        if self._dropped and not self._all_models:
            self._missing(SnapshotIncomplete("snapshot_models_dropped"))
        found = self._bridge.request("find_models")
        self.listed_models = True
        if isinstance(found, dict):
            self.read.update(found)
        return found

    @property
    def answers(self) -> Any:
        return self.value("ANSWERS") if self.has("ANSWERS") else {}

    def answer(self, *path: str) -> Any:
        """ANSWERS[path[0]][path[1]]…, or None when the notebook left any step out."""
        node = self.answers
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        return node
