"""Containment: what a notebook in the strict sandbox can and cannot do (ARCHITECTURE.md §2)."""

import dataclasses
import errno
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from davar import assignment, errors
from davar.intake import inbox
from davar.probe.bridge import Sub
from davar.run import execute, quota, sandbox

NOTEBOOKS = Path(__file__).parents[1] / "notebooks"

strict = pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")


@pytest.fixture
def spec(tmp_path):
    (tmp_path / "graders" / "walls").mkdir(parents=True)
    (tmp_path / "graders" / "walls" / "assignment.toml").write_text(
        'id = "walls"\ntitle = { fa = "دیوار", en = "walls" }\nnotebooks = ["notebook.ipynb"]\n'
        "[limits]\nmemory_mb = 512\npids = 64\ncell_timeout_s = 60\ntotal_timeout_s = 120\n")
    public = tmp_path / "data" / "walls" / "public"
    public.mkdir(parents=True)
    (public / "images.txt").write_text("public\n")
    hidden = tmp_path / "data" / "walls" / "hidden"
    hidden.mkdir()
    (hidden / "labels.csv").write_text("file,label\n")
    return assignment.load(tmp_path / "graders" / "walls")


def run(spec, name):
    sub = inbox.collect(NOTEBOOKS / name, spec)[0]
    return execute.run(sub, spec, notebook=spec.notebooks[0], level="strict")


@strict
def test_network_files_and_privileges_are_walled_off(spec, repo):
    with run(spec, "probes_sandbox_walls") as live:
        assert live.execution.status == "ok", live.execution
        sub = Sub(live)
        f = sub.value("findings")
        assert f["uid"] >= sandbox.BASE_UID and f["cap_eff"] == "0000000000000000"
        assert f["internet"] == "OSError" or f["internet"].endswith("Error") and f["internet"] != "allowed"
        assert f["dns"] != "allowed"
        assert f["write_usr"] != "allowed" and f["data_writable"] != "allowed"
        assert "home" not in f["host_root"] and "srv" not in f["host_root"]
        assert f["hostname"] == "sandbox" and f["pids"] < 10  # host processes are invisible
        for secret in (spec.hidden_data() / "labels.csv", repo / "graders" / "iust-dl-1403-hw2" / "test_q5.py",
                       repo / "README.md", Path("/etc/shadow")):
            assert secret.exists()
            assert sub.call("try_read", str(secret)) in ("FileNotFoundError", "PermissionError"), secret
        assert sub.call("try_read", "/data/images.txt") == "read 7"
        blocked = {b["target"] for b in live.sandbox_record().blocked}
    assert str(spec.hidden_data() / "labels.csv") in blocked and "1.1.1.1:53" in blocked


#: Far more guessed paths than the audit socket queues (about ten), then the network: the kernel's audit hook
#: reports each at once, and the harness reads them as they come.
GUESSES_THEN_THE_NETWORK = """import socket
for i in range(150):
    try:
        open(f"/nowhere/guess{i}.csv")
    except OSError:
        pass
try:
    socket.getaddrinfo("192.0.2.7", 443)  # numeric: no lookup leaves the machine
except OSError:
    pass"""


@pytest.mark.parametrize("level", [pytest.param("strict", marks=strict), "none"])
def test_a_network_attempt_after_a_burst_of_guessed_paths_is_on_record(spec, tmp_path, level):
    """Blocked under walls, let through at `none`, where the result says what the grading will make of it."""
    folder = tmp_path / "subs" / "s1"
    folder.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(GUESSES_THEN_THE_NETWORK)]),
                   folder / "notebook.ipynb")
    with execute.run(inbox.collect(folder, spec)[0], spec, notebook="notebook.ipynb", level=level) as live:
        assert live.execution.status == "ok", live.execution
        record = live.sandbox_record()
    network = [{"kind": "network", "op": "socket.getaddrinfo", "target": "192.0.2.7:443"}]
    assert (list(record.blocked), list(record.not_blocked)) == ((network, []) if level == "strict" else ([], network))


@pytest.mark.parametrize("level", [pytest.param("strict", marks=strict), "none"])
def test_the_kernels_user_has_a_name_at_every_level(spec, tmp_path, level):
    """getpass.getuser(), a notebook's or a library's, reads the environment, then the passwd file, in which a
    walled kernel's uid is not: KeyError under the sandbox, the host's user at `none`, before the kernel had one."""
    folder = tmp_path / "subs" / "s1"
    folder.mkdir(parents=True)
    code = "import getpass\nwho = getpass.getuser()"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), folder / "notebook.ipynb")
    with execute.run(inbox.collect(folder, spec)[0], spec, notebook="notebook.ipynb", level=level) as live:
        assert live.execution.status == "ok", live.execution
        assert Sub(live).value("who") == execute.USER


