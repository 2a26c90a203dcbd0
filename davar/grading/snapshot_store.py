"""Namespace snapshots stored by content: what every student loaded (the course's dataset arrays) is kept once.

The kernel saves its namespace as one container file (davar/inside/snapshots.py: a JSON header naming
each value and its length, then each value's pickle bytes).  The harness never unpickles or parses those
bytes: it reads the header (bounded, checked against the file's size) and hashes and copies byte ranges.

    <root>/objects/<sha256>                 one value's bytes, once, whoever saved it
    <root>/<student>/<notebook>.json        the notebook's manifest: its values' names, hashes and sizes,
                                            its modules by name, and what it left out (`Manifest`)

What is kept: not every value, but what a regrade needs (`Store.keep`): the values the graders of the full
run asked the kernel about (`Needed`, recorded by `davar.probe.bridge.Sub`), and every value of at most
`SMALL` bytes (cheap, and what a changed grader most likely reads).  The rest (the dataset arrays, the
tensors made of them, an optimizer's state) is left out and listed in the manifest with its size, as are
the values the kernel could not pickle: a regrade whose grader names one runs the notebook for real
(`davar.grading.grade`).  A function a grader calls needs nothing more: cloudpickle saves a notebook's
function by value with the globals it uses (`predict` carries `model`), and restores it with them.

With the values, a manifest keeps the replies the full run's graders got from the kernel
(`davar.probe.bridge.Reply`: each request's key and its reply files, the files as blobs): a regrade whose
graders ask the same requests answers them from there without a kernel (`davar.probe.bridge.Replay`), and
a regrade in a restored kernel keeps its own in their place (`Store.record_replies`).

`Store.keep` splits a container into blobs and writes the manifest; `Store.assembled` builds the container
again for a restore, checking every blob's hash as it copies (a missing or altered blob is
`SnapshotUnusable`, and the notebook runs for real: `davar.grading.kernels`).  Blobs are written
atomically (a temporary name, then a rename), and one already there is not written again; an altered
one is removed when found, so the next save writes it anew.

`Store.sweep` removes the blobs no manifest names.  It runs once at the end of a `davar grade` batch
(`davar.commands.grade`), in the driver, when no worker is writing: a sweep while workers run could
remove a blob one of them has just written and not yet named in its manifest.  A batch killed before
its end leaves unreferenced blobs until the next batch's sweep; nothing is lost but disk for a while.

A student whose id is "objects" would share the blobs' folder: that student's snapshots are not kept
(`davar.grading.batch.Snapshots`), so such a regrade runs the notebook again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import struct
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from davar import files
from davar.errors import SnapshotUnusable, UnsafeFile
from davar.probe.bridge import Reply

#: The container's first bytes (the same as `davar.inside.snapshots.MAGIC`).
MAGIC = b"davar-snapshot/1\n"
#: The largest header read (names and lengths of every value: a namespace of tens of thousands of names).
HEADER_LIMIT = 4 * 2**20
#: The largest manifest read (the header's content and a hash per value).
MANIFEST_LIMIT = 8 * 2**20
OBJECTS = "objects"
CHUNK = 2**20
#: A value this small (its pickle's bytes) is kept whether or not a grader read it.
SMALL = 2**20
_LENGTH = struct.Struct(">Q")
#: A manifest's replies: each request's key and its reply files (name, blob hash, size).
Replies = tuple[tuple[str, str, float, tuple[tuple[str, str, int], ...]], ...]


@dataclass(frozen=True, slots=True)
class Part:
    """One value of a container: its name in the namespace and its bytes' place in the file."""

    name: str
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class Layout:
    """What a container's header says: its values in order, and its modules (name -> module name)."""

    values: tuple[Part, ...]
    modules: tuple[tuple[str, str], ...]


