"""davar.files: whatever a student leaves where the harness reads is refused at once, never waited on.

Each open runs in a daemon thread joined with a timeout, so a regression fails the test instead of hanging
the suite (a named pipe's reader is then released by opening its writing end)."""

import os
import stat
import threading
from pathlib import Path

import pytest

from davar import catalogue, files
from davar.errors import UnsafeFile

GUARD_S = 20  # generous: a refusal takes microseconds, a regression blocks forever


def bounded(fn, *args, release: Path | None = None, **kwargs):
    """`fn(*args, **kwargs)` in a thread: its result, or the exception it raised; fails if it blocks."""
    out: dict = {}

    def target():
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as e:  # handed to the test
            out["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(GUARD_S)
    if thread.is_alive():
        if release is not None:  # unblock a reader stuck on the pipe, so the thread ends
            os.close(os.open(release, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"{fn.__name__} blocked for {GUARD_S} s")
    if "error" in out:
        raise out["error"]
    return out.get("value")


def refused(fn, path, *, kind, release=None, **kwargs) -> UnsafeFile:
    with pytest.raises(UnsafeFile) as e:
        bounded(fn, path, release=release, **kwargs)
    assert e.value.kind == kind
    return e.value


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "reply.json"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("fn", [files.read_bytes, files.open_file])
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(fifo, fn):
    e = refused(fn, fifo, kind="fifo", release=fifo, limit=100)
    assert e.key == "file_refused" and "named pipe" in catalogue.text(e.key, "en", e.values)
    assert "لولهٔ نام‌دار" in e.text("fa")


def test_a_named_pipe_is_not_copied(fifo, tmp_path):
    refused(files.copy_file, fifo, kind="fifo", release=fifo, dest=tmp_path / "copy", limit=100)
    assert not (tmp_path / "copy").exists()


def test_a_symlink_to_a_host_file_is_refused(tmp_path):
    link = tmp_path / "answer.npy"
    link.symlink_to("/etc/passwd")
    refused(files.read_bytes, link, kind="symlink", limit=2**20)
    refused(files.read_bytes, link, kind="symlink", limit=2**20, beneath=tmp_path)


def test_a_device_node_is_refused_through_a_link_and_as_a_node(tmp_path):
    link = tmp_path / "zero"
    link.symlink_to("/dev/zero")
    refused(files.read_bytes, link, kind="symlink", limit=2**20)
    node = tmp_path / "node"
    try:
        os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero's numbers
    except PermissionError:
        pytest.skip("mknod needs root")
    refused(files.read_bytes, node, kind="device", limit=2**20)
    refused(files.copy_file, node, kind="device", dest=tmp_path / "copy", limit=2**20)


def test_an_oversize_or_sparse_file_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "huge.npy"
    with open(big, "wb") as f:
        f.truncate(2**40)  # a terabyte, sparse: reading it would take hours
    e = refused(files.read_bytes, big, kind="too_large", limit=2**20)
    assert e.key == "file_too_large" and e.values["limit_mb"] == 1
    assert str(e) == "huge.npy was not read: it holds 1,048,576 MB, over the 1 MB limit."
    refused(files.copy_file, big, kind="too_large", dest=tmp_path / "copy", limit=2**20)
    assert not (tmp_path / "copy").exists()


def test_a_folder_where_a_file_is_expected_is_refused(tmp_path):
    (tmp_path / "r1.json").mkdir()
    refused(files.read_bytes, tmp_path / "r1.json", kind="directory", limit=100)


def test_a_linked_folder_on_the_way_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    work = tmp_path / "work"
    work.mkdir()
    (work / "sub").symlink_to(outside)
    e = refused(files.read_bytes, work / "sub" / "secret.txt", kind="symlink", limit=100, beneath=work)
    assert e.values["path"] == "sub/secret.txt"  # shown relative to the student's folder
    assert files.read_bytes(outside / "secret.txt", limit=100) == b"secret"  # followed only when not told


def test_regular_files_are_read_and_copied_within_the_limit(tmp_path):
    src = tmp_path / "a" / "hw.ipynb"
    src.parent.mkdir()
    src.write_bytes(b"x" * 1000)
    os.utime(src, (1_600_000_000, 1_600_000_000))
    assert files.read_bytes(src, limit=1000, beneath=tmp_path) == b"x" * 1000
    with pytest.raises(UnsafeFile):
        files.read_bytes(src, limit=999)
    dest = tmp_path / "copy"
    dest.symlink_to("/etc/passwd")  # a link where the copy goes is replaced, not written through
    assert files.copy_file(src, dest, limit=1000, beneath=tmp_path, keep_times=True) == 1000
    assert files.is_regular(dest) and dest.read_bytes() == b"x" * 1000 and dest.stat().st_mtime == 1_600_000_000
    with pytest.raises(FileNotFoundError):
        files.read_bytes(tmp_path / "gone", limit=10)


def test_scan_lists_regular_files_and_records_the_rest(tmp_path, fifo):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "hw.ipynb").write_text("{}")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    (tmp_path / "passwd").symlink_to("/etc/passwd")
    (tmp_path / "etc").symlink_to("/etc")
    tree = bounded(files.scan_tree, tmp_path, ignore={".git"})
    assert [str(p) for p in tree.files] == ["d/hw.ipynb"] and tree.size == 2
    assert [(str(p), k) for p, k in tree.skipped] == [("etc", "symlink"), ("passwd", "symlink"),
                                                      ("reply.json", "fifo")]


def test_a_pipe_swapped_in_after_the_look_opens_at_once_and_is_refused(fifo, monkeypatch):
    """The race the look cannot close: what `open` gets is checked again on the open descriptor."""
    regular = os.stat(__file__)
    real_stat = os.stat
    monkeypatch.setattr(files.os, "stat", lambda *a, **kw: regular if a[0] == str(fifo) else real_stat(*a, **kw))
    refused(files.read_bytes, fifo, kind="fifo", release=fifo, limit=100)


def test_a_folder_nested_thousands_deep_is_removed(tmp_path):
    """shutil.rmtree alone raises RecursionError here: a notebook could leave its run folder behind."""
    root = tmp_path / "run"
    os.makedirs(root)
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(3000):  # by descriptors: the path itself would pass PATH_MAX
            os.mkdir("d", dir_fd=fd)
            fd, old = os.open("d", os.O_RDONLY, dir_fd=fd), fd
            os.close(old)
    finally:
        os.close(fd)
    files.remove_tree(root)
    assert not root.exists()