@strict
def test_shared_memory_and_semaphores_work(spec, tmp_path):
    """multiprocessing's locks need /dev/shm (keras's image_dataset_from_directory starts a thread pool,
    torch's DataLoader workers share tensors there): a private tmpfs of the sandbox's own."""
    folder = tmp_path / "subs" / "s1"
    folder.mkdir(parents=True)
    code = "from multiprocessing.pool import ThreadPool\nwith ThreadPool(2) as pool:\n    squares = pool.map(abs, [-1, -2])"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), folder / "notebook.ipynb")
    with execute.run(inbox.collect(tmp_path / "subs", spec)[0], spec, notebook="notebook.ipynb", level="strict") as live:
        assert live.execution.status == "ok", live.execution
        assert Sub(live).value("squares") == [1, 2]


@strict
def test_memory_limit_kills_the_kernel_and_says_so(spec):
    with run(spec, "eats_memory") as live:
        assert live.execution.status == "dead"
        assert live.execution.reason == "memory_limit"
        assert live.bridge is None


@strict
def test_pids_limit_stops_a_thread_bomb(spec):
    with run(spec, "forks_too_much") as live:
        assert live.execution.status == "error"
        assert live.execution.error_name in ("RuntimeError", "BlockingIOError", "OSError")
        assert live.execution.failing_cell == 1


@strict
def test_a_killed_kernel_is_dead_not_completed(spec):
    with run(spec, "kills_kernel") as live:
        assert live.execution.status == "dead" and live.execution.reason == "kernel_died"
        assert live.execution.failing_cell == 1


@strict
def test_output_beyond_the_limit_is_cut(spec, tmp_path):
    import dataclasses

    import nbformat

    small = dataclasses.replace(spec, base_limits=dataclasses.replace(spec.base_limits, output_mb=1))
    with execute.run(inbox.collect(NOTEBOOKS / "floods_output", small)[0], small, notebook=small.notebooks[0], level="strict") as live:
        assert live.execution.status == "ok"
        outputs = nbformat.read(live.output_notebook, as_version=4).cells[-1].outputs
    assert outputs[0].text == "[davar: output truncated]\n"


@strict
def test_filling_the_disk_quota_is_disk_limit_and_leaves_nothing_behind(spec):
    """/tmp and the working folder share one quota: /tmp takes it all (the error caught), then a write in the
    working folder fails; the run says `disk_limit`, the graders still get answers, and the host's disk held
    no more than the quota; afterwards nothing is mounted and the image is gone."""
    import dataclasses
    import errno

    from davar.run import quota

    small = dataclasses.replace(spec, base_limits=dataclasses.replace(spec.base_limits, disk_mb=64))
    with execute.run(inbox.collect(NOTEBOOKS / "fills_the_disk", small)[0], small, notebook=small.notebooks[0],
                     level="strict") as live:
        rundir = live.workdir.parent
        image = rundir.with_name(rundir.name + quota.IMAGE_SUFFIX)
        ex = live.execution
        assert (ex.status, ex.reason, ex.failing_cell) == ("error", "disk_limit", 2), ex
        assert ex.error_name == "OSError" and "No space left on device" in ex.error_value
        assert 64 <= ex.disk_used_mb < 80
        sub = Sub(live)
        assert 64 <= sub.value("tmp_mb") < 70 and sub.value("tmp_errno") == errno.ENOSPC
        assert sub.value("defined_before") == 42  # a full quota leaves the replies their own room
        assert os.path.ismount(rundir) and image.stat().st_blocks * 512 < 80 * 2**20  # the host's disk: ~ the quota
        record = live.sandbox_record()
        assert record.limits["disk_mb"] == 64 and record.not_enforced == ("tmp_mb",)
    assert not rundir.exists() and not image.exists() and rundir not in quota.mounted_runs()
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):  # its loop device is released too
        try:
            assert str(image) not in backing.read_text()
        except FileNotFoundError:  # another run's loop device, released meanwhile
            pass


