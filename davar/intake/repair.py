"""Read a student's notebook as it arrived: repaired where that is safe, refused with a reason where not.

    nb, notes = repair.load(path)   # a valid nbformat 4.5 notebook, outputs and execution counts cleared
    notes = repair.check(path)      # the same, for a submitted notebook: it must have code to run

Every reader of a submitted notebook goes through `load` (the grade's check and the notebook run),
so both see the same notebook.  `notes` are catalogue messages saying what was repaired; they become
submission-level messages of the result.  A notebook that cannot be read safely raises
`InvalidSubmission` with a catalogue key naming why (the submission is then `invalid_submission`).

What is repaired: a UTF-8 byte-order mark, a notebook saved as UTF-16, data after the end of the
notebook's JSON (a second copy, editor junk), nbformat 3 (converted) and 4.0–4.4 (cell ids added),
missing, invalid or duplicate cell ids, null or out-of-order execution counts (the notebook always
runs from top to bottom; counts are cleared), cells of an unknown type (kept as raw text, not run),
lone surrogates (a JSON escape of no character, which no file can hold as UTF-8: replaced by U+FFFD),
and a file cut off inside the outputs of a cell whose code was already saved before them.  Never
repaired: anything that would mean guessing code (a file cut off elsewhere, JSON broken inside the
cells, text that is not UTF-8).

Outputs are dropped while reading, before anything is parsed: the notebook runs again anyway, and a
stray output of hundreds of MB must not be held in memory several times over.  The file is mapped,
not read; a tokenizer walks its strings and brackets (C-speed regular expressions), and only the
notebook without its outputs is ever copied and parsed.  Papermill's record of an earlier run goes too
(the run writes its own, and papermill fails on one that is not an object).  Files over `MAX_BYTES` are
refused, and so is anything but a regular file (a named pipe, a device, a link: `davar.files`), without
waiting on it.
"""

from __future__ import annotations

import itertools
import json
import mmap
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from davar import catalogue, files
from davar.errors import InvalidSubmission, UnsafeFile
from davar.results import Message

MAX_BYTES = 1024 * 2**20  # larger files are refused (clear the outputs and submit again)
NBFORMAT_MINOR = 5
# A JSON string (an unterminated one runs to the end of the file), or one structural character.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)|(?P<s>[\[\]{}:])')  # s: structural
_CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # a surrogate, paired (an emoji) or lone, in JSON
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str json.loads made: a pair became one character
# What papermill recorded of an earlier run: it writes there again (and fails where it is no object).
_RUN_METADATA = {"papermill"}
_CELL_PATHS = {("cells",), ("worksheets", "cells")}  # keys leading to the cell objects (v4, v3)
_CELL_KEYS = {"code": {"id", "cell_type", "metadata", "source", "outputs", "execution_count"},
              "markdown": {"id", "cell_type", "metadata", "source", "attachments"},
              "raw": {"id", "cell_type", "metadata", "source", "attachments"}}


def load(path: Path) -> tuple[NotebookNode, list[Message]]:
    """The notebook at `path`, repaired, as nbformat 4.5 without outputs; and the repair notes."""
    path = Path(path)
    name = path.name
    notes: list[Message] = []

    def note(key: str, **values: Any) -> None:
        notes.append(catalogue.message(key, {"notebook": name, **values}))

    try:  # a regular file only (a named pipe would block, a device never end): davar.files
        f = files.open_file(path, limit=MAX_BYTES)
    except UnsafeFile as e:
        if e.kind == "too_large":
            raise InvalidSubmission("notebook_too_large", notebook=name, size_mb=e.values["size_mb"],
                                    limit_mb=MAX_BYTES / 2**20) from None
        raise InvalidSubmission("notebook_not_a_file", notebook=name, kind=e.kind) from None
    except OSError as e:
        raise InvalidSubmission("notebook_unreadable", notebook=name, error=e.strerror or type(e).__name__) from None
    with f:
        if os.fstat(f.fileno()).st_size == 0:
            raise InvalidSubmission("notebook_empty", notebook=name)
        return _load(f, name, note), notes