def read_layout(f: BinaryIO, size: int, *, shown: str = "snapshot") -> Layout:
    """The layout of the container open as `f`, `size` bytes long; `SnapshotUnusable` ("snapshot_malformed")
    unless the magic, a header of at most `HEADER_LIMIT` bytes of the expected shape, and values whose
    lengths add up exactly to the rest of the file are there."""
    def malformed(problem: str) -> SnapshotUnusable:
        return SnapshotUnusable("snapshot_malformed", path=shown, problem=problem)

    start = len(MAGIC) + _LENGTH.size
    if size < start or f.read(len(MAGIC)) != MAGIC:
        raise malformed("magic")
    (header_size,) = _LENGTH.unpack(f.read(_LENGTH.size))
    if header_size > HEADER_LIMIT or start + header_size > size:
        raise malformed("header_size")
    try:
        header = json.loads(f.read(header_size))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested past the parser's depth
        raise malformed("header_json") from None
    values = header.get("values") if isinstance(header, dict) else None
    modules = header.get("modules") if isinstance(header, dict) else None
    if not (isinstance(values, list) and isinstance(modules, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in modules.items())
            and all(isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and type(v[1]) is int and v[1] >= 0
                    for v in values)
            and len({v[0] for v in values}) == len(values)):
        raise malformed("header_shape")
    offset, parts = start + header_size, []
    for name, length in values:
        parts.append(Part(name, offset, length))
        offset += length
    if offset != size:
        raise malformed("lengths")
    return Layout(tuple(parts), tuple(modules.items()))


def container_header(values: list[tuple[str, int]], modules: dict[str, str]) -> bytes:
    """The bytes before a container's values: MAGIC, the header's length, the header."""
    header = json.dumps({"values": [list(v) for v in values], "modules": modules}).encode()
    return MAGIC + _LENGTH.pack(len(header)) + header


@dataclass(frozen=True, slots=True)
class Needed:
    """What the graders of a full run asked a notebook's kernel about (`davar.probe.bridge.Sub`): the values a
    snapshot keeps whatever their size."""

    names: frozenset[str]
    all_models: bool = False  # they listed the notebook's models (`find_models`): each is among `names`
    unpicklable: tuple[str, ...] = ()  # what the kernel could not save (its `snapshot` reply): listed as left out


@dataclass(frozen=True, slots=True)
class Manifest:
    """A notebook's manifest: its values (name, hash, size) and modules, what was left out (name, size; -1 for
    a value the kernel could not pickle), and whether every model of the namespace is among the values."""

    values: tuple[tuple[str, str, int], ...]
    modules: tuple[tuple[str, str], ...]
    dropped: tuple[tuple[str, int], ...] = ()
    all_models: bool = True
    #: The graders' requests (key, id, seconds) and their reply files (name, hash, size), in order; None when none
    #: were kept.
    replies: Replies | None = None

    def to_json(self) -> bytes:
        return json.dumps({"values": [list(v) for v in self.values], "modules": dict(self.modules),
                           "dropped": [list(d) for d in self.dropped], "all_models": self.all_models,
                           "replies": None if self.replies is None else [
                               [key, rid, seconds, [list(f) for f in files]]
                               for key, rid, seconds, files in self.replies]}).encode()

    def blobs(self) -> list[tuple[str, int]]:
        """The blobs it names (hash, size): its values' and its replies' files."""
        return [(d, n) for _, d, n in self.values] + [(d, n) for *_, files in self.replies or () for _, d, n in files]