@strict
def test_a_notebook_that_uses_up_the_disks_inodes_is_still_run_and_graded_warm_or_cold(spec):
    """The harness's own files in the run folder have their inodes before the student's code runs (the executed
    notebook, written at the end) or a file system of their own (the graders' arguments): a disk out of inodes (ext4
    keeps blocks for root, no inodes) cost the whole grade as a harness error, then every call with an array.  And
    a kernel started ahead (`davar.run.pool`, room for 1 GB of the submission's) lets it make as many files as one
    started for it: one per 16 KB of its quota, and the room for the submission's files it did not take; the
    inodes grew with the room for bytes: 88665 files against 9178 for a 64 MB quota."""
    import dataclasses

    import numpy as np

    small = dataclasses.replace(spec, base_limits=dataclasses.replace(spec.base_limits, disk_mb=64))
    made = []
    for warm in (False, True):
        ready = execute.start(small, level="strict", preload=execute.WARM_PRELOAD_MB * 2**20,
                              entries=execute.WARM_PRELOAD_ENTRIES) if warm else None
        with execute.run(inbox.collect(NOTEBOOKS / "uses_up_the_inodes", small)[0], small,
                         notebook=small.notebooks[0], level="strict", ready=ready) as live:
            assert live.execution.status == "ok" and live.output_notebook.stat().st_size > 0
            sub = Sub(live)
            assert sub.value("error") == "ENOSPC" and sub.value("answer") == 42
            np.testing.assert_array_equal(sub.call("predict", np.ones((3, 2))), [2, 2, 2])
            made.append(sub.value("files"))
    least = 64 * 2**20 // quota.BYTES_PER_INODE  # and at most that, the entries' room, what mkfs rounds up (~150)
    assert made[0] == made[1] and least <= made[0] < least + execute.WARM_PRELOAD_ENTRIES + 256


def test_a_run_that_filled_its_quota_says_so_whatever_the_error_looks_like():
    """`disk_limit` from the cell's error (ENOSPC, EDQUOT) or from a full quota at the end (a library's own
    words for a failed write, an error caught); a timeout or an out-of-memory kill keeps its reason."""
    from davar.results import ExecutionRecord

    class Quota:
        def __init__(self, full):
            self.is_full = full

        def full(self):
            return self.is_full

        def used_mb(self):
            return 64.0

    torch_words = ExecutionRecord(status="error", error_name="RuntimeError",
                                  error_value="[enforce fail at inline_container.cc:595] . unexpected pos")
    enospc = ExecutionRecord(status="error", error_name="OSError", error_value="[Errno 28] No space left on device")
    edquot = ExecutionRecord(status="error", error_name="OSError", error_value="[Errno 122] Disk quota exceeded")
    assert execute._disk_use(torch_words, Quota(True)).reason == "disk_limit"
    assert execute._disk_use(torch_words, Quota(False)).reason == ""
    for words in (enospc, edquot):
        assert execute._disk_use(words, Quota(False)).reason == "disk_limit"
    assert execute._disk_use(ExecutionRecord(status="ok"), Quota(True)).reason == "disk_limit"
    assert execute._disk_use(ExecutionRecord(status="dead", reason="kernel_died"), Quota(True)).reason == "disk_limit"
    for kept in (ExecutionRecord(status="timeout", reason="cell_timeout"),
                 ExecutionRecord(status="dead", reason="memory_limit")):
        assert execute._disk_use(kept, Quota(True)).reason == kept.reason
    assert execute._disk_use(enospc, None) == enospc  # no quota (basic, none): a plain error
    assert execute._disk_use(ExecutionRecord(status="ok"), Quota(False)).disk_used_mb == 64.0


@strict
def test_the_kernel_gets_its_slots_thread_counts_and_a_short_openblas_spin(spec, tmp_path):
    """A slot's share of the cores reaches the math libraries, OpenBLAS's idle threads sleep after ~0.4 ms,
    not the 0.1 s of CPU they spun by default as numpy was imported (execute.OPENBLAS_THREAD_TIMEOUT), and
    OpenMP's waiting threads sleep at once, which keeps a training cell on a busy machine within its limit
    (execute.OMP_WAIT_POLICY).  joblib's `n_jobs=-1` (scikit-learn's) starts as many processes as that share, and
    os.cpu_count() says it (`DataLoader(num_workers=os.cpu_count())`; sandbox.Paths.cores)."""
    folder = tmp_path / "subs" / "s1"
    folder.mkdir(parents=True)
    names = (*execute.THREAD_VARIABLES, "OPENBLAS_THREAD_TIMEOUT", "OMP_WAIT_POLICY")
    code = f"import os, joblib\nseen = {{k: os.environ.get(k) for k in {names!r}}}\njobs = joblib.cpu_count()\ncpus = os.cpu_count()"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), folder / "notebook.ipynb")
    slot = sandbox.cpu_slots(2)[1]
    with execute.run(inbox.collect(tmp_path / "subs", spec)[0], spec, notebook="notebook.ipynb", level="strict",
                     slot=slot) as live:
        assert live.execution.status == "ok", live.execution
        assert Sub(live).value("seen") == {**{k: str(slot.threads) for k in execute.THREAD_VARIABLES},
                                           "OPENBLAS_THREAD_TIMEOUT": "20", "OMP_WAIT_POLICY": "PASSIVE"}
        assert Sub(live).value("jobs") == Sub(live).value("cpus") == slot.threads


