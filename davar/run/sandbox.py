"""The sandbox a student's kernel runs in (ARCHITECTURE.md §2).

``strict`` (what batch grading requires): bubblewrap with private network, pid, ipc and uts
namespaces and only the binds the kernel needs (no ``--ro-bind / /``); the kernel runs as an
unprivileged uid with every capability dropped (``setpriv``); memory and pids are capped by a cgroup
(v1 ``memory.limit_in_bytes``/``pids.max`` or v2 ``memory.max``/``pids.max``), which also counts the
CPU seconds of all the run's processes (the runner stops the run past `cpu_s`); CPU seconds of each process, the
processes of the slot's uid (backstops above `cpu_s` and `pids` where the cgroup counts them: `cpu_backstop`,
`nproc_backstop`) and file size by rlimits (``prlimit``);
the run folder (working folder, exchange, sockets) and ``/tmp`` are one size-capped file system, `disk_mb`
for the kernel (a loop-mounted image per run: davar/run/quota.py).

``basic``: bubblewrap in an unprivileged user namespace (same binds, no uid drop, no cgroup, no disk
quota; ``/tmp`` a tmpfs of `tmp_mb`): what a student's laptop or a CI container without root usually
offers.  ``none``: a plain local kernel.  What a level does not enforce is in every result
(`Sandbox.not_enforced`).
Each level is a `Sandbox` strategy (`Strict`, `Basic`, `Unsandboxed`); `strategy(level)` gives it.

The kernel talks to the harness only over unix sockets in the run's ``ipc`` folder (bound at the
same path inside, so the connection file is valid on both sides) and two exchange folders: ``in``
(read-only inside) and ``out``.  The ``ipc`` folder is the kernel's while it starts (it makes its sockets
there) and the harness's once it is ready (`Sandbox.seal_paths`): a notebook that empties its ``/tmp``, where
the folder is mounted, cannot take the graders' way in with it.
"""

from __future__ import annotations

import abc
import contextlib
import fcntl
import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from davar import files
from davar.assignment import Limits
from davar.errors import SandboxUnavailable
from davar.results import LEVELS, Level
from davar.run import quota

# Fixed paths inside the sandbox.
WORK = "/submission"
DATA = "/data"
EXCHANGE_IN = "/exchange/in"
EXCHANGE_OUT = "/exchange/out"
INSIDE = "/opt/davar"  # davar/inside, read-only: the kernel's entry point and the Colab shim
KERNEL_SIDE = f"{INSIDE}/kernel_side.py"
COLAB_WORK = ("/content", "/kaggle/working")  # more names for WORK
ONLINE_CPUS = "/sys/devices/system/cpu/online"  # what os.cpu_count() reads (`Paths.cores`)
#: The run folder's subfolders the graders ask in (EXCHANGE_IN) and the kernel answers in (EXCHANGE_OUT); under a
#: disk quota each has room of its own, so that a notebook that filled its quota can still be graded.
REQUESTS, REPLIES = "in", "out"

#: The uids the slots' kernels run as (`claim_uid`): BASE_UID + N for slot N where no other process holds it.
BASE_UID = 61000
#: How many uids, from BASE_UID on, the slots of all davar processes on a machine may claim.
UIDS = 1024
#: Where a process keeps the uids it claimed: a locked file each (root's: only `strict` drops to a uid).
UID_LOCKS = Path("/run/davar/uids")

#: The system's folders beside /usr that a walled kernel has (each a link into /usr, or bound as it is).
SYSTEM_FOLDERS = ("/bin", "/lib", "/lib64", "/sbin")
#: Host files the kernel may read, when they exist.
ETC_FILES = ("/etc/ld.so.cache", "/etc/ssl", "/etc/ca-certificates", "/etc/fonts", "/etc/localtime",
             "/etc/nsswitch.conf", "/etc/mime.types")

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: The cgroup v1 hierarchies a run joins (`Cgroup`; cpuacct and cpu where the host has them), and where runs'
#: cgroups are made; cpuacct third, where `Cgroup.cpu_seconds` reads it first.
V1_CONTROLLERS = ("memory", "pids", "cpuacct", "cpu")
CGROUP_PARENTS = (CGROUP_ROOT / "davar", *(CGROUP_ROOT / c / "davar" for c in V1_CONTROLLERS))


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a run goes: slot N runs as a uid of its own (`claim_uid`); `gpu` is the one CUDA device it sees;
    `threads` caps the math libraries' threads (slots sharing a machine must not fight over cores)."""

    index: int = 0
    gpu: str | None = None
    threads: int | None = None

    @property
    def uid(self) -> int:
        return claim_uid(self.index)


_claimed: dict[int, int] = {}  # this process's slots: index -> uid (its lock file stays open)
_claiming = threading.Lock()  # a pool starts its kernels from threads
os.register_at_fork(after_in_child=_claimed.clear)  # a forked child claims its own


def claim_uid(index: int, locks: Path | None = None) -> int:
    """The uid slot `index` of this process runs its kernels as: BASE_UID + index where no other live process
    holds it, else the lowest free one.  It stays this process's until the process ends, however it ends (an
    ``flock`` on its file, which the kernel drops with the process): two davar processes on one machine (two
    batches, a batch and a regrade) never share a uid, so the per-uid process limit (RLIMIT_NPROC) of one
    student's kernel counts no one else's processes."""
    with _claiming:
        if index in _claimed:
            return _claimed[index]
        locks = locks or UID_LOCKS
        locks.mkdir(mode=0o700, parents=True, exist_ok=True)
        for uid in dict.fromkeys([BASE_UID + index, *range(BASE_UID, BASE_UID + UIDS)]):
            fd = os.open(locks / str(uid), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            _claimed[index] = uid
            return uid
    raise SandboxUnavailable("sandbox_uids_taken", count=UIDS, path=str(locks))


def gpu_device_nodes(gpu: str, dev: Path = Path("/dev")) -> list[str]:
    """The NVIDIA device nodes a kernel using CUDA device `gpu` needs, those that exist."""
    names = [f"nvidia{gpu}", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset"]
    return [str(dev / n) for n in names if (dev / n).exists()]


def gpu_slots(gpus: list[str], per_gpu: int = 1) -> list[Slot]:
    """`per_gpu` slots on each device, in device order: --gpus 0,1 --per-gpu 2 gives 0, 0, 1, 1; they share the
    machine's cores as `cpu_slots` shares them."""
    devices = [g for g in gpus for _ in range(per_gpu)]
    return [Slot(slot.index, gpu, slot.threads) for slot, gpu in zip(cpu_slots(len(devices)), devices, strict=True)]


def cpu_slots(count: int) -> list[Slot]:
    """`count` slots sharing this machine's cores between them (one slot: no cap)."""
    cores = len(os.sched_getaffinity(0))
    return [Slot(i, threads=max(1, cores // count) if count > 1 else None) for i in range(count)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Paths:
    """Host folders of one run."""

    work: Path
    ipc: Path
    exchange_in: Path
    exchange_out: Path
    data: Path | None = None
    maps: tuple[tuple[Path, str], ...] = ()  # (host file or folder, where the notebook expects it), read-only
    # The kernel's /tmp where the run has a disk quota (`strict`: a folder on the run's file system);
    # None, or a level without a quota: a private tmpfs of `tmp_mb`.
    tmp: Path | None = None
    # Walled off: a file naming the slot's share of the cores ("0-1"), bound as /sys/devices/system/cpu/online, where
    # os.cpu_count() reads how many the machine has (glibc): `DataLoader(num_workers=os.cpu_count())` starts that
    # many workers, not one a core of the host.  None: the host's count.
    cores: Path | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    bwrap: str | None
    root: bool
    setpriv: str | None
    prlimit: str | None
    cgroup: str | None  # "v1", "v2" or None
    userns: bool
    disk_quota: bool = False  # a run folder can be a loop-mounted image (`quota.works`)
    # Not root, bubblewrap installed, and its user namespace refused: the setting that refuses it (`userns_setting`)
    userns_off: str | None = None

    @property
    def missing(self) -> tuple[str, ...]:
        """What `strict` needs that this host lacks, by the names the README's sandbox levels use."""
        needs = {"root": self.root, "bwrap": self.bwrap, "setpriv": self.setpriv, "prlimit": self.prlimit,
                 "cgroup": self.cgroup, "mkfs.ext4+loop": self.disk_quota}
        return tuple(name for name, have in needs.items() if not have)

    @property
    def best(self) -> Level:
        if not self.missing:
            return "strict"
        if self.bwrap and (self.root or self.userns):
            return "basic"
        return "none"


@functools.cache
def detect() -> Capabilities:
    """What this host offers, probed once per process (a real bwrap start, not just `which`)."""
    bwrap = shutil.which("bwrap")
    root = os.geteuid() == 0
    userns, userns_off = False, None
    if bwrap:
        probe = [bwrap, "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink",
                 "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--unshare-net", "true"]
        try:
            if root:
                bwrap = bwrap if _runs(probe) else None
            else:
                userns = _runs([probe[0], "--unshare-user", *probe[1:]])
                bwrap, userns_off = (bwrap, None) if userns else (None, userns_setting())
        except OSError:
            bwrap = None
    return Capabilities(bwrap=bwrap, root=root, setpriv=shutil.which("setpriv"),
                        prlimit=shutil.which("prlimit"), cgroup=_cgroup_version() if root else None,
                        userns=userns, disk_quota=bool(root and bwrap) and quota.works(run_prefix()),
                        userns_off=userns_off)


#: Host settings that keep unprivileged processes from making user namespaces, and the value that does:
#: Ubuntu's AppArmor restriction (the default since 23.10), Debian's older switch, a limit of none.
USERNS_SETTINGS = (("kernel/apparmor_restrict_unprivileged_userns", "1"), ("kernel/unprivileged_userns_clone", "0"),
                   ("user/max_user_namespaces", "0"))


def userns_setting(sysctl: Path = Path("/proc/sys")) -> str | None:
    """The first of `USERNS_SETTINGS` this host has at its refusing value, as `name=value` (sysctl's spelling);
    None where none is."""
    for name, refusing in USERNS_SETTINGS:
        with contextlib.suppress(OSError):
            if (sysctl / name).read_text().strip() == refusing:
                return f"{name.replace('/', '.')}={refusing}"
    return None


def _runs(argv: list[str]) -> bool:
    return subprocess.run(argv, capture_output=True, timeout=10).returncode == 0


def _cgroup_version() -> str | None:
    """Which cgroups the runs' own can be made in: v2 where the unified hierarchy offers memory and pids, v1 where
    those two hierarchies are writable; None where neither, or where the `davar` parents cannot be made ready
    (`_run_parents`, made here once rather than failing every run's start).  In a container on v2 whose processes
    live in its cgroup namespace's root, that root cannot pass controllers down (EBUSY: the "no internal
    processes" rule), so a container there offers no cgroup to davar (README: sandbox levels)."""
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        controllers = set((CGROUP_ROOT / "cgroup.controllers").read_text().split())
        version = "v2" if {"memory", "pids"} <= controllers and os.access(CGROUP_ROOT, os.W_OK) else None
    else:
        version = "v1" if all(os.access(CGROUP_ROOT / c, os.W_OK) for c in ("memory", "pids")) else None
    if version:
        try:
            _run_parents(version)
        except OSError:
            return None
    return version


def choose_level(requested: str, *, allow_weak: bool = False) -> Level:
    """`auto` gives the best available level; a named level must be available unless `allow_weak`."""
    host = detect()
    best = host.best
    if requested == "auto":
        return best
    level = next((known for known in LEVELS if known == requested), None)
    if level is None:
        raise SandboxUnavailable("sandbox_unknown_level", level=requested, levels=", ".join(LEVELS))
    if LEVELS.index(level) > LEVELS.index(best):
        if allow_weak:
            return best
        raise SandboxUnavailable("sandbox_not_available", level=requested, best=best,
                                 missing=", ".join(host.missing))
    return level


class Cgroup:
    """A per-run cgroup holding the kernel and everything it starts: its memory and processes capped, and one
    share of the CPU however many threads, processes or sessions it makes (where the host has the `cpu`
    controller): one student's busy processes take no more than their run's share from the runs beside it.
    The runs together weigh as much as a session per core against the rest of the host.  Its CPU time is
    counted (`cpu_seconds`, v1 where the host has `cpuacct`), so a run's budget is all its processes'."""

    def __init__(self, name: str, limits: Limits):
        self.version = detect().cgroup
        self.dirs = [parent / name for parent in _run_parents(self.version)] if self.version else []
        for d in self.dirs:  # memory first: `_read`
            d.mkdir()
        mem = str(limits.memory_mb * 1024 * 1024)
        if self.version == "v2":
            (self.dirs[0] / "memory.max").write_text(mem)
            if (self.dirs[0] / "memory.swap.max").exists():
                (self.dirs[0] / "memory.swap.max").write_text("0")
            (self.dirs[0] / "pids.max").write_text(str(limits.pids))
        elif self.version == "v1":
            (self.dirs[0] / "memory.limit_in_bytes").write_text(mem)
            (self.dirs[1] / "pids.max").write_text(str(limits.pids))

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def _read(self, v1: str, v2: str) -> str | None:
        f = self.dirs[0] / (v2 if self.version == "v2" else v1) if self.dirs else None
        try:
            return f.read_text() if f else None
        except OSError:
            return None

    def peak_memory_mb(self) -> float | None:
        raw = self._read("memory.max_usage_in_bytes", "memory.peak")
        return round(int(raw) / 2**20, 1) if raw and raw.strip().isdigit() else None

    def oom_killed(self) -> bool:
        raw = self._read("memory.oom_control", "memory.events") or ""
        counts = dict(line.split()[:2] for line in raw.splitlines() if len(line.split()) >= 2)
        return int(counts.get("oom_kill", "0")) > 0 or int(counts.get("oom", "0")) > 0

    def cpu_seconds(self) -> float | None:
        """The CPU time the run's processes have used, those already gone included; None where it is not counted."""
        if self.version == "v2":
            stat = dict(line.split()[:2] for line in (self._read("", "cpu.stat") or "").splitlines() if " " in line)
            return int(stat["usage_usec"]) / 1e6 if stat.get("usage_usec", "").isdigit() else None
        for d in self.dirs[2:]:  # cpuacct first: a hierarchy of its own or mounted with cpu
            with contextlib.suppress(OSError, ValueError):
                return int((d / "cpuacct.usage").read_text()) / 1e9
        return None

    def kill_all(self) -> None:
        for _ in range(5):
            pids = {int(p) for d in self.dirs for p in (d / "cgroup.procs").read_text().split()}
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.02)


@functools.cache
def _run_parents(version: str) -> tuple[Path, ...]:
    """The folders runs' cgroups are made in, made ready once a process: v2, `davar` passing memory, pids and
    (where the host has it) cpu down to its runs; v1, `davar` in the memory, pids and (where writable) cpu and
    cpuacct hierarchies, one folder where the two are mounted as one.  The runs together weigh a session per
    core in cpu."""
    cores = os.cpu_count() or 1
    if version == "v2":
        parent = CGROUP_ROOT / "davar"
        parent.mkdir(exist_ok=True)
        for d in (CGROUP_ROOT, parent):
            (d / "cgroup.subtree_control").write_text("+memory +pids")
            with contextlib.suppress(OSError):  # no cpu controller here (or a real-time process holds it)
                (d / "cgroup.subtree_control").write_text("+cpu")
        with contextlib.suppress(OSError):
            (parent / "cpu.weight").write_text(str(min(10000, 100 * cores)))
        return (parent,)
    hierarchies: dict[Path, Path] = {}  # cpu and cpuacct are often one hierarchy, with a name for each
    for c in V1_CONTROLLERS:
        if c in ("memory", "pids") or os.access(CGROUP_ROOT / c, os.W_OK):
            hierarchies.setdefault((CGROUP_ROOT / c).resolve(), CGROUP_ROOT / c / "davar")
    for parent in hierarchies.values():
        parent.mkdir(exist_ok=True)
    if os.access(CGROUP_ROOT / "cpu", os.W_OK):
        (CGROUP_ROOT / "cpu" / "davar" / "cpu.shares").write_text(str(min(262144, 1024 * cores)))
    return tuple(hierarchies.values())


def _python_roots() -> list[str]:
    """Folders the interpreter and its packages live in (the venv and the base installation)."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        roots.add(sysconfig.get_paths()[key])
    # keep only outermost folders, and nothing that would expose the whole /usr twice
    real = sorted(os.path.realpath(r) for r in roots if r)
    keep: list[str] = []
    for r in real:
        if not any(r == k or r.startswith(k + "/") for k in keep):
            keep.append(r)
    return keep


def host_view(paths: Paths, inside: Path) -> list[str]:
    """The host paths whose files a walled kernel sees (`_bwrap`), as the host names them: without walls, what a
    notebook reads elsewhere the grading's sandbox does not have (davar/inside/audit.py refuses it where the cells
    name it).  /tmp is there: the sandbox has its own, and which of the host's files the notebook wrote itself is
    not known."""
    system = ["/usr", *SYSTEM_FOLDERS, "/proc", "/dev", "/sys", "/tmp", *_python_roots(), *ETC_FILES]
    run = [paths.work.parent, paths.data, inside, *(src for src, _ in paths.maps)]  # the run's folder holds the rest
    return [*system, *(str(p) for p in run if p is not None)]


def _bwrap(*, paths: Paths, limits: Limits, slot: Slot, env: dict[str, str], inside: Path,
           user_namespace: bool, tmp: Path | None = None) -> list[str]:
    """bubblewrap's argv up to its ``--``: new namespaces (and a user namespace where we are not
    root), only the binds the kernel needs, `env` as its whole environment; `tmp` bound as /tmp, else
    a tmpfs of `tmp_mb`."""
    args = [detect().bwrap or "bwrap"]
    if user_namespace:
        args += ["--unshare-user"]
    args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--hostname", "sandbox", "--die-with-parent", "--new-session", "--clearenv"]

    targets: list[tuple[str, str, str]] = [("--ro-bind", "/usr", "/usr")]
    for folder in SYSTEM_FOLDERS:
        if os.path.islink(folder):
            args += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            targets.append(("--ro-bind", folder, folder))
    for root in _python_roots():
        if not root.startswith("/usr/"):
            targets.append(("--ro-bind", root, root))
    for f in ETC_FILES:
        if os.path.exists(f):
            targets.append(("--ro-bind", f, f))
    targets += [
        ("--bind", str(paths.work), WORK),
        ("--bind", str(paths.ipc), str(paths.ipc)),
        ("--ro-bind", str(paths.exchange_in), EXCHANGE_IN),
        ("--bind", str(paths.exchange_out), EXCHANGE_OUT),
        ("--ro-bind", str(inside), INSIDE),
    ]
    if paths.data is not None:
        targets.append(("--ro-bind", str(paths.data), DATA))
    if paths.cores is not None:
        targets.append(("--ro-bind", str(paths.cores), ONLINE_CPUS))
    # Colab and Kaggle notebooks work in /content and /kaggle/working: both are the working folder
    targets += [("--bind", str(paths.work), d) for d in COLAB_WORK]
    targets += [("--ro-bind", str(src), dest) for src, dest in paths.maps]

    # bwrap creates missing mount points 0700; make every ancestor traversable for the dropped uid
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--bind", str(tmp), "/tmp"] if tmp else ["--perms", "1777", "--size", str(limits.tmp_mb * 2**20),
                                                     "--tmpfs", "/tmp"]
    # POSIX semaphores and shared memory (multiprocessing's locks, a thread pool, DataLoader workers): a private
    # tmpfs, its pages charged to the kernel's cgroup like any memory
    args += ["--perms", "1777", "--size", str(limits.tmp_mb * 2**20), "--tmpfs", "/dev/shm"]
    for node in gpu_device_nodes(slot.gpu) if slot.gpu is not None else ():
        args += ["--dev-bind", node, node]
    made: set[str] = {"/", "/tmp"}
    for _, _, dest in targets:
        for parent in reversed(Path(dest).parents):
            p = str(parent)
            if p not in made and not p.startswith("/usr"):
                made.add(p)
                args += ["--perms", "0755", "--dir", p]
    for flag, src, dest in targets:
        args += [flag, src, dest]
    args += ["--chdir", WORK]
    for k, v in env.items():
        args += ["--setenv", k, v]
    return [*args, "--"]


class Sandbox(abc.ABC):
    """What a sandbox level means for one run.  The levels differ in a few facts (is the kernel walled
    off, does it have its own uid and a cgroup, how it is started); each is said once per level, here,
    so that the run never asks which level it is in."""

    #: The kernel sees its own file system (bubblewrap): the run's folders at the fixed paths above
    #: (WORK, DATA, ...), its environment from its argv.  What its audit hook reports was blocked.
    walled: bool
    #: What the result says: whether the kernel could reach a network at all.
    network: bool
    #: The `Limits` this level does not enforce, recorded in every result and shown in the report.
    not_enforced: tuple[str, ...] = ()

    def seen(self, host: Path, inside: str) -> str:
        """Where the kernel finds `host`: at `inside` when walled off, else where it is."""
        return inside if self.walled else str(host)

    def uid(self, slot: Slot) -> int | None:
        """The uid the kernel runs as, owner of its files; None: ours."""
        return None

    def cgroup(self, name: str, limits: Limits) -> Cgroup | None:
        """A new cgroup capping the kernel's memory and processes, where this level has one."""
        return None

    def disk_quota(self, rundir: Path, limits: Limits, *, preload: int = 0, entries: int = 0) -> quota.DiskQuota | None:
        """Make the empty run folder `rundir` a file system where the kernel can write `limits.disk_mb`
        beyond the `preload` bytes and `entries` files and folders the harness copies in, where this level can;
        None: no quota.  The caller removes it (`DiskQuota.remove`) after the kernel is gone."""
        return None

    def prepare_paths(self, paths: Paths, slot: Slot) -> None:
        """Make the run's folders; a kernel with its own uid gets the writable ones."""
        for d in (paths.work, paths.ipc, paths.exchange_in, paths.exchange_out):
            d.mkdir(parents=True, exist_ok=True)

    def hand_over(self, work: Path, slot: Slot) -> None:
        """Give the working folder's contents (the submission's files, copied in after the kernel started) to
        the kernel's uid, where it has one of its own."""
        return None

    def seal_paths(self, paths: Paths) -> None:
        """Once the kernel is ready (it made its sockets in `paths.ipc`), before the student's first cell: a
        kernel with its own uid may no longer remove them, which would leave the graders no way in.  Nothing
        to do where the kernel runs as the harness's uid."""
        return None

    @abc.abstractmethod
    def kernel_command(self, *, paths: Paths, limits: Limits, slot: Slot, cgroup: Cgroup | None,
                       env: dict[str, str], inside: Path) -> list[str]:
        """The argv that starts `python kernel_side.py -f {connection_file}` (from the folder `inside`,
        davar/inside) with the environment `env`."""


class Unsandboxed(Sandbox):
    """``none``: a plain local kernel, as on a laptop without bubblewrap."""

    walled = False
    network = True
    not_enforced = ("memory_mb", "pids", "cpu_s", "file_size_mb", "disk_mb", "tmp_mb")

    def kernel_command(self, *, paths: Paths, limits: Limits, slot: Slot, cgroup: Cgroup | None,
                       env: dict[str, str], inside: Path) -> list[str]:
        return [sys.executable, str(inside / "kernel_side.py"), "-f", "{connection_file}"]


class Basic(Sandbox):
    """``basic``: bubblewrap, in a user namespace of its own unless we are root; no uid drop, no cgroup,
    no rlimits, no disk quota (a loop mount needs root); /tmp is a tmpfs of `tmp_mb`."""

    walled = True
    network = False
    not_enforced = ("memory_mb", "pids", "cpu_s", "file_size_mb", "disk_mb")

    def kernel_command(self, *, paths: Paths, limits: Limits, slot: Slot, cgroup: Cgroup | None,
                       env: dict[str, str], inside: Path) -> list[str]:
        bwrap = _bwrap(paths=paths, limits=limits, slot=slot, env=env, inside=inside, user_namespace=not detect().root)
        return [*bwrap, sys.executable, KERNEL_SIDE, "-f", "{connection_file}"]


class Strict(Sandbox):
    """``strict``: bubblewrap, then the slot's uid with every capability dropped (setpriv), under
    rlimits (prlimit), in the run's cgroup and on the run's disk quota, /tmp included; all of which
    needs root (`Capabilities.best`)."""

    walled = True
    network = False
    not_enforced = ("tmp_mb",)  # /tmp is a folder of the run's file system: within `disk_mb`

    def uid(self, slot: Slot) -> int | None:
        return slot.uid

    def cgroup(self, name: str, limits: Limits) -> Cgroup | None:
        return Cgroup(name, limits)

    def disk_quota(self, rundir: Path, limits: Limits, *, preload: int = 0, entries: int = 0) -> quota.DiskQuota | None:
        return quota.DiskQuota.mount(rundir, limit_mb=limits.disk_mb, preload=preload, entries=entries,
                                     harness_mb=quota.harness_reserve_mb(limits.output_mb, limits.reply_mb),
                                     replies=REPLIES, replies_mb=2 * limits.reply_mb + 16, requests=REQUESTS)

    def prepare_paths(self, paths: Paths, slot: Slot) -> None:
        super().prepare_paths(paths, slot)
        if paths.tmp is not None:  # shared by the kernel's processes, as a /tmp is
            paths.tmp.mkdir(exist_ok=True)
            paths.tmp.chmod(0o1777)
        for d in (paths.ipc, paths.exchange_out):
            os.chown(d, slot.uid, slot.uid)
        self.hand_over(paths.work, slot)
        # the folders above the run dir must be traversable by the dropped uid
        paths.ipc.parent.chmod(0o755)

    def hand_over(self, work: Path, slot: Slot) -> None:
        uid = slot.uid
        for dirpath, dirnames, filenames in os.walk(work):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.chown(name, uid, uid, follow_symlinks=False)

    def seal_paths(self, paths: Paths) -> None:
        os.chown(paths.ipc, os.geteuid(), os.getegid())  # its sockets stay its own, the folder is ours again
        paths.ipc.chmod(0o755)

    def kernel_command(self, *, paths: Paths, limits: Limits, slot: Slot, cgroup: Cgroup | None,
                       env: dict[str, str], inside: Path) -> list[str]:
        caps, uid = detect(), str(slot.uid)
        setpriv = [caps.setpriv or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                   "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
        # rlimits first (inherited through bwrap), then join the cgroup and exec
        counted = cgroup is not None and cgroup.cpu_seconds() is not None
        prlimit = [caps.prlimit or "prlimit", f"--cpu={cpu_backstop(limits.cpu_s) if counted else limits.cpu_s}",
                   f"--fsize={limits.file_size_mb * 2**20}",
                   f"--nproc={nproc_backstop(limits.pids) if cgroup else limits.pids}", "--core=0", "--"]
        # Into the run's cgroup, else not at all: a start still under way when its cgroup went (a killed batch's,
        # removed by the next one's `remove_stale`) would run its kernel outside the limits, where nothing finds it.
        join = "".join(f"echo $$ > {shlex.quote(f)} && " for f in (cgroup.procs_files if cgroup else []))
        return ["/bin/sh", "-c", f'{join}exec "$@"', "sh", *prlimit,
                *_bwrap(paths=paths, limits=limits, slot=slot, env=env, inside=inside, user_namespace=False,  # root
                        tmp=paths.tmp),
                *setpriv, sys.executable, KERNEL_SIDE, "-f", "{connection_file}"]


def cpu_backstop(cpu_s: int) -> int:
    """Each process's RLIMIT_CPU where the cgroup counts the run's CPU seconds: the budget is that count (`cpu_s`,
    all the run's processes, the runner stops the run past it), and the rlimit a backstop above it.  The kernel
    counts an rlimit in scheduler ticks, which ran ahead of the real CPU time on a busy machine (measured: a
    process held at 3 s was killed after 3.04-3.07 s idle, after 2.40-2.69 s beside four busy processes), so an
    rlimit at the budget itself stopped a student's kernel early for the load of others."""
    return cpu_s + max(10, cpu_s // 2)


def nproc_backstop(pids: int) -> int:
    """RLIMIT_NPROC where the run's cgroup counts its processes and threads: the limit is that count (`pids`), and
    the rlimit a backstop above it.  The rlimit counts every process and thread of the slot's uid, which the run's
    kernel shares with those its slot's pool started ahead (`davar.run.pool`, two) and one still being closed: at
    the limit itself, two warm kernels with torch imported took 24 of the threads a student's cell could start
    (217, against 241 with none waiting), so the pool on or off gave a notebook different limits."""
    return pids * 4


_STRATEGIES: dict[Level, Sandbox] = {"none": Unsandboxed(), "basic": Basic(), "strict": Strict()}


def strategy(level: Level) -> Sandbox:
    """What `level` means: the one place a level's name is looked at."""
    return _STRATEGIES[level]


# ---------------------------------------------------------------------- what a dead process left behind

#: A run's folder (in the temporary folder), its cgroup and its disk image are named
#: ``davar-run-<pid>-<start>-<random>``: the process that made them and its start time (`run_prefix`).
RUN_PREFIX = "davar-run-"


@dataclass(frozen=True, slots=True)
class Leftovers:
    """What `remove_stale` removed: cgroups, run folders (with their disk images), and the processes that
    were still running in those cgroups."""

    cgroups: int = 0
    folders: int = 0
    processes: int = 0

    def __bool__(self) -> bool:
        return bool(self.cgroups or self.folders or self.processes)


def run_prefix() -> str:
    """The name of a run folder (and of its cgroup and disk image) made by this process, up to its random
    part: ``davar-run-<pid>-<start>-``, this process's id and start time (clock ticks after boot, from
    /proc; 0 where there is none), so that `remove_stale` tells a live run from one whose process is gone,
    even once its pid is reused."""
    return f"{RUN_PREFIX}{os.getpid()}-{_start_time(os.getpid()) or 0}-"


def remove_stale(tmp: Path | None = None) -> Leftovers:
    """Remove what runs whose process is gone left behind (a driver or worker killed with ``kill -9``, a
    machine that lost power): their cgroups, after killing whatever still runs in them; their run folders
    in `tmp` (the temporary folder), after unmounting a disk quota mounted there (`quota.unmount_stale`),
    and those disk images.  Only names `run_prefix` made are looked at, and only those whose process is
    gone: a live batch's runs, another batch's or a student's check, are left alone, as are folders not
    ours (owned by another user, or not a folder).  Idempotent; what cannot be removed (not root) stays."""
    cgroups = processes = 0
    named: dict[str, list[Path]] = {}
    for parent in CGROUP_PARENTS:
        with contextlib.suppress(OSError):
            for d in parent.glob(RUN_PREFIX + "*"):
                named.setdefault(d.name, []).append(d)
    for name, dirs in named.items():
        if _owner_alive(name):
            continue
        processes += _empty_cgroup(dirs)
        removed = True
        for d in dirs:
            with contextlib.suppress(OSError):
                d.rmdir()
            removed &= not d.exists()
        cgroups += removed
    folders = 0
    root = Path(tmp or tempfile.gettempdir())
    for path in sorted(root.glob(RUN_PREFIX + "*")) if root.is_dir() else ():
        try:
            ours = not path.is_symlink() and path.lstat().st_uid == os.geteuid()
        except OSError:  # gone meanwhile: an image removed with its folder
            continue
        if not ours or _owner_alive(path.name):
            continue
        with contextlib.suppress(OSError):
            quota.unmount_stale(path)  # a mounted folder, or its image (`<folder>.disk`): both go
        if path.is_dir() and not os.path.ismount(path):
            files.remove_tree(path)
            folders += not path.exists()
    return Leftovers(cgroups=cgroups, folders=folders, processes=processes)


def _start_time(pid: int) -> int | None:
    """When process `pid` started (field 22 of /proc/<pid>/stat); None when there is no such process or it
    is a zombie (dead, waiting for its parent to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the name, in parentheses, may hold spaces
    return None if fields[0] in ("Z", "X") else int(fields[19])


def _owner_alive(name: str) -> bool:
    """Whether the process that made run `name` (``davar-run-<pid>-<start>-…``) is still running; True for
    names without an owner (made before owners were recorded: they may be in use)."""
    parts = name.removeprefix(RUN_PREFIX).split("-", 2)
    if len(parts) < 3 or not (parts[0].isdigit() and parts[1].isdigit()):
        return True
    pid, start = parts[0], parts[1]
    if not Path("/proc/self/stat").exists():  # no /proc: whether the pid is taken, reused or not
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True
    now = _start_time(int(pid))
    return now is not None and (start == "0" or now == int(start))


def _empty_cgroup(dirs: list[Path]) -> int:
    """Kill every process in the cgroup `dirs` (v1: one folder per controller) until it is empty; how many."""
    killed: set[int] = set()
    for _ in range(50):
        pids = set()
        for d in dirs:
            with contextlib.suppress(OSError, ValueError):
                pids |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed |= pids
        time.sleep(0.02)
    return len(killed)
