"""A disk quota per run, and the host's free space before a batch and a run.

Under ``strict`` the run folder (the working folder, the kernel's ``/tmp``, the sockets, the executed
notebook and the kernel's log) is a file system of its own: a sparse ext4 image made for the run,
loop-mounted on the host at the run folder, unmounted and deleted when the run ends::

    truncate -s SIZE davar-run-XXXX.disk          # sparse: only the blocks written use the host's disk
    mkfs.ext4 -q -F -O ^has_journal -b 4096 -N INODES -m 0 -E lazy_itable_init=1,nodiscard IMAGE
    tune2fs -r ROOT_ONLY_BLOCKS IMAGE             # what only the harness (root) may use
    mount -o loop,nosuid,nodev,noatime,noinit_itable IMAGE davar-run-XXXX
    mount -t tmpfs -o size=2×reply_mb+16m,mode=0700,... tmpfs davar-run-XXXX/out
    mount -t tmpfs -o mode=0755,... tmpfs davar-run-XXXX/in

Why a file system and not a watchdog: the kernel's writes fail with ENOSPC the moment the folder is
full, however fast it writes, with nothing polling (a watchdog sees 6 GB after the fact).  Why a loop
image and not a tmpfs: tmpfs is memory, and four workers with a 2 GB quota each would hold 8 GB of
RAM for their files.  Why not ext4 project quotas: they need the host file system formatted with them,
and the owner of a file may change its project.  The harness still reads the run's files where it
always did (the image is mounted at the run folder).

- **The kernel gets `disk_mb`, the harness keeps room.**  The image holds what the harness copies in
  (the submission's files, a snapshot to restore), `disk_mb` for the kernel, and blocks only root may
  use (ext4's reserved blocks, set exactly with ``tune2fs -r``; at most half the file system, so a
  small quota has a smaller share): the harness writes the executed notebook as root, so a notebook
  that filled its quota never makes the harness fail.  ext4 keeps no inodes for root, so the executed
  notebook's file is made before the kernel starts: a notebook may use up every inode (thousands of
  small files) and still be graded.  The kernel's inodes are one per 16 KB of `disk_mb` plus what the
  harness's copies did not take of theirs (`mount`'s `entries`); they do not grow with the room made for
  the copies' bytes, so a kernel started ahead of its submission (`davar.run.pool`, room for 1 GB) may
  make as many files as one started for it.  (Root's writes take
  ordinary blocks first, so the kernel's share is `disk_mb` + 1 MB less the notebook copies the
  harness writes beside it before the kernel starts: a few hundred KB for a student's notebook.)
- **Replies have room of their own.**  The exchange folder the kernel answers the graders in
  (`sandbox.REPLIES`) is a small tmpfs inside the run folder (memory charged to the kernel's cgroup as
  it writes; the bridge deletes each reply once read): a notebook that filled its quota, by accident
  (checkpoints every epoch) or not, can still be graded on what it defined.  The folder the graders' arguments
  are written to (`sandbox.REQUESTS`, read-only in the sandbox) is a tmpfs of the harness's (memory charged
  to the worker; the bridge deletes each request's files once answered), for the same reason.
- **No journal, no background zeroing**: a scratch file system thrown away after the run needs
  neither; without them an empty 2 GB image uses ~1.3 MB of the host's disk (a journal would write 64 MB).
- **Always removed**: `DiskQuota.remove` is the run's cleanup (after the kernel and its cgroup are
  gone); it unmounts the two tmpfs and the image (lazily when something still holds them: a file system
  goes with its last user) and deletes the image.  After a driver died (`kill -9`), `unmount_stale`
  removes what a ``davar-run-*`` folder left: the clean-up of dead runs calls it before deleting the
  folder; `mounted_runs` lists the run folders mounted now.

Measured on the project's machine (2 cores, ext4 with ``discard`` on virtio, root), the default 2 GB
quota, `DiskQuota.mount` then `remove`, 10 runs each: idle, mount 55–72 ms (mkfs ~25, tune2fs ~10, the
two mounts ~25) and remove 3–5 ms; at a load average of 5 (other sessions' notebooks), mount median
71 ms (39–174) and remove median 73 ms (the unmount 9–40, the host's delete of the image 6–64).  So
60–250 ms per run, against ~700 ms for a sandboxed kernel's start.
The graders' tmpfs (2026-12-06, `DiskQuota.mount` of 2 GB, 10 each way, twice, alternating): median 25.9 and
26.1 ms with it, 23.5 and 23.7 ms without: +2 ms a run.

``basic`` and ``none`` have no quota: ``basic`` runs without root (no loop mount), ``none`` is a plain
kernel.  Their results say `disk_mb` was not enforced (`SandboxRecord.not_enforced`, shown in the
report); ``basic``'s ``/tmp`` is a tmpfs capped at `tmp_mb`.  A notebook whose write fails there
because the host's disk is full gets no `disk_limit` reason: it is a plain error.

Free space on the host: `check_batch` (`davar grade`, before anything runs) wants `disk_mb` for every
parallel run plus `HOST_MARGIN_MB` on the run folders' file system, and the margin where the reports
go; `DiskQuota.mount` wants the image's full size plus the margin before each run.  Too little is a
`DiskSpaceLow` error naming the path, the free and the needed space (a run refused this way is the
submission's `harness_error`, graded again by the next `davar grade`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from davar.errors import DiskSpaceLow

#: What must stay free on the host's disk beyond what the runs may use (the gradebook, reports, logs).
HOST_MARGIN_MB = 1024
#: The image of run folder ``davar-run-XXXX`` is ``davar-run-XXXX.disk`` next to it.
IMAGE_SUFFIX = ".disk"
#: Root's file in a run folder that holds the room a smaller submission did not take (`DiskQuota.hold`).
HELD = ".davar-held"
#: The kernel may make one file or folder per this many bytes of its quota (mkfs.ext4's default ratio).
BYTES_PER_INODE = 16384
#: Inodes of the harness's own: ext4's reserved ones, lost+found, the run's folders, logs and notebooks.
_HARNESS_INODES = 64
_INODE_BYTES = 256  # an inode's size in the tables (mkfs.ext4's default)
#: ext4's own overhead besides the inode tables (bitmaps, group descriptors), as a fraction of the image:
#: generous (measured 2.2–3.7 % with the tables of an inode per 16 KB).
_OVERHEAD = 0.05
_MKFS = ("-q", "-F", "-O", "^has_journal", "-b", "4096", "-E", "lazy_itable_init=1,nodiscard")
_MOUNT_OPTIONS = "loop,nosuid,nodev,noatime,noinit_itable"
#: A cell's error that says the disk is full: ENOSPC (28) or EDQUOT (122), as Python words them.
_OUT_OF_SPACE = re.compile(r"\[Errno (?:28|122)\]|No space left on device|Disk quota exceeded")
_MNT_DETACH = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class DiskQuota:
    """A run folder that is a size-capped file system of its own (`mount`); `remove` undoes it."""

    folder: Path  # the run folder, where the image is mounted
    image: Path
    limit_mb: int  # what the kernel may write
    baseline: int  # bytes in use right after mounting (the file system's own)

    @classmethod
    def mount(cls, folder: Path, *, limit_mb: int, harness_mb: int, preload: int = 0, entries: int = 0,
              replies: str = "", replies_mb: int = 0, requests: str = "") -> DiskQuota:
        """Make `folder` (an empty run folder) a file system where the kernel can write `limit_mb`, beyond
        the `preload` bytes and `entries` files and folders the harness copies in, and root `harness_mb` more,
        and make a file or folder per `BYTES_PER_INODE` of `limit_mb` and what the copies leave of `entries`;
        its subfolder `replies` (where the kernel answers the graders) a tmpfs of `replies_mb` of its own, and
        `requests` (the graders' arguments) one of the harness's.  Refused (`DiskSpaceLow`) unless the host has
        the image's whole size and the margin free."""
        kernel_mb = limit_mb + -(-preload // 2**20)
        inodes = limit_mb * 2**20 // BYTES_PER_INODE + entries + _HARNESS_INODES
        # root's share can be at most half the file system (mke2fs, tune2fs): a small quota has a smaller one
        size_mb = int((kernel_mb + min(harness_mb, kernel_mb)) * (1 + _OVERHEAD) + inodes * _INODE_BYTES / 2**20) + 8
        if short := short_of(folder.parent, size_mb + HOST_MARGIN_MB):
            raise DiskSpaceLow("disk_space_low", path=str(folder.parent), free_mb=short[0], needed_mb=short[1],
                               margin_mb=HOST_MARGIN_MB)
        return cls._make(folder, size_mb=size_mb, inodes=inodes, limit_mb=limit_mb, preload=preload,
                         replies=replies, replies_mb=replies_mb, requests=requests)

    @classmethod
    def _make(cls, folder: Path, *, size_mb: int, inodes: int, limit_mb: int, preload: int = 0, replies: str = "",
              replies_mb: int = 0, requests: str = "") -> DiskQuota:
        image = folder.with_name(folder.name + IMAGE_SUFFIX)
        try:
            with open(image, "xb") as f:
                f.truncate(size_mb * 2**20)
            _run(["mkfs.ext4", *_MKFS, "-N", str(inodes), "-m", "0", str(image)])
            # the kernel's share: its quota, the harness's copies, 1 MB for the folders' own blocks
            _run(["tune2fs", "-r", str(_root_only(image, kernel=(limit_mb + 1) * 2**20 + preload)), str(image)])
            _run(["mount", "-o", _MOUNT_OPTIONS, str(image), str(folder)])
            # memory, emptied per reply or request, so that a notebook that used up the disk (its blocks, or its
            # inodes: ext4 keeps none for root) can still be graded: the replies are charged to the kernel's cgroup
            # as it writes them, the requests (written by the harness alone, read-only in the sandbox) to the worker
            for name, options in ((replies, f"size={replies_mb}m,mode=0700"), (requests, "mode=0755")):
                if name:
                    (folder / name).mkdir()
                    _run(["mount", "-t", "tmpfs", "-o", f"{options},nosuid,nodev,noexec", "tmpfs", str(folder / name)])
        except BaseException:
            with contextlib.suppress(OSError):
                _unmount(folder)
            image.unlink(missing_ok=True)
            raise
        st = os.statvfs(folder)
        return cls(folder=folder, image=image, limit_mb=limit_mb, baseline=(st.f_blocks - st.f_bfree) * st.f_frsize)

    def hold(self, nbytes: int) -> DiskQuota:
        """Take `nbytes` of what the kernel could write, with a file of root's outside its folders: a file
        system made with room for more of the harness's copies (`mount`'s `preload`) than came leaves the
        kernel its quota and no more.  The held bytes are not the run's use (`used_mb`)."""
        if nbytes <= 0:
            return self
        with open(self.folder / HELD, "xb") as f:
            os.posix_fallocate(f.fileno(), 0, nbytes)
        return replace(self, baseline=self.baseline + nbytes)

    def free_bytes(self) -> int:
        """What the kernel (not root) can still write."""
        st = os.statvfs(self.folder)
        return st.f_bavail * st.f_frsize

    def used_mb(self) -> float:
        """What the run folder holds now: the submission's files, what the notebook wrote, /tmp, the logs."""
        st = os.statvfs(self.folder)
        return round(max(0, (st.f_blocks - st.f_bfree) * st.f_frsize - self.baseline) / 2**20, 1)

    def full(self) -> bool:
        """Whether the kernel has (all but) nothing left: under 1 % of its quota, or 1 MB."""
        return self.free_bytes() < max(2**20, self.limit_mb * 2**20 // 100)

    def remove(self, *, keep_image: bool = False) -> None:
        """Unmount (lazily if something still holds it) and delete the image, unless `keep_image`
        (`execute.run(keep=True)`: ``mount -o loop`` it to look)."""
        try:
            _unmount(self.folder)
        finally:  # a mounted image may go too: its blocks are freed when its loop device lets go
            if not keep_image:
                self.image.unlink(missing_ok=True)


def harness_reserve_mb(output_mb: int, reply_mb: int) -> int:
    """Root's room on a run's file system: the executed notebook (outputs are cut at `output_mb`) and the
    graders' inputs (sized like the replies they get back), with room to spare."""
    return 2 * output_mb + 2 * reply_mb + 64


def out_of_space(*texts: str) -> bool:
    """Whether an error's name, value or traceback says the disk was full (ENOSPC or EDQUOT)."""
    return any(_OUT_OF_SPACE.search(t) for t in texts if t)


def works(prefix: str = "davar-run-") -> bool:
    """Whether this host can give a run a quota: a real mount of a small image (root, loop devices,
    mkfs.ext4), in the temporary folder runs use, named as a run (`prefix`: what a dead driver's
    clean-up looks for)."""
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("mkfs.ext4", "tune2fs", "mount")):
        return False
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        DiskQuota._make(folder, size_mb=8, inodes=_HARNESS_INODES, limit_mb=1).remove()
        return True
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        with contextlib.suppress(OSError):
            _unmount(folder)
            folder.rmdir()


def entries_of(paths: Iterable[Path]) -> int:
    """Files and folders that the relative `paths` make in a folder (what the harness copies into a run)."""
    made: set[Path] = set()
    for p in paths:
        made.update((p, *p.parents[:-1]))  # a relative path's last parent is "."
    return len(made)


def size_of(paths: Iterable[Path]) -> int:
    """Bytes in the regular files `paths` (what the harness copies into a run)."""
    total = 0
    for p in paths:
        with contextlib.suppress(OSError):
            total += os.stat(p, follow_symlinks=False).st_size
    return total


# ---------------------------------------------------------------------- after a driver died


def unmount_stale(path: Path) -> bool:
    """Remove what a run's quota left when its driver died: `path` is a ``davar-run-*`` folder or its
    ``.disk`` image.  Unmounts the folder (lazily: the file system goes with its last user) and
    deletes the image; idempotent.  True when there was a mount or an image."""
    path = Path(path)
    folder = path.with_name(path.name.removesuffix(IMAGE_SUFFIX))
    image = folder.with_name(folder.name + IMAGE_SUFFIX)
    found = _unmount(folder)
    if image.is_file():
        image.unlink(missing_ok=True)
        found = True
    return found


def mounted_runs(parent: Path | None = None) -> list[Path]:
    """The run folders under `parent` (the temporary folder) that are mounted now, live or stale."""
    parent = Path(parent or tempfile.gettempdir()).resolve()
    return [p for p in _mount_points() if p.parent == parent and p.name.startswith("davar-run-")]


# ---------------------------------------------------------------------- the host's free space


def free_mb(path: Path) -> float:
    """Free space (for an unprivileged user) on the file system holding `path`, or its nearest existing
    parent, in MB."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free / 2**20


def short_of(path: Path, needed_mb: float) -> tuple[int, int] | None:
    """(free, needed) in MB when the file system holding `path` has less than `needed_mb` free; None when
    it has enough."""
    free = free_mb(path)
    return (int(free), int(-(-needed_mb // 1))) if free < needed_mb else None


def check_batch(*, disk_mb: int, runs: int, out: Path, run_folder: Path | None = None) -> None:
    """Before a batch: `runs` parallel runs of `disk_mb` each, plus the margin, must fit where the runs
    go (the temporary folder); the margin where the reports and the gradebook go (`out`), all of it
    where both are on one file system.  `runs` 0: the runs are elsewhere (a cluster).  Too little is a
    `DiskSpaceLow` naming the path, the free and the needed space."""
    run_folder = Path(run_folder or tempfile.gettempdir())
    if runs and (short := short_of(run_folder, disk_mb * runs + HOST_MARGIN_MB)):
        raise DiskSpaceLow("disk_space_low_batch", path=str(run_folder), free_mb=short[0], needed_mb=short[1],
                           runs=runs, disk_mb=disk_mb, margin_mb=HOST_MARGIN_MB)
    if (not runs or _device(out) != _device(run_folder)) and (short := short_of(out, HOST_MARGIN_MB)):
        raise DiskSpaceLow("disk_space_low_reports", path=str(out), free_mb=short[0], needed_mb=short[1])


def _device(path: Path) -> int:
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path.stat().st_dev


# ---------------------------------------------------------------------- mount plumbing


def _root_only(image: Path, *, kernel: int) -> int:
    """How many blocks of a new image to reserve for root so that everyone else can write `kernel` bytes:
    the free blocks (its superblock, at byte 1024) less those, less what ext4 itself holds back for
    delayed allocation (2 % of the blocks, at most 4096: `ext4_calculate_resv_clusters`)."""
    with open(image, "rb") as f:
        f.seek(1024)
        sb = f.read(1024)
    blocks, free = struct.unpack_from("<I", sb, 0x04)[0], struct.unpack_from("<I", sb, 0x0C)[0]
    block_size = 1024 << struct.unpack_from("<I", sb, 0x18)[0]
    return min(blocks // 2, max(0, free - -(-kernel // block_size) - min(blocks // 50, 4096)))  # tune2fs: ≤ half


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise OSError(f"{' '.join(argv[:1])} failed ({done.returncode}): {(done.stderr or done.stdout).strip()[:500]}")


def _unmount(folder: Path) -> bool:
    """Unmount `folder` and every mount below it, deepest first: each at once, or lazily when busy (it
    goes with its last user).  True when there was one."""
    folder = Path(os.path.realpath(folder))
    points = [p for p in _mount_points() if p == folder or folder in p.parents]
    libc = ctypes.CDLL(None, use_errno=True)
    for point in sorted(set(points), key=lambda p: len(p.parts), reverse=True):
        target = os.fsencode(point)
        if libc.umount2(target, 0) != 0 and (ctypes.get_errno() != errno.EBUSY or
                                             libc.umount2(target, _MNT_DETACH) != 0):
            raise OSError(ctypes.get_errno(), f"cannot unmount {point}")
    return bool(points)


def _mount_points() -> list[Path]:
    with open("/proc/self/mountinfo") as f:
        return [Path(_unescape(line.split()[4])) for line in f]


def _unescape(field: str) -> str:
    """A mountinfo path: space, tab, newline and backslash are octal escapes there."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)