def test_no_library_is_told_more_threads_than_the_pids_limit_leaves_room_for(monkeypatch):
    """The pids limit counts threads, and a library left to itself starts one a core (TensorFlow two): a lone slot
    on a host of 64 cores is told 32 at 256 pids, on 4 cores nothing (the libraries find 4); a slot's share is kept
    where it fits."""
    limits = assignment.Limits(pids=256)
    for cores, lone, shared in ((64, 32, sandbox.Slot(0, threads=4)), (4, None, sandbox.Slot(0, threads=2))):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid, n=cores: set(range(n)))
        assert execute.kernel_threads(sandbox.Slot(0), limits) == lone
        assert execute.kernel_threads(shared, limits) == shared.threads
    assert execute.kernel_threads(sandbox.Slot(0, threads=48), limits) == 32
    assert execute.kernel_threads(sandbox.Slot(0, threads=2), assignment.Limits(pids=8)) == 1


@strict
def test_a_runs_processes_share_one_weight_of_the_cpu_whatever_sessions_they_make(spec, tmp_path):
    """Every process of a run, those that left its session with setsid() included, is in its one cpu cgroup, and
    the runs together weigh a session per core.  With the scheduler's autogroups alone (a session each), eight busy
    children that each called setsid() slowed a 3 s cell of the run beside them to 12.6 s; with the cgroup it ran in
    3.0 s (measured with two runs in a 2-worker batch, not tested: a time)."""
    root = sandbox.CGROUP_ROOT
    v2 = sandbox.detect().cgroup == "v2"
    if "cpu" not in ((root / "cgroup.controllers").read_text().split() if v2 else os.listdir(root)):
        pytest.skip("no cpu controller on this host")
    folder = tmp_path / "subs" / "s1"
    folder.mkdir(parents=True)
    code = ("import os, time\nfor _ in range(3):\n    if os.fork() == 0:\n        os.setsid()\n"
            "        time.sleep(60)\n        os._exit(0)")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), folder / "notebook.ipynb")
    with execute.run(inbox.collect(tmp_path / "subs", spec)[0], spec, notebook="notebook.ipynb", level="strict") as live:
        assert live.execution.status == "ok", live.execution
        runs = {parent: run for parent in sandbox.CGROUP_PARENTS for run in parent.glob(sandbox.run_prefix() + "*")}
        procs = {parent: set((run / "cgroup.procs").read_text().split()) for parent, run in runs.items()}
    cores = os.cpu_count() or 1
    if v2:
        assert "cpu" in (runs[root / "davar"] / "cgroup.controllers").read_text().split()
        assert (root / "davar" / "cpu.weight").read_text().strip() == str(min(10000, 100 * cores))
    else:
        assert procs[root / "cpu" / "davar"] == procs[root / "cpuacct" / "davar"] == procs[root / "memory" / "davar"]
        assert procs[root / "pids" / "davar"] == procs[root / "memory" / "davar"]
        assert (root / "cpu" / "davar" / "cpu.shares").read_text().strip() == str(1024 * cores)
    assert len(next(iter(procs.values()))) >= 4  # the kernel and its three children


def _with_cpu_budget(spec, tmp_path, code, cpu_s):
    folder = tmp_path / "subs" / "s1"
    folder.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), folder / "notebook.ipynb")
    tight = dataclasses.replace(spec, base_limits=dataclasses.replace(spec.base_limits, cpu_s=cpu_s))
    return execute.run(inbox.collect(tmp_path / "subs", tight)[0], tight, notebook="notebook.ipynb", level="strict")


@strict
def test_cpu_seconds_are_the_whole_runs_not_each_processs(spec, tmp_path):
    """Three processes that each use 0.7 of `cpu_s`, under their own rlimit, together use 2.1 of it: the run is
    stopped with "cpu_limit" (the cgroup's count, read while the notebook runs), not let through; a CPU time, not
    a wall-clock race: the children spin until their own CPU clocks reach it."""
    code = ("import os, time\nchildren = []\nfor _ in range(3):\n    pid = os.fork()\n    if pid == 0:\n"
            "        while time.process_time() < 2.8:\n            pass\n        os._exit(0)\n    children.append(pid)\n"
            "for pid in children:\n    os.waitpid(pid, 0)\ndone = True")
    with _with_cpu_budget(spec, tmp_path, code, cpu_s=4) as live:
        assert (live.execution.status, live.execution.reason) == ("timeout", "cpu_limit"), live.execution
        assert live.execution.failing_cell == 0
        assert 4 <= live.execution.cpu_s < 8.4  # what the run used is recorded: its budget, not what it wanted


