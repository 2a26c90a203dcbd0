"""The run folder's disk quota (davar/run/quota.py) and the host's free space before a batch."""

import os
import tempfile
import time
from pathlib import Path

import pytest

from davar import catalogue, commands
from davar.errors import DiskSpaceLow
from davar.run import quota, sandbox

needs_quota = pytest.mark.skipif(not sandbox.detect().disk_quota, reason="needs root, loop devices and mkfs.ext4")


@pytest.fixture
def rundir():
    """An empty run folder in the temporary folder, as `execute.run` makes one; checked clean afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="davar-run-"))
    yield folder
    image = folder.with_name(folder.name + quota.IMAGE_SUFFIX)
    try:
        assert not os.path.ismount(folder) and not image.exists()
        # A mount namespace made meanwhile (a sandbox starting in the corpora's process: this host's mounts are
        # private, so bubblewrap copies them all before it drops the old root) holds the image's file system a
        # moment longer, and its loop device lets go only then: wait for that, not for a time.
        deadline = time.monotonic() + 60
        while (held := any(str(image) in line for line in _loop_backing_files())) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not held
    finally:
        quota.unmount_stale(folder)
        folder.rmdir()


def _loop_backing_files() -> list[str]:
    out = []
    for f in Path("/sys/block").glob("loop*/loop/backing_file"):
        try:
            out.append(f.read_text().strip())
        except OSError:
            pass
    return out


def _write_as(uid: int, path: Path, limit_mb: int) -> tuple[int, int | None]:
    """MB a process of `uid` writes to `path` before the disk says no (or `limit_mb`), and the errno."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to `uid`, write, report, exit without cleanup
        os.close(read)
        written, code = 0, 0
        try:
            os.setgid(uid)
            os.setuid(uid)
            with open(path, "wb") as f:
                while written < limit_mb:
                    f.write(b"\0" * 2**20)
                    f.flush()
                    written += 1
        except OSError as e:
            code = e.errno or 0
        os.write(write, f"{written} {code}".encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as r:
        written, code = map(int, r.read().split())
    os.waitpid(pid, 0)
    return written, code or None


@needs_quota
def test_the_kernel_gets_its_quota_and_root_keeps_room(rundir):
    disk = quota.DiskQuota.mount(rundir, limit_mb=16, harness_mb=8, replies="out", replies_mb=4)
    held = None
    try:
        assert os.path.ismount(rundir) and os.path.ismount(rundir / "out")
        (rundir / "work").mkdir()
        os.chown(rundir / "work", sandbox.BASE_UID, sandbox.BASE_UID)
        written, code = _write_as(sandbox.BASE_UID, rundir / "work" / "fill", 64)
        assert code == 28 and 16 <= written < 20 and disk.full()  # ENOSPC at the quota, not before
        (rundir / "executed.ipynb").write_bytes(b"\1" * 4 * 2**20)  # the harness (root) still has room
        os.chown(rundir / "out", sandbox.BASE_UID, sandbox.BASE_UID)
        assert _write_as(sandbox.BASE_UID, rundir / "out" / "r1.json", 1) == (1, None)  # and the replies
        assert 20 <= disk.used_mb() < 24 and disk.image.stat().st_blocks * 512 < 24 * 2**20
        held = open(rundir / "work" / "fill", "rb")  # something still holds it: unmounted lazily
    finally:
        disk.remove()
        if held:
            held.close()


@needs_quota
def test_what_a_dead_driver_left_is_removed_by_unmount_stale(rundir):
    quota.DiskQuota.mount(rundir, limit_mb=4, harness_mb=4, replies="out", replies_mb=1)  # never removed
    assert rundir in quota.mounted_runs()
    image = rundir.with_name(rundir.name + quota.IMAGE_SUFFIX)
    assert quota.unmount_stale(image) is True  # the image's name finds its folder too
    assert rundir not in quota.mounted_runs() and not image.exists()
    assert quota.unmount_stale(rundir) is False  # idempotent


@needs_quota
def test_a_run_is_refused_when_the_host_has_too_little_room(rundir, monkeypatch):
    monkeypatch.setattr(quota, "free_mb", lambda path: 500.0)
    with pytest.raises(DiskSpaceLow) as caught:
        quota.DiskQuota.mount(rundir, limit_mb=2048, harness_mb=100)
    e = caught.value
    assert e.key == "disk_space_low" and e.values["path"] == str(rundir.parent)
    assert e.values["free_mb"] == 500 and e.values["needed_mb"] > 2048 + quota.HOST_MARGIN_MB
    assert not rundir.with_name(rundir.name + quota.IMAGE_SUFFIX).exists()


def test_a_batch_is_refused_when_the_host_disk_is_low(repo, hw2, tmp_path, monkeypatch):
    """Simulated (the free space is what `quota.free_mb` says): nothing runs, nothing is written, and the
    message names the path, the free and the needed space, in both languages."""
    monkeypatch.setattr(quota, "free_mb", lambda path: 3000.0)
    out = tmp_path / "reports"
    with pytest.raises(DiskSpaceLow) as caught:
        commands.grade(assignment=str(hw2.directory), path=repo / "submissions" / hw2.id, out=out, workers=2,
                       sandbox_level="none", allow_weak_sandbox=True)
    e = caught.value
    assert e.key == "disk_space_low_batch" and e.values["path"] == tempfile.gettempdir()
    assert (e.values["free_mb"], e.values["runs"], e.values["disk_mb"]) == (3000, 2, hw2.limits("standin").disk_mb)
    assert e.values["needed_mb"] == 2 * hw2.limits("standin").disk_mb + quota.HOST_MARGIN_MB
    assert "3,000 MB" in str(e) and tempfile.gettempdir() in str(e)
    assert "۳٬۰۰۰" in catalogue.text(e.key, "fa", e.values)
    assert not list(out.rglob("*.json"))  # no one was graded

    def reports_disk_low(path):
        return 100.0 if Path(path) == out else 10**6

    monkeypatch.setattr(quota, "free_mb", reports_disk_low)
    monkeypatch.setattr(quota, "_device", lambda path: 1 if Path(path) == out else 2)  # another disk
    with pytest.raises(DiskSpaceLow) as caught:
        quota.check_batch(disk_mb=2048, runs=2, out=out)
    assert caught.value.key == "disk_space_low_reports" and caught.value.values["path"] == str(out)
    quota.check_batch(disk_mb=2048, runs=2, out=tmp_path)  # enough everywhere: no error


def test_an_error_that_says_the_disk_is_full():
    assert quota.out_of_space("[Errno 28] No space left on device: 'x.bin'")
    assert quota.out_of_space("", "OSError: [Errno 122] Disk quota exceeded")
    assert not quota.out_of_space("ValueError: shapes do not match", "[Errno 2] No such file or directory")
