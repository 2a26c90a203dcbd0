"""Bounded harness I/O on paths a student controls: open, read, copy and list files without following a
symbolic link, without blocking on a named pipe or a device, and without reading more than the caller allows.

The harness reads what a student shaped in three places: the submitted folder or archive (intake), the
sandbox's working folder after the run (the namespace snapshot) and the exchange folder the kernel answers
in (the bridge).  Where the harness expects a file, any of them may hold a named pipe (an ordinary open
waits for a writer forever, and the batch with it), a device node (``/dev/zero`` never ends), a symbolic
link to a host file, a sparse file of a terabyte, a socket or a folder.  Every such read goes through here:

- `open_file` looks before it opens (``lstat``: a non-regular file is refused without being opened, so
  opening a device node has no side effect), opens with ``O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
  O_CLOEXEC`` (a link is refused by the kernel, a pipe swapped in after the look opens at once), then
  ``fstat``s the open descriptor, which is what counts: only a regular file no larger than the caller's
  limit is accepted.  With `beneath` (the folder the student controls), every folder on the way down
  from it is opened the same way (``O_DIRECTORY | O_NOFOLLOW``, one component at a time), so no linked
  folder is followed either.
- `read_bytes` reads at most the limit: a file that grows while it is read is refused, not read on.
- `copy_file` copies such a file, at most the limit, to a file the harness owns.
- `scan_tree` lists a folder's regular files without following links, and records what else is there.
- `remove_tree` removes such a folder however deep it is.

A refusal is `davar.errors.UnsafeFile` (catalogue keys ``file_refused`` and ``file_too_large``; its `kind`
is one of `KINDS`, or ``"too_large"``); each caller turns it into a result
(a refused reply, a note, an invalid submission), never a hang or a crash of the batch.  Each limit is
named where it is used.  A file that vanishes is an ordinary `OSError` (FileNotFoundError).

Standard library only: these are a handful of ``os.open`` flags and ``fstat`` checks; no library offers
them with the ``dir_fd`` walk, and the open flags are the guarantee, not a check a student could race.
Hard links are not refused: inside the sandbox a link cannot reach outside its working folder (it is a
mount of its own), and a hard link in a submitted folder holds what that folder holds, read like a copy.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import BinaryIO

from davar.errors import UnsafeFile

#: What `kind` calls a file; every one but "file" and "directory" is refused where a file is expected.
KINDS = ("file", "directory", "symlink", "fifo", "device", "socket", "special_file")
CHUNK = 2**20
_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_DIRECTORY = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_DIRECTORY | os.O_CLOEXEC


def kind(mode: int) -> str:
    """What a file is, from its `st_mode` (one of `KINDS`)."""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special_file"


def is_regular(path: Path) -> bool:
    """Whether `path` itself (a link is not followed) is a regular file; False when it is not there."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def open_file(path: Path, *, limit: int, beneath: Path | None = None) -> BinaryIO:
    """`path` opened for reading, once it is known to be a regular file of at most `limit` bytes (module
    docstring); `UnsafeFile` otherwise.  With `beneath`, `path` must lie below it, and no folder between
    them may be a link.  Read it with `read_bytes`' care: it may still grow."""
    path = Path(path)
    shown = _shown(path, beneath)  # what a message names: the path inside the student's folder
    parent = _open_parent(path, beneath, shown)
    name = path.name if beneath is not None else str(path)
    try:
        found = os.stat(name, dir_fd=parent, follow_symlinks=False)
        if not stat.S_ISREG(found.st_mode):  # refused before it is opened
            raise UnsafeFile("file_refused", path=shown, kind=kind(found.st_mode))
        try:
            fd = os.open(name, _OPEN, dir_fd=parent)
        except OSError as e:  # swapped for something else since the look: a link (ELOOP), a socket (ENXIO)
            again = _lstat(name, parent)
            if again is not None and not stat.S_ISREG(again.st_mode):
                raise UnsafeFile("file_refused", path=shown, kind=kind(again.st_mode)) from None
            raise e from None
    finally:
        if parent is not None:
            os.close(parent)
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise UnsafeFile("file_refused", path=shown, kind=kind(opened.st_mode))
        if opened.st_size > limit:
            raise _too_large(shown, opened.st_size, limit)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: Path, *, limit: int, beneath: Path | None = None) -> bytes:
    """The contents of the regular file `path`, at most `limit` bytes (`open_file`); `UnsafeFile` for
    anything else, or when the file holds more by the time it is read."""
    with open_file(path, limit=limit, beneath=beneath) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise _too_large(_shown(path, beneath), len(data), limit)
    return data