@dataclass(frozen=True, slots=True)
class Store:
    """The snapshots of one assignment's batch, under `root` (module docstring)."""

    root: Path

    @property
    def objects(self) -> Path:
        return self.root / OBJECTS

    def keep(self, container: Path, manifest: Path, needed: Needed | None = None,
             replies: Sequence[Reply] | None = None) -> Manifest:
        """Split `container` (a file the harness owns, as the kernel wrote it) into blobs and write `manifest`
        naming them: every value, or with `needed` those it names and the `SMALL` ones, the rest listed as
        left out; and `replies`, the graders' (`davar.probe.bridge.Bridge.replies`).  `SnapshotUnusable`
        when its layout is broken, and then no manifest."""
        self.objects.mkdir(parents=True, exist_ok=True)
        with open(container, "rb") as f:
            layout = read_layout(f, os.fstat(f.fileno()).st_size, shown=manifest.name.removesuffix(".json"))
            kept = {p.name for p in layout.values if needed is None or p.name in needed.names or p.length <= SMALL}
            values = tuple((p.name, self._put(f, p), p.length) for p in layout.values if p.name in kept)
        left = {p.name: p.length for p in layout.values if p.name not in kept}
        if needed is not None:
            left |= {name: -1 for name in needed.unpicklable if name not in left}
        # a model the kernel could not pickle is not among the values, listed or not
        all_models = needed is None or (needed.all_models and not needed.unpicklable)
        result = Manifest(values, layout.modules, tuple(left.items()), all_models, self._put_replies(replies))
        _write_atomic(manifest, result.to_json())
        return result

    def record_replies(self, manifest: Path, kept: Manifest, replies: Sequence[Reply] | None) -> None:
        """`manifest` (as `kept` read it) with `replies` in place of those it had: a regrade's in the restored
        kernel, which the next regrade asking the same replays."""
        _write_atomic(manifest, dataclasses.replace(kept, replies=self._put_replies(replies)).to_json())

    def replies(self, kept: Manifest) -> tuple[Reply, ...]:
        """The replies `kept` names, read from their blobs (`SnapshotUnusable` when one is missing or altered)."""
        def read(fname: str, digest: str, size: int) -> bytes:
            out = io.BytesIO()
            self._copy_blob(out, fname, digest, size)
            return out.getvalue()
        return tuple(Reply(key, rid, seconds, tuple((f, read(f, d, n)) for f, d, n in files))
                     for key, rid, seconds, files in kept.replies or ())

    def _put_replies(self, replies: Sequence[Reply] | None) -> Replies | None:
        if replies is None:
            return None
        self.objects.mkdir(parents=True, exist_ok=True)
        return tuple((r.key, r.rid, r.seconds, tuple((fname, self._put(io.BytesIO(data), Part(fname, 0, len(data))),
                                                      len(data)) for fname, data in r.files)) for r in replies)

    def _put(self, f: BinaryIO, part: Part) -> str:
        """The hash of `part`'s bytes in `f`, stored as a blob unless one is there already."""
        h = hashlib.sha256()
        for chunk in _chunks(f, part.offset, part.length):
            h.update(chunk)
        digest = h.hexdigest()
        blob = self.objects / digest
        if not blob.is_file():
            with _atomic(blob) as out:
                for chunk in _chunks(f, part.offset, part.length):
                    out.write(chunk)
        return digest

    @contextlib.contextmanager
    def incoming(self) -> Iterator[Path]:
        """A free path for the kernel's container while `keep` splits it; removed on exit."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".incoming-", dir=self.root)
        os.close(fd)
        try:
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)

    @contextlib.contextmanager
    def assembled(self, manifest: Path) -> Iterator[Path]:
        """The container `manifest` describes, built from the blobs in a temporary file (removed on exit);
        `SnapshotUnusable` when the manifest is broken or a blob is missing or altered (an altered blob is
        removed, so the next save stores it anew)."""
        kept = read_manifest(manifest)
        fd, name = tempfile.mkstemp(prefix=".assembled-", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(container_header([(k, size) for k, _, size in kept.values], dict(kept.modules)))
                for k, digest, size in kept.values:
                    self._copy_blob(out, k, digest, size)
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)

    def _copy_blob(self, out: BinaryIO, name: str, digest: str, size: int) -> None:
        blob, h, copied = self.objects / digest, hashlib.sha256(), 0
        try:
            with open(blob, "rb") as f:
                for chunk in _chunks(f, 0, size + 1):
                    h.update(chunk)
                    copied += len(chunk)
                    out.write(chunk)
        except FileNotFoundError:
            raise SnapshotUnusable("snapshot_blob_missing", name=name, digest=digest[:12]) from None
        if copied != size or h.hexdigest() != digest:
            blob.unlink(missing_ok=True)
            raise SnapshotUnusable("snapshot_blob_altered", name=name, digest=digest[:12])

    def manifests(self) -> list[Path]:
        """Every notebook manifest of every student."""
        return [p for d in self.root.iterdir() if d.is_dir() and d.name != OBJECTS for p in d.rglob("*.json")
                if p.name != "manifest.json"]

    def sweep(self) -> int:
        """Remove the blobs no manifest names (module docstring: when); how many bytes were freed.  A
        manifest that cannot be read keeps nothing alive: its snapshot could not serve anyway."""
        if not self.objects.is_dir():
            return 0
        named: set[str] = set()
        for m in self.manifests():
            with contextlib.suppress(SnapshotUnusable, OSError):
                named.update(digest for digest, _ in read_manifest(m).blobs())
        freed = 0
        for left in [*self.root.glob(".assembled-*"), *self.root.glob(".incoming-*")]:  # a worker killed mid-way
            left.unlink(missing_ok=True)
        for blob in self.objects.iterdir():
            if blob.name not in named:
                with contextlib.suppress(OSError):
                    freed += blob.stat().st_size
                    blob.unlink()
        return freed

    def bytes_per_student(self) -> float:
        """The store's size on disk (every blob and manifest, once) over the students with a snapshot:
        what a student costs on average, shared data counted once for the whole class."""
        students = {m.relative_to(self.root).parts[0] for m in self.manifests()}
        if not students:
            return 0.0
        blobs = sum(p.stat().st_size for p in self.objects.iterdir()) if self.objects.is_dir() else 0
        return (blobs + sum(m.stat().st_size for m in self.manifests())) / len(students)


def read_manifest(manifest: Path) -> Manifest:
    """What `Store.keep` wrote to `manifest`; `SnapshotUnusable` for anything else (bounded read: it is a file
    in the TA's output folder).  A manifest from before values were left out has none left out."""
    try:
        data = json.loads(files.read_bytes(manifest, limit=MANIFEST_LIMIT))
        kept = Manifest(
            values=tuple((str(k), str(digest), int(size)) for k, digest, size in data["values"]),
            modules=tuple((str(k), str(v)) for k, v in data["modules"].items()),
            dropped=tuple((str(k), int(size)) for k, size in data.get("dropped", [])),
            all_models=data.get("all_models", True) is True,
            replies=None if data.get("replies") is None else tuple(
                (str(key), str(rid), float(seconds), tuple((str(f), str(digest), int(size))
                                                           for f, digest, size in files))
                for key, rid, seconds, files in data["replies"]))
    except (OSError, UnsafeFile, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        raise SnapshotUnusable("snapshot_malformed", path=manifest.name, problem="manifest") from None
    if not all(len(d) == 64 and all(c in "0123456789abcdef" for c in d) and n >= 0 for d, n in kept.blobs()):
        raise SnapshotUnusable("snapshot_malformed", path=manifest.name, problem="manifest")
    return kept


def has_replies(manifest: Path) -> bool:
    """Whether `manifest` can be read and keeps its graders' replies."""
    with contextlib.suppress(SnapshotUnusable):
        return read_manifest(manifest).replies is not None
    return False


def _chunks(f: BinaryIO, offset: int, length: int) -> Iterator[bytes]:
    """`length` bytes of `f` from `offset` (fewer at the end of the file), a chunk at a time."""
    f.seek(offset)
    while length > 0 and (chunk := f.read(min(CHUNK, length))):
        length -= len(chunk)
        yield chunk


@contextlib.contextmanager
def _atomic(dest: Path) -> Iterator[BinaryIO]:
    """A file written under a temporary name beside `dest`, renamed over it once complete: a reader sees
    the whole file or none, and two workers writing the same blob both end with it whole."""
    fd, part = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(part, dest)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise


def _write_atomic(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _atomic(dest) as out:
        out.write(data)