def _load(f, name: str, note) -> NotebookNode:
    """The notebook in the open file `f` (not empty), mapped rather than read."""
    with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        buf, start = _text(mm, name, note)
        scan = _Scan(buf, start)
        scan.run()
        if scan.end is None:
            data = _truncated(scan, name, note)
        else:
            trailing = _trailing(buf, scan.end)
            if trailing:
                note("repair_trailing_data", size=trailing)
            data = scan.reduced()
        try:
            raw = json.loads(data.decode("utf-8"))  # strictly: json.loads lets bytes of surrogates through
            if _SURROGATE_ESCAPE.search(data):
                raw = _without_lone_surrogates(raw, note)
        except UnicodeDecodeError as e:
            raise InvalidSubmission("notebook_not_utf8", notebook=name, position=scan.original(e.start)) from None
        except json.JSONDecodeError as e:
            pos = scan.original(len(e.doc[:e.pos].encode()))  # e.pos counts characters, not bytes
            raise InvalidSubmission("notebook_bad_json", notebook=name, error=e.msg, line=_line_of(buf, pos)) from None
        except RecursionError:
            raise InvalidSubmission("notebook_bad_json", notebook=name, error="nested too deeply", line=1) from None
        except ValueError:  # json.loads makes no int of more digits than Python converts (4300 by default)
            long = re.search(rb"\d{%d}" % (sys.get_int_max_str_digits() + 1), data)
            line = _line_of(buf, scan.original(long.start())) if long else 1
            raise InvalidSubmission("notebook_bad_json", notebook=name, error="a number too long", line=line) from None
    return _notebook(raw, name, note)


def check(path: Path) -> list[Message]:
    """`load` for a submitted notebook that must have code to run; returns the repair notes."""
    nb, notes = load(path)
    if not any(c.cell_type == "code" and c.source.strip() for c in nb.cells):
        raise InvalidSubmission("notebook_no_code", notebook=Path(path).name)
    return notes


# ---------------------------------------------------------------- bytes → JSON text without outputs


def _text(mm: mmap.mmap, name: str, note) -> tuple[Any, int]:
    """The buffer to scan (the mapped file, or its UTF-8 re-encoding) and where the JSON starts."""
    head = mm[:4]
    buf: bytes | mmap.mmap
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(head) >= 2 and b"\x00" in head[:2]):
        bom = head.startswith((b"\xff\xfe", b"\xfe\xff"))
        try:
            buf = mm[:].decode("utf-16" if bom else "utf-16-be" if head[0] == 0 else "utf-16-le").encode("utf-8")
        except UnicodeDecodeError:
            raise InvalidSubmission("notebook_not_utf8", notebook=name, position=0) from None
        note("repair_utf16")
        buf = buf.removeprefix(b"\xef\xbb\xbf")
        start = 0
    else:
        buf, start = mm, 0
        if head.startswith(b"\xef\xbb\xbf"):
            note("repair_bom")
            start = 3
    blank = re.compile(rb"\s*").match(buf, start)
    assert blank is not None  # `\s*` matches anywhere, if only the empty string
    first = blank.end()
    if buf[first:first + 1] != b"{":
        shown = bytes(buf[first:first + 40]).decode("utf-8", "replace")
        raise InvalidSubmission("notebook_not_json", notebook=name,
                                start="".join(c if c.isprintable() else "·" for c in shown))
    return buf, first


class _Scan:
    """Walks the JSON's tokens once, cutting out the value of every cell's "outputs"."""

    def __init__(self, buf, start: int):
        self.buf, self.start = buf, start
        self.end: int | None = None  # offset after the top-level object, when it closes
        self.cuts: list[tuple[int, int]] = []  # [start, end) of each outputs value (replaced by [])
        self.stack: list[dict] = []  # {"kind": b"{" or b"[", "key": str | None, "seen": set}
        self.cells_done = 0  # cell objects closed
        self.last_cell_end: int | None = None  # offset after the last closed cell
        self.cut_open: int | None = None  # start of an outputs value the file ended inside
        self.cut_cell_seen: set[str] = set()  # keys of the cell whose outputs the file ended inside

    def _cell_path(self, depth: int) -> bool:
        """Whether the object at stack[depth] is a cell."""
        keys = tuple(e["key"] for e in self.stack[:depth] if e["kind"] == b"{")
        return keys in _CELL_PATHS and self.stack[depth]["kind"] == b"{" and depth > 0 \
            and self.stack[depth - 1]["kind"] == b"["

    def run(self) -> None:
        tokens = _TOKEN.finditer(self.buf, self.start)
        prev = None  # the previous token when it is a string (a key when ":" follows); never copied else
        for m in tokens:
            tok = m.group("s")  # None for a string
            if tok is None:
                prev = m
                continue
            if tok == b":":
                if self.stack and self.stack[-1]["kind"] == b"{" and prev is not None:
                    key = _key(prev.group() if prev.end() - prev.start() < 4096 else b"")
                    self.stack[-1]["key"] = key
                    self.stack[-1]["seen"].add(key)
            elif tok in (b"{", b"["):
                top = self.stack[-1] if self.stack else None
                if (tok == b"[" and top is not None and top["key"] == "outputs"
                        and self._cell_path(len(self.stack) - 1)):
                    if not self._skip(tokens, m.start()):
                        self.cut_cell_seen = set(top["seen"])
                        return
                else:
                    self.stack.append({"kind": tok, "key": None, "seen": set()})
            elif tok in (b"}", b"]"):
                if not self.stack:
                    return  # a closing bracket before anything opened: json.loads will say where
                if tok == b"}" and self._cell_path(len(self.stack) - 1):
                    self.cells_done += 1
                    self.last_cell_end = m.end()
                self.stack.pop()
                if not self.stack:
                    self.end = m.end()
                    return
            prev = None

    def _skip(self, tokens, start: int) -> bool:
        """Consume one outputs array (its first "[" at `start`); False when the file ends inside it."""
        depth = 1
        for m in tokens:
            tok = m.group("s")
            if tok in (b"[", b"{"):
                depth += 1
            elif tok in (b"]", b"}"):
                depth -= 1
                if depth == 0:
                    self.cuts.append((start, m.end()))
                    return True
        self.cut_open = start
        return False

    def reduced(self, upto: int | None = None) -> bytes:
        """The JSON text from `start` to `upto` (default: the end of the top-level object), outputs cut."""
        if upto is None:
            assert self.end is not None, "a notebook that never closes has no end: pass `upto`"
            upto = self.end
        pieces, pos = [], self.start
        for a, b in self.cuts:
            if a >= upto:
                break
            pieces += [self.buf[pos:a], b"[]"]
            pos = b
        pieces.append(self.buf[pos:upto])
        return b"".join(pieces)

    def original(self, pos: int) -> int:
        """An offset in `reduced()` as an offset in the file."""
        out, shift = pos + self.start, 0
        for a, b in self.cuts:
            if a - self.start - shift >= pos:
                break
            shift += (b - a) - 2
        return out + shift


def _key(token: bytes) -> str:
    try:
        return json.loads(token)
    except ValueError:
        return ""


def _trailing(buf, end: int) -> int:
    """How many bytes after the notebook's JSON are not whitespace-only (0 when there are none)."""
    size = len(buf) - end
    step, pos = 2**20, end
    while pos < len(buf):
        if bytes(buf[pos:pos + step]).strip():
            return size
        pos += step
    return 0


def _truncated(scan: _Scan, name: str, note) -> bytes:
    """The JSON of a file that ends before its notebook closes: kept only when what is lost is the
    outputs of a cell whose code came before them (and whatever followed; the note says so)."""
    top = scan.stack[0] if scan.stack else {"seen": set()}
    cell = scan.cells_done + 1
    if scan.cut_open is None or "source" not in scan.cut_cell_seen or "worksheets" in top["seen"]:
        raise InvalidSubmission("notebook_truncated", notebook=name, cell=cell)
    note("repair_truncated_outputs", cell=cell)
    return scan.reduced(scan.cut_open) + b"[]}]}"


def _without_lone_surrogates(raw: Any, note) -> Any:
    """`raw` with each lone surrogate (a JSON escape such as \\ud800 without its pair) replaced by U+FFFD.
    It is no character: nothing can write it as UTF-8 (the notebook copied into the sandbox), and Python
    cannot compile a cell holding one.  Only the text's escapes make one, so a file without any
    (`_SURROGATE_ESCAPE`, most files) never comes here."""
    text, count = _LONE_SURROGATE.subn("\ufffd", json.dumps(raw, ensure_ascii=False))
    if not count:
        return raw
    note("repair_lone_surrogates", count=count)
    return json.loads(text)


def _line_of(buf, pos: int) -> int:
    step, lines = 2**24, 1
    for a in range(0, min(pos, len(buf)), step):
        lines += bytes(buf[a:min(a + step, pos)]).count(b"\n")
    return lines