def copy_file(src: Path, dest: Path, *, limit: int, beneath: Path | None = None, keep_times: bool = False) -> int:
    """Copy the regular file `src` (`open_file`) to `dest`, a path the harness owns (replaced if there, never
    through a link), at most `limit` bytes; with `keep_times`, `dest` gets `src`'s modification time.
    Returns the bytes copied.  `UnsafeFile` (and no `dest`) for anything else."""
    with open_file(src, limit=limit, beneath=beneath) as f:
        st = os.fstat(f.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.unlink(dest)  # a link or a pipe there is removed, not written through
        out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        copied = 0
        try:
            with os.fdopen(out, "wb") as w:
                while chunk := f.read(min(CHUNK, limit + 1 - copied)):
                    copied += len(chunk)
                    if copied > limit:
                        raise _too_large(_shown(src, beneath), copied, limit)
                    w.write(chunk)
        except BaseException:
            os.unlink(dest)
            raise
    if keep_times:
        os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    return copied


@dataclass(frozen=True, slots=True)
class Tree:
    """A folder's regular files and what else it holds, as paths relative to it, sorted."""

    files: tuple[PurePath, ...]
    skipped: tuple[tuple[PurePath, str], ...]  # (path, kind): links, pipes, devices, sockets: never opened
    size: int  # the files' total bytes, as `lstat` says


def scan_tree(root: Path, *, ignore: Collection[str] = (), marker: str = "") -> Tree:
    """Every regular file under `root`, links not followed (a linked folder is not entered, but recorded
    as skipped); entries named in `ignore` are left out altogether, folders with what they hold, and so are
    folders holding a file named `marker`."""
    files: list[PurePath] = []
    skipped: list[tuple[PurePath, str]] = []
    size = 0
    todo = [PurePath()]
    while todo:
        rel = todo.pop()
        with os.scandir(Path(root) / rel) as entries:
            for entry in entries:
                if entry.name in ignore:
                    continue
                st = entry.stat(follow_symlinks=False)
                what = kind(st.st_mode)
                if what == "directory":
                    if not (marker and os.path.lexists(Path(entry.path) / marker)):
                        todo.append(rel / entry.name)
                elif what == "file":
                    files.append(rel / entry.name)
                    size += st.st_size
                else:
                    skipped.append((rel / entry.name, what))
    return Tree(files=tuple(sorted(files)), skipped=tuple(sorted(skipped)), size=size)


def remove_tree(path: Path) -> None:
    """Remove a folder a student shaped, whatever it holds: `shutil.rmtree` recurses once per level and
    raises `RecursionError` on a few thousand nested folders, so past that coreutils' ``rm -rf`` (which
    walks without recursion) finishes the job.  Mount points are not crossed; what cannot go, stays."""
    try:
        shutil.rmtree(path, ignore_errors=True)
    except RecursionError:
        subprocess.run(["rm", "-rf", "--one-file-system", "--", str(path)], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _shown(path: Path, beneath: Path | None) -> str:
    return str(Path(path).relative_to(beneath)) if beneath is not None else Path(path).name


def _too_large(shown: str, size: int, limit: int) -> UnsafeFile:
    return UnsafeFile("file_too_large", path=shown, size_mb=round(size / 2**20, 2), limit_mb=round(limit / 2**20, 2))


def _lstat(name: str, dir_fd: int | None) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return None


def _open_parent(path: Path, beneath: Path | None, shown: str) -> int | None:
    """A descriptor of `path`'s folder, reached from `beneath` one component at a time without following a
    link (None without `beneath`: the path is taken as it is)."""
    if beneath is None:
        return None
    parts = path.relative_to(beneath).parts
    if not parts or ".." in parts:
        raise ValueError(f"{path} is not a file below {beneath}")
    fd = os.open(beneath, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the caller's folder: trusted
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, _DIRECTORY, dir_fd=fd)
            except OSError as e:
                found = _lstat(part, fd)
                if found is not None and not stat.S_ISDIR(found.st_mode):
                    raise UnsafeFile("file_refused", path=shown, kind=kind(found.st_mode)) from None
                raise e from None
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd

