"""The sandbox a student's kernel runs in (ARCHITECTURE.md §2).

``strict`` (what batch grading requires): bubblewrap with private network, pid, ipc and uts
namespaces and only the binds the kernel needs (no ``--ro-bind / /``); the kernel runs as an
unprivileged uid with every capability dropped (``setpriv``); memory and pids are capped by a cgroup
(v1 ``memory.limit_in_bytes``/``pids.max`` or v2 ``memory.max``/``pids.max``); CPU seconds and file
size by rlimits (``prlimit``); ``/tmp`` is a size-capped tmpfs.

``basic``: bubblewrap in an unprivileged user namespace (same binds, no uid drop, no cgroup): what a
student's laptop or a CI container without root usually offers.  ``none``: a plain local kernel.
Each level is a `Sandbox` strategy (`Strict`, `Basic`, `Unsandboxed`); `strategy(level)` gives it.

The kernel talks to the harness only over unix sockets in the run's ``ipc`` folder (bound at the
same path inside, so the connection file is valid on both sides) and two exchange folders: ``in``
(read-only inside) and ``out``.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

from davar.assignment import Limits
from davar.errors import SandboxUnavailable
from davar.results import LEVELS, Level

# Fixed paths inside the sandbox.
WORK = "/submission"
DATA = "/data"
EXCHANGE_IN = "/exchange/in"
EXCHANGE_OUT = "/exchange/out"
INSIDE = "/opt/davar"  # davar/inside, read-only: the kernel's entry point and the Colab shim
KERNEL_SIDE = f"{INSIDE}/kernel_side.py"
COLAB_WORK = ("/content", "/kaggle/working")  # more names for WORK

#: First uid of the sandbox slots; slot N runs as BASE_UID + N (RLIMIT_NPROC is per uid).
BASE_UID = 61000

#: Host files the kernel may read, when they exist.
ETC_FILES = ("/etc/ld.so.cache", "/etc/ssl", "/etc/ca-certificates", "/etc/fonts", "/etc/localtime",
             "/etc/nsswitch.conf", "/etc/mime.types")

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a run goes: slot N runs as uid BASE_UID + N; `gpu` is the one CUDA device it sees;
    `threads` caps the math libraries' threads (slots sharing a machine must not fight over cores)."""

    index: int = 0
    gpu: str | None = None
    threads: int | None = None

    @property
    def uid(self) -> int:
        return BASE_UID + self.index


def gpu_device_nodes(gpu: str, dev: Path = Path("/dev")) -> list[str]:
    """The NVIDIA device nodes a kernel using CUDA device `gpu` needs, those that exist."""
    names = [f"nvidia{gpu}", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset"]
    return [str(dev / n) for n in names if (dev / n).exists()]


def gpu_slots(gpus: list[str], per_gpu: int = 1) -> list[Slot]:
    """`per_gpu` slots on each device, in device order: --gpus 0,1 --per-gpu 2 gives 0, 0, 1, 1."""
    return [Slot(i, gpu) for i, gpu in enumerate(g for g in gpus for _ in range(per_gpu))]


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    bwrap: str | None
    root: bool
    setpriv: str | None
    prlimit: str | None
    cgroup: str | None  # "v1", "v2" or None
    userns: bool

    @property
    def best(self) -> Level:
        if self.bwrap and self.root and self.setpriv and self.prlimit and self.cgroup:
            return "strict"
        if self.bwrap and (self.root or self.userns):
            return "basic"
        return "none"


@functools.cache
def detect() -> Capabilities:
    """What this host offers, probed once per process (a real bwrap start, not just `which`)."""
    bwrap = shutil.which("bwrap")
    root = os.geteuid() == 0
    userns = False
    if bwrap:
        probe = [bwrap, "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin", "--symlink",
                 "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--unshare-net", "true"]
        try:
            if root:
                bwrap = bwrap if _runs(probe) else None
            else:
                userns = _runs([probe[0], "--unshare-user", *probe[1:]])
                bwrap = bwrap if userns else None
        except OSError:
            bwrap = None
    return Capabilities(bwrap=bwrap, root=root, setpriv=shutil.which("setpriv"),
                        prlimit=shutil.which("prlimit"), cgroup=_cgroup_version() if root else None,
                        userns=userns)


def _runs(argv: list[str]) -> bool:
    return subprocess.run(argv, capture_output=True, timeout=10).returncode == 0


def _cgroup_version() -> str | None:
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        controllers = (CGROUP_ROOT / "cgroup.controllers").read_text().split()
        return "v2" if {"memory", "pids"} <= set(controllers) and os.access(CGROUP_ROOT, os.W_OK) else None
    if all(os.access(CGROUP_ROOT / c, os.W_OK) for c in ("memory", "pids")):
        return "v1"
    return None


def choose_level(requested: str, *, allow_weak: bool = False) -> Level:
    """`auto` gives the best available level; a named level must be available unless `allow_weak`."""
    best = detect().best
    if requested == "auto":
        return best
    level = next((known for known in LEVELS if known == requested), None)
    if level is None:
        raise SandboxUnavailable("sandbox_unknown_level", level=requested, levels=", ".join(LEVELS))
    if LEVELS.index(level) > LEVELS.index(best):
        if allow_weak:
            return best
        raise SandboxUnavailable("sandbox_not_available", level=requested, best=best)
    return level


class Cgroup:
    """A per-run cgroup holding the kernel and everything it starts."""

    def __init__(self, name: str, limits: Limits):
        self.version = detect().cgroup
        self.dirs: list[Path] = []
        mem = limits.memory_mb * 1024 * 1024
        if self.version == "v2":
            d = CGROUP_ROOT / "davar" / name
            (CGROUP_ROOT / "davar").mkdir(exist_ok=True)
            (CGROUP_ROOT / "cgroup.subtree_control").write_text("+memory +pids")
            (CGROUP_ROOT / "davar" / "cgroup.subtree_control").write_text("+memory +pids")
            d.mkdir()
            (d / "memory.max").write_text(str(mem))
            if (d / "memory.swap.max").exists():
                (d / "memory.swap.max").write_text("0")
            (d / "pids.max").write_text(str(limits.pids))
            self.dirs = [d]
        elif self.version == "v1":
            mem_dir, pids_dir = CGROUP_ROOT / "memory" / "davar" / name, CGROUP_ROOT / "pids" / "davar" / name
            for d in (mem_dir, pids_dir):
                d.mkdir(parents=True)
            (mem_dir / "memory.limit_in_bytes").write_text(str(mem))
            (pids_dir / "pids.max").write_text(str(limits.pids))
            self.dirs = [mem_dir, pids_dir]

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


def _bwrap(*, paths: Paths, limits: Limits, slot: Slot, env: dict[str, str], inside: Path,
           user_namespace: bool) -> list[str]:
    """bubblewrap's argv up to its ``--``: new namespaces (and a user namespace where we are not
    root), only the binds the kernel needs, `env` as its whole environment."""
    args = [detect().bwrap or "bwrap"]
    if user_namespace:
        args += ["--unshare-user"]
    args += ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--hostname", "sandbox", "--die-with-parent", "--new-session", "--clearenv"]

    targets: list[tuple[str, str, str]] = [("--ro-bind", "/usr", "/usr")]
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):
            args += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            targets.append(("--ro-bind", f"/{link}", f"/{link}"))
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
    # Colab and Kaggle notebooks work in /content and /kaggle/working: both are the working folder
    targets += [("--bind", str(paths.work), d) for d in COLAB_WORK]
    targets += [("--ro-bind", str(src), dest) for src, dest in paths.maps]

    # bwrap creates missing mount points 0700; make every ancestor traversable for the dropped uid
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(limits.tmp_mb * 2**20), "--tmpfs", "/tmp"]
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

    def seen(self, host: Path, inside: str) -> str:
        """Where the kernel finds `host`: at `inside` when walled off, else where it is."""
        return inside if self.walled else str(host)

    def uid(self, slot: Slot) -> int | None:
        """The uid the kernel runs as, owner of its files; None: ours."""
        return None

    def cgroup(self, name: str, limits: Limits) -> Cgroup | None:
        """A new cgroup capping the kernel's memory and processes, where this level has one."""
        return None

    def prepare_paths(self, paths: Paths, slot: Slot) -> None:
        """Make the run's folders; a kernel with its own uid gets the writable ones."""
        for d in (paths.work, paths.ipc, paths.exchange_in, paths.exchange_out):
            d.mkdir(parents=True, exist_ok=True)

    @abc.abstractmethod
    def kernel_command(self, *, paths: Paths, limits: Limits, slot: Slot, cgroup: Cgroup | None,
                       env: dict[str, str], inside: Path) -> list[str]:
        """The argv that starts `python kernel_side.py -f {connection_file}` (from the folder `inside`,
        davar/inside) with the environment `env`."""