@strict
def test_each_processs_cpu_rlimit_is_a_backstop_above_the_runs_counted_budget(tmp_path):
    """RLIMIT_CPU is counted in scheduler ticks, which on a busy machine ran ahead of the real CPU time: at the budget
    itself it stopped kernels early for others' load (sandbox.cpu_backstop).  Where the cgroup counts the run's CPU
    time, the budget is that count and the rlimit is above it; where nothing counts, the rlimit is the budget."""
    paths = sandbox.Paths(work=tmp_path / "w", ipc=tmp_path / "i", exchange_in=tmp_path / "in",
                          exchange_out=tmp_path / "out")
    limits = assignment.Limits(cpu_s=300)
    cgroup = sandbox.Cgroup(sandbox.run_prefix() + "backstop", limits)
    try:
        def cpu_rlimit(cgroup):
            argv = sandbox.strategy("strict").kernel_command(paths=paths, limits=limits, slot=sandbox.Slot(0),
                                                             cgroup=cgroup, env={}, inside=tmp_path)
            return next(int(a.removeprefix("--cpu=")) for a in argv if a.startswith("--cpu="))

        assert cpu_rlimit(cgroup) == (450 if cgroup.cpu_seconds() is not None else 300)
        assert cpu_rlimit(None) == 300
    finally:
        cgroup.remove()


#: Threads that wait, until the next one cannot start.
THREADS_UNTIL_REFUSED = """import threading
ev, made = threading.Event(), 0
try:
    while made < 1000:
        threading.Thread(target=ev.wait, daemon=True).start()
        made += 1
except RuntimeError:  # can't start new thread
    pass
ev.set()"""


@strict
def test_kernels_waiting_for_the_next_run_take_nothing_of_a_runs_pids_limit(spec, tmp_path):
    """The run's cgroup counts its processes and threads; RLIMIT_NPROC, which counts the slot uid's, those of the
    kernels its pool started ahead included, is a backstop above it (sandbox.nproc_backstop): a notebook starts as
    many threads with three kernels of its slot waiting as with none (with the rlimit at the limit, 37 fewer)."""
    folder = tmp_path / "subs" / "s1"
    folder.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(THREADS_UNTIL_REFUSED)]),
                   folder / "notebook.ipynb")
    sub = inbox.collect(folder, spec)[0]

    def made():
        with execute.run(sub, spec, notebook="notebook.ipynb", level="strict") as live:
            assert live.execution.status == "ok", live.execution
            return Sub(live).value("made")

    alone = made()
    waiting = [execute.start(spec, level="strict", preload=0, entries=0) for _ in range(3)]
    try:
        assert all(w.alive() for w in waiting)
        beside = made()
    finally:
        for w in waiting:
            w.close()
    pids = spec.limits("standin").pids
    assert pids / 2 < alone < pids and beside >= alone - 3, (alone, beside)


@strict
def test_a_kernel_that_cannot_join_its_runs_cgroup_does_not_start(tmp_path):
    """The kernel's command joins the run's cgroup, then starts the kernel; where the join fails (the cgroup removed
    meanwhile: the next batch's `remove_stale` of a killed batch's run whose kernel was still starting) the kernel
    does not start, rather than outside its memory, process and CPU limits, where nothing would find it."""
    paths = sandbox.Paths(work=tmp_path / "w", ipc=tmp_path / "i", exchange_in=tmp_path / "in",
                          exchange_out=tmp_path / "out")
    limits = assignment.Limits()
    cgroup = sandbox.Cgroup(sandbox.run_prefix() + "join", limits)
    argv = sandbox.strategy("strict").kernel_command(paths=paths, limits=limits, slot=sandbox.Slot(0), cgroup=cgroup,
                                                     env={}, inside=tmp_path)
    wrapper = argv[:argv.index("sh") + 1]  # sh -c '<join> exec "$@"' sh: then the kernel's command, here an echo
    try:
        assert subprocess.run([*wrapper, "echo", "started"], capture_output=True, text=True).stdout == "started\n"
    finally:
        cgroup.remove()
    late = subprocess.run([*wrapper, "echo", "started"], capture_output=True, text=True)
    assert late.returncode != 0 and late.stdout == ""


@strict
def test_a_host_whose_cgroups_cannot_take_the_runs_offers_none_and_the_refusal_says_what_strict_lacks(monkeypatch):
    """In a container on cgroup v2 whose processes live in its namespace's root, the root refuses to pass controllers
    down (EBUSY, the "no internal processes" rule: not reproducible on this v1 host, so the write is made to fail
    here).  Detection then offers no cgroup, so `davar grade` refuses `strict` up front and says what is missing,
    rather than every run failing to start."""
    def refused(version):
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(sandbox.CGROUP_ROOT / "cgroup.subtree_control"))

    monkeypatch.setattr(sandbox, "_run_parents", refused)
    assert sandbox._cgroup_version() is None
    monkeypatch.undo()
    assert sandbox._cgroup_version() == sandbox.detect().cgroup  # the host's own, unchanged

    host = dataclasses.replace(sandbox.detect(), cgroup=None)
    assert (host.missing, host.best) == (("cgroup",), "basic")
    monkeypatch.setattr(sandbox, "detect", lambda: host)
    with pytest.raises(errors.SandboxUnavailable) as refusal:
        sandbox.choose_level("strict")
    assert "best: 'basic'; what strict needs and this host lacks: cgroup," in refusal.value.text("en")
    assert "cgroup" in refusal.value.text("fa")
    assert sandbox.choose_level("strict", allow_weak=True) == "basic"
    bare = sandbox.Capabilities(bwrap=None, root=False, setpriv=None, prlimit=None, cgroup=None, userns=False)
    assert bare.missing == ("root", "bwrap", "setpriv", "prlimit", "cgroup", "mkfs.ext4+loop") and bare.best == "none"