# ---------------------------------------------------------------- JSON → a valid nbformat 4.5 notebook


def _notebook(raw: Any, name: str, note) -> NotebookNode:
    if not isinstance(raw, dict):
        raise InvalidSubmission("notebook_not_a_notebook", notebook=name, why=f"a JSON {type(raw).__name__}")
    major = raw.get("nbformat", 4 if "cells" in raw else 3 if "worksheets" in raw else None)
    if major is None or ("cells" not in raw and "worksheets" not in raw):
        raise InvalidSubmission("notebook_not_a_notebook", notebook=name, why="no cells")
    if major not in (3, 4):
        raise InvalidSubmission("notebook_version", notebook=name, version=str(major)[:20])
    minor = raw.get("nbformat_minor", 0)
    minor = minor if isinstance(minor, int) and major == 4 else 0  # every v3 notebook is 3.0 (nbformat has no other)
    raw["nbformat"], raw["nbformat_minor"] = major, minor
    if not isinstance(raw.get("metadata"), dict):
        raw["metadata"] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if major == 3:
                nb = nbformat.convert(nbformat.v3.to_notebook_json(raw), 4)
                note("repair_nbformat3")
            else:
                if not isinstance(raw["cells"], list) or not all(isinstance(c, dict) for c in raw["cells"]):
                    raise ValueError("its cells are not a list of cell objects")
                nb = nbformat.v4.to_notebook_json(raw)
    except InvalidSubmission:
        raise
    except Exception as e:  # nbformat raises several unrelated types for a malformed notebook
        raise InvalidSubmission("notebook_schema", notebook=name, error=_first_line(e)) from None
    _fix_cells(nb, minor, name, note)
    nb = nbformat.from_dict({"cells": [{k: v for k, v in c.items() if k in _CELL_KEYS[c.cell_type]} for c in nb.cells],
                             "metadata": {k: v for k, v in nb.metadata.items() if k not in _RUN_METADATA},
                             "nbformat": 4, "nbformat_minor": NBFORMAT_MINOR})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _valid(nb)
        except Exception:  # metadata editors and extensions wrote wrongly: it does not change what runs
            for holder in (nb, *nb.cells):
                holder.metadata = NotebookNode()
            try:
                return _valid(nb)
            except Exception as e:
                raise InvalidSubmission("notebook_schema", notebook=name, error=_first_line(e)) from None


def _valid(nb: NotebookNode) -> NotebookNode:
    _, normalized = nbformat.validator.normalize(nb, strip_invalid_metadata=True)
    nb = nbformat.from_dict(normalized)
    nbformat.validate(nb)
    return nb


def _fix_cells(nb: NotebookNode, minor: int, name: str, note) -> None:
    """Cell types, sources, ids; outputs and execution counts cleared (the notebook runs again)."""
    counts, ids, replaced = [], set(), 0
    for i, cell in enumerate(nb.cells):
        kind = cell.get("cell_type")
        if kind not in ("code", "markdown", "raw"):
            note("repair_unknown_cell", cell=i + 1, type=str(kind)[:40])
            cell.cell_type = kind = "raw"
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise InvalidSubmission("notebook_schema", notebook=name, error=f"cell {i + 1} has no text source")
        cell.source = source
        if not isinstance(cell.get("metadata"), dict):
            cell.metadata = NotebookNode()
        if kind == "code":
            count = cell.get("execution_count")
            if isinstance(count, int) and not isinstance(count, bool):
                counts.append(count)
            cell.execution_count, cell.outputs = None, []
        else:
            for key in ("execution_count", "outputs"):
                cell.pop(key, None)
            if kind == "markdown" and not isinstance(cell.get("attachments", {}), dict):
                cell.pop("attachments")
        cid = cell.get("id")
        if not (isinstance(cid, str) and _CELL_ID.match(cid)) or cid in ids:
            replaced += minor >= 5 or cid is not None
            cid = next(f"cell-{i}-{k}" if k else f"cell-{i}" for k in range(len(nb.cells) + 1)
                       if (f"cell-{i}-{k}" if k else f"cell-{i}") not in ids)
            cell.id = cid
        ids.add(cid)
    if replaced:
        note("repair_cell_ids", count=replaced)
    if any(b <= a for a, b in itertools.pairwise(counts)):
        note("repair_out_of_order")


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:300] if text else type(e).__name__