class Unsandboxed(Sandbox):
    """``none``: a plain local kernel, as on a laptop without bubblewrap."""

    walled = False
    network = True

    def kernel_command(self, *, paths: Paths, limits: Limits, slot: Slot, cgroup: Cgroup | None,
                       env: dict[str, str], inside: Path) -> list[str]:
        return [sys.executable, str(inside / "kernel_side.py"), "-f", "{connection_file}"]


class Basic(Sandbox):
    """``basic``: bubblewrap, in a user namespace of its own unless we are root; no uid drop, no cgroup."""

    walled = True
    network = False

    def kernel_command(self, *, paths: Paths, limits: Limits, slot: Slot, cgroup: Cgroup | None,
                       env: dict[str, str], inside: Path) -> list[str]:
        bwrap = _bwrap(paths=paths, limits=limits, slot=slot, env=env, inside=inside, user_namespace=not detect().root)
        return [*bwrap, sys.executable, KERNEL_SIDE, "-f", "{connection_file}"]


class Strict(Sandbox):
    """``strict``: bubblewrap, then the slot's uid with every capability dropped (setpriv), under
    rlimits (prlimit) and in the run's cgroup; all of which needs root (`Capabilities.best`)."""

    walled = True
    network = False

    def uid(self, slot: Slot) -> int | None:
        return slot.uid

    def cgroup(self, name: str, limits: Limits) -> Cgroup | None:
        return Cgroup(name, limits)

    def prepare_paths(self, paths: Paths, slot: Slot) -> None:
        super().prepare_paths(paths, slot)
        uid = slot.uid
        for d in (paths.ipc, paths.exchange_out):
            os.chown(d, uid, uid)
        for dirpath, dirnames, filenames in os.walk(paths.work):
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.chown(name, uid, uid, follow_symlinks=False)
        # the folders above the run dir must be traversable by the dropped uid
        paths.ipc.parent.chmod(0o755)

    def kernel_command(self, *, paths: Paths, limits: Limits, slot: Slot, cgroup: Cgroup | None,
                       env: dict[str, str], inside: Path) -> list[str]:
        caps, uid = detect(), str(slot.uid)
        setpriv = [caps.setpriv or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                   "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
        # rlimits first (inherited through bwrap), then join the cgroup and exec
        prlimit = [caps.prlimit or "prlimit", f"--cpu={limits.cpu_s}",
                   f"--fsize={limits.file_size_mb * 2**20}", f"--nproc={limits.pids}", "--core=0", "--"]
        join = "; ".join(f"echo $$ > {shlex.quote(f)}" for f in (cgroup.procs_files if cgroup else []))
        return ["/bin/sh", "-c", f'{join}; exec "$@"' if join else 'exec "$@"', "sh", *prlimit,
                *_bwrap(paths=paths, limits=limits, slot=slot, env=env, inside=inside, user_namespace=False),  # root
                *setpriv, sys.executable, KERNEL_SIDE, "-f", "{connection_file}"]


_STRATEGIES: dict[Level, Sandbox] = {"none": Unsandboxed(), "basic": Basic(), "strict": Strict()}


def strategy(level: Level) -> Sandbox:
    """What `level` means: the one place a level's name is looked at."""
    return _STRATEGIES[level]