@pytest.fixture
def cgroup_v2(tmp_path, monkeypatch):
    """A cgroup v2 tree as a v2 host's root offers it, in a folder (this host is v1): the files davar reads and
    writes, the ones the kernel would make filled in by the test.  Its runs' parents are made afresh, and
    forgotten after, so the host's own stay what they were."""
    root = tmp_path / "cgroup"
    root.mkdir()
    monkeypatch.setattr(sandbox, "CGROUP_ROOT", root)
    monkeypatch.setattr(sandbox, "CGROUP_PARENTS", (root / "davar", *(root / c / "davar" for c in sandbox.V1_CONTROLLERS)))
    sandbox._run_parents.cache_clear()
    host = dataclasses.replace(sandbox.detect(), cgroup="v2")
    monkeypatch.setattr(sandbox, "detect", lambda: host)
    yield root
    sandbox._run_parents.cache_clear()


def test_on_cgroup_v2_a_run_is_capped_counted_and_cleaned_by_v2s_files(cgroup_v2):
    """Most TAs' hosts are v2 (Debian 11+, Ubuntu 21.10+): there the runs' parent passes memory, pids and cpu down
    and weighs a session per core; a run's cgroup caps memory (no swap where the kernel counts it) and pids, and
    its peak, OOM kill and CPU seconds are read from memory.peak, memory.events and cpu.stat.  `remove_stale`
    finds a dead driver's v2 cgroups where `Cgroup` makes them."""
    (cgroup_v2 / "cgroup.controllers").write_text("cpu io\n")  # memory and pids bound elsewhere (a hybrid host)
    assert sandbox._cgroup_version() is None
    (cgroup_v2 / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma misc\n")
    assert sandbox._cgroup_version() == "v2"
    parent = cgroup_v2 / "davar"
    assert (parent / "cgroup.subtree_control").read_text() == "+cpu"  # after "+memory +pids"; a real file keeps all
    assert (parent / "cpu.weight").read_text() == str(min(10000, 100 * (os.cpu_count() or 1)))

    run = sandbox.Cgroup(sandbox.run_prefix() + "v2run000", assignment.Limits(memory_mb=512, pids=64))
    (d,) = run.dirs
    assert d.parent == parent and run.procs_files == [str(d / "cgroup.procs")]
    assert ((d / "memory.max").read_text(), (d / "pids.max").read_text()) == (str(512 * 2**20), "64")
    assert not (d / "memory.swap.max").exists()  # a kernel without swap accounting has none to set
    assert (run.peak_memory_mb(), run.oom_killed(), run.cpu_seconds()) == (None, False, None)
    (d / "memory.peak").write_text(f"{300 * 2**20}\n")
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n")
    (d / "cpu.stat").write_text("usage_usec 2503000\nuser_usec 2400000\nsystem_usec 103000\nnr_periods 0\n")
    assert (run.peak_memory_mb(), run.oom_killed(), run.cpu_seconds()) == (300.0, True, 2.503)
    (d / "memory.events").write_text("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n")
    assert not run.oom_killed()

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = parent / f"davar-run-{dead.pid}-123-abcd1234"
    stale.mkdir()
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        (stale / "cgroup.procs").write_text(f"{sleeper.pid}\n")
        removed = sandbox.remove_stale(cgroup_v2 / "tmp")
        assert sleeper.wait(timeout=10) == -9 and removed.processes == 1  # a real cgroupfs then lets it go
    finally:
        sleeper.kill()


def test_a_host_refusing_bubblewraps_user_namespace_is_named_by_its_setting(tmp_path, monkeypatch):
    """Not root, bubblewrap installed, its user namespace refused (Ubuntu 23.10+'s AppArmor, GitHub's runners): the
    level is `none` and detection keeps which setting refuses it, for the warning a student's check prints."""
    sysctl = tmp_path / "sys"
    for name, value in (("kernel/apparmor_restrict_unprivileged_userns", "0"), ("user/max_user_namespaces", "63717")):
        (sysctl / name).parent.mkdir(parents=True, exist_ok=True)
        (sysctl / name).write_text(value + "\n")
    assert sandbox.userns_setting(sysctl) is None and sandbox.userns_setting(tmp_path / "none") is None
    (sysctl / "user" / "max_user_namespaces").write_text("0\n")
    assert sandbox.userns_setting(sysctl) == "user.max_user_namespaces=0"
    (sysctl / "kernel" / "unprivileged_userns_clone").write_text("0\n")  # Debian's, before the limit
    assert sandbox.userns_setting(sysctl) == "kernel.unprivileged_userns_clone=0"
    (sysctl / "kernel" / "apparmor_restrict_unprivileged_userns").write_text("1\n")
    assert sandbox.userns_setting(sysctl) == "kernel.apparmor_restrict_unprivileged_userns=1"

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(sandbox, "userns_setting", lambda: "kernel.apparmor_restrict_unprivileged_userns=1")
    for refused, expected in ((True, ("none", "kernel.apparmor_restrict_unprivileged_userns=1")), (False, ("basic", None))):
        monkeypatch.setattr(sandbox, "_runs", lambda argv, refused=refused: not (refused and "--unshare-user" in argv))
        host = sandbox.detect.__wrapped__()
        assert (host.best, host.userns_off) == expected


def test_gpu_slots_see_one_device_each(tmp_path, monkeypatch):
    """Simulated (no GPU here): slots spread over the devices, each binds only its own device node."""
    assert [(s.index, s.gpu) for s in sandbox.gpu_slots(["0", "1"], per_gpu=2)] == [(0, "0"), (1, "0"), (2, "1"), (3, "1")]
    assert sandbox.cpu_slots(1)[0].threads is None and all(s.threads >= 1 for s in sandbox.cpu_slots(2))
    # GPU slots share the cores as CPU slots do: four training kernels do not each start a thread a core
    assert [s.threads for s in sandbox.gpu_slots(["0", "1"], per_gpu=2)] == [s.threads for s in sandbox.cpu_slots(4)]
    assert sandbox.gpu_slots(["0"])[0].threads is None
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"):
        (tmp_path / name).touch()
    assert sandbox.gpu_device_nodes("1", tmp_path) == [str(tmp_path / n) for n in ("nvidia1", "nvidiactl", "nvidia-uvm")]
    monkeypatch.setattr(sandbox, "gpu_device_nodes", lambda gpu: [f"/dev/nvidia{gpu}", "/dev/nvidiactl"])
    paths = sandbox.Paths(work=tmp_path / "w", ipc=tmp_path / "i", exchange_in=tmp_path / "in", exchange_out=tmp_path / "out")
    basic = sandbox.strategy("basic")
    argv = basic.kernel_command(paths=paths, limits=assignment.Limits(), slot=sandbox.Slot(3, "1"), cgroup=None,
                                env={}, inside=tmp_path)
    binds = [argv[i + 1] for i, a in enumerate(argv) if a == "--dev-bind"]
    assert binds == ["/dev/nvidia1", "/dev/nvidiactl"]
    assert "--dev-bind" not in basic.kernel_command(paths=paths, limits=assignment.Limits(), slot=sandbox.Slot(3),
                                                    cgroup=None, env={}, inside=tmp_path)


def test_no_two_live_processes_claim_one_uid_and_a_dead_ones_are_free_again(tmp_path):
    """Two davar processes on one machine (two batches, a batch and a regrade) never share a sandbox uid, and with
    it the per-uid process limit: slot N takes BASE_UID + N where no live process holds it, else the lowest free
    uid, and keeps it while its process lives, however that process ends."""
    claim = ("import sys; from pathlib import Path; from davar.run import sandbox\n"
             "print(*(sandbox.claim_uid(int(i), Path(sys.argv[1])) - sandbox.BASE_UID for i in sys.argv[2:]))\n"
             "sys.stdout.flush(); sys.stdin.read()")

    def claimer(*indexes):
        process = subprocess.Popen([sys.executable, "-c", claim, str(tmp_path), *map(str, indexes)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return process, [int(u) for u in process.stdout.readline().split()]

    first, uids = claimer(0, 1, 0)
    assert uids == [0, 1, 0]  # a slot keeps its uid
    second, uids = claimer(1, 0, 3)
    assert uids == [2, 3, 4]
    first.kill()  # kill -9: its claims go with it
    first.wait()
    third, uids = claimer(0, 1)
    assert uids == [0, 1]
    for process in (second, third):
        process.communicate("")


def test_each_level_is_one_strategy(tmp_path, monkeypatch):
    """What a level means, without starting a kernel: how the kernel starts, as whom, what it sees."""
    monkeypatch.setattr(sandbox, "UID_LOCKS", tmp_path / "uids")  # root's folder otherwise
    paths = sandbox.Paths(work=tmp_path / "w", ipc=tmp_path / "i", exchange_in=tmp_path / "in",
                          exchange_out=tmp_path / "o")
    limits, slot, env = assignment.Limits(), sandbox.Slot(2), {"HOME": sandbox.WORK}
    none, basic, strict = (sandbox.strategy(level) for level in ("none", "basic", "strict"))
    assert (none.walled, none.network, none.uid(slot)) == (False, True, None)
    assert (basic.walled, basic.network, basic.uid(slot)) == (True, False, None)
    assert (strict.walled, strict.network, strict.uid(slot)) == (True, False, slot.uid)  # claim_uid
    assert none.seen(paths.work, sandbox.WORK) == str(paths.work)
    assert basic.seen(paths.work, sandbox.WORK) == strict.seen(paths.work, sandbox.WORK) == sandbox.WORK
    assert none.cgroup("run", limits) is None and basic.cgroup("run", limits) is None

    def argv(box):
        return box.kernel_command(paths=paths, limits=limits, slot=slot, cgroup=None, env=env, inside=tmp_path)

    assert argv(none)[1:] == [str(tmp_path / "kernel_side.py"), "-f", "{connection_file}"]
    assert "--unshare-net" in argv(basic) and "--setenv" in argv(basic) and "setpriv" not in " ".join(argv(basic))
    plain = argv(strict)
    assert plain[:3] == ["/bin/sh", "-c", 'exec "$@"'] and f"--cpu={limits.cpu_s}" in plain
    assert f"--reuid={slot.uid}" in plain and "--unshare-user" not in plain
    assert plain[-3:] == [sandbox.KERNEL_SIDE, "-f", "{connection_file}"]
    # the disk quota: strict's /tmp is a folder of the run's capped file system, basic's a tmpfs of tmp_mb;
    # /dev/shm a tmpfs of its own in both
    def tmpfs(command):
        return {b for a, b in zip(command, command[1:], strict=False) if a == "--tmpfs"}

    assert tmpfs(plain) == tmpfs(argv(basic)) == {"/tmp", "/dev/shm"}  # without a folder for /tmp: a tmpfs
    with_tmp = dataclasses.replace(paths, tmp=tmp_path / "t")
    strict_tmp = strict.kernel_command(paths=with_tmp, limits=limits, slot=slot, cgroup=None, env=env, inside=tmp_path)
    assert tmpfs(strict_tmp) == {"/dev/shm"} and ["--bind", str(tmp_path / "t"), "/tmp"] == strict_tmp[
        strict_tmp.index(str(tmp_path / "t")) - 1:strict_tmp.index(str(tmp_path / "t")) + 2]
    basic_tmp = basic.kernel_command(paths=with_tmp, limits=limits, slot=slot, cgroup=None, env=env, inside=tmp_path)
    assert tmpfs(basic_tmp) == {"/tmp", "/dev/shm"} and str(tmp_path / "t") not in basic_tmp
    assert none.disk_quota(tmp_path, limits) is None and basic.disk_quota(tmp_path, limits) is None
    assert "disk_mb" in none.not_enforced and "disk_mb" in basic.not_enforced and strict.not_enforced == ("tmp_mb",)




@strict
def test_remove_stale_removes_what_dead_processes_left_and_nothing_of_live_ones(tmp_path):
    """A killed driver's runs: cgroups (a process still in one) and run folders named after a dead pid, or a
    live pid with another start time (reused), go; a live owner's, an unnamed one's and another user's stay."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    me = sandbox.run_prefix()
    stale = [f"davar-run-{dead.pid}-123-abcd1234", f"davar-run-{os.getpid()}-1-reused00"]
    kept = [f"{me}mine0000", "davar-run-legacy00", f"davar-run-{dead.pid}-123-notmine0"]
    for name in stale + kept:
        (tmp_path / name / "work").mkdir(parents=True)
    os.chown(tmp_path / kept[2], 65534, 65534)
    (tmp_path / f"{stale[0]}.disk").write_bytes(b"")  # its disk image (davar/run/quota.py)
    parents = [sandbox.CGROUP_ROOT / "davar"] if sandbox.detect().cgroup == "v2" else [
        p for p in sandbox.CGROUP_PARENTS[1:] if p.parent.is_dir()]
    cgroups, live = [p / stale[0] for p in parents], [p / kept[0] for p in parents]
    for d in cgroups + live:
        d.mkdir(parents=True)
    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        for d in cgroups:
            (d / "cgroup.procs").write_text(str(sleeper.pid))
        removed = sandbox.remove_stale(tmp_path)
        assert sleeper.wait(timeout=10) == -9  # what still ran in a dead run's cgroup is killed
        assert (removed.folders, removed.processes) == (2, 1) and removed.cgroups >= 1
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept)
        assert not any(d.exists() for d in cgroups) and all(d.exists() for d in live)
        assert not sandbox.remove_stale(tmp_path).folders  # idempotent
    finally:
        sleeper.kill()
        for d in cgroups + live:
            if d.exists():
                d.rmdir()
