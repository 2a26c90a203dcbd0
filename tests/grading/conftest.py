"""What the batch tests share: the tiny six-student course, and what a batch may leave behind, found by the
pids of the processes that made it (`Leftovers`)."""

import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from davar.run import sandbox

GRADER = '''
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=2)
def test_answer(sub):
    expect(sub.value("answer") == 42, "assertion", detail="answer")
'''


@pytest.fixture
def course(tmp_path, one_question):
    """A tiny assignment and six students, each notebook sleeping a little; students s3 and s5 are wrong.
    Returns (graders folder, submissions folder, reports folder); the grader is graders/test_tiny.py."""
    graders = one_question(tmp_path / "graders" / "tiny", GRADER, points=2)
    for i in range(6):
        student = tmp_path / "subs" / f"s{i}"
        student.mkdir(parents=True)
        cell = f"import time\ntime.sleep(1)\nanswer = {41 if i in (3, 5) else 42}"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)]), student / "hw.ipynb")
    return graders, tmp_path / "subs", tmp_path / "out"


class Leftovers:
    """What runs and stays behind a batch's workers (`davar-run-<pid>-…` names their cgroups and run folders;
    sandbox.run_prefix), read from /proc, cgroupfs and the temporary folder."""

    @staticmethod
    def stat(pid) -> tuple[str, int] | None:
        """(state, parent) of a process; None when it is gone."""
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return None
        return None if fields[0] == "Z" else (fields[0], int(fields[1]))

    @staticmethod
    def children(parent: int) -> set[int]:
        """The live processes whose parent is `parent` (a driver's workers)."""
        return {int(p.parent.name) for p in Path("/proc").glob("[0-9]*/stat")
                if (Leftovers.stat(p.parent.name) or ("", 0))[1] == parent}

    @staticmethod
    def runs(workers) -> list[Path]:
        """The run folders, disk images and cgroups named after these processes."""
        parents = [Path(tempfile.gettempdir()), *sandbox.CGROUP_PARENTS]
        return sorted(p for w in workers for parent in parents for p in parent.glob(f"davar-run-{w}-*"))

    @staticmethod
    def _sandbox_processes():
        """(pid, its cgroups and command line) of every live process of a sandbox uid."""
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                uid = int((proc / "status").read_text().split("\nUid:")[1].split()[0])
                cmdline = (proc / "cmdline").read_text()
                where = (proc / "cgroup").read_text() + cmdline
            except (OSError, IndexError):
                continue
            if uid >= sandbox.BASE_UID and Leftovers.stat(proc.name):
                yield int(proc.name), where, cmdline

    @staticmethod
    def sandboxed(workers, kernels_only=False) -> list[int]:
        """The live processes of a sandbox uid in these processes' runs (their cgroup or command line); only the
        kernels themselves (uid dropped, kernel_side.py started: bubblewrap is set to die with its parent)."""
        return [pid for pid, where, cmdline in Leftovers._sandbox_processes()
                if (not kernels_only or "kernel_side.py" in cmdline)
                and any(f"davar-run-{w}-" in where for w in workers)]

    @staticmethod
    def escaped() -> list[tuple[int, str]]:
        """Live processes of a sandbox uid outside every run's cgroup, whoever's batch started them, with their
        cgroups and command line: under `strict` a kernel joins its cgroup before it drops to the sandbox uid (or
        does not start), so none should exist."""
        return [(pid, where) for pid, where, _ in Leftovers._sandbox_processes() if sandbox.RUN_PREFIX not in where]

    @staticmethod
    def until(condition, what, seconds=180):
        deadline = time.monotonic() + seconds
        while not (value := condition()):
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)
        return value


@pytest.fixture(scope="session")
def leftovers() -> type[Leftovers]:
    return Leftovers
