"""A TA's mistakes about the data, each as the command a TA types and what must come of it: no class is
ever graded on a stand-in nobody asked for, and every result says what data it was graded on.

The rule (davar/datasets/__init__.py): `davar data ID [--data DIR]` builds the stand-in; grade, check and
audit-key build it only into the default root (the course's `data/`); an explicit root (--data or
$DAVAR_DATA) without the data, or profile "real" without it, stops the command before anyone is graded.
No notebook runs here: each command stops at (or just past) the data check.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from davar import catalogue, cli, commands
from davar.assignment import find
from davar.errors import DataNotFound, InvalidSubmission
from davar.grading import batch

ID = "iust-dl-1403-hw2"  # the smallest assignment: one dataset (digits)


@pytest.fixture
def assignment(repo, monkeypatch) -> str:
    monkeypatch.delenv("DAVAR_DATA", raising=False)
    return str(repo / "graders" / ID)


@pytest.fixture
def submissions(tmp_path) -> Path:
    folder = tmp_path / "submissions"
    folder.mkdir()
    return folder


def _files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*")) if folder.exists() else []


def test_a_typo_in_data_stops_grade_before_anyone_is_graded(assignment, submissions, tmp_path):
    typo, out = tmp_path / "dta", tmp_path / "reports"
    with pytest.raises(DataNotFound) as caught:
        commands.grade(assignment=assignment, path=submissions, out=out, data_root=typo, sandbox_level="none",
                       allow_weak_sandbox=True)
    e = caught.value
    assert e.key == "data_not_found" and e.values["path"] == str(typo / ID)
    assert str(typo / ID) in str(e) and f"davar data {ID} --data {typo}" in str(e)
    assert str(typo / ID) in catalogue.text(e.key, "fa", e.values)  # the same message in Persian
    assert not typo.exists()  # no stand-in built under the typo
    assert not (out / ID / "gradebook.sqlite").exists() and _files(out) == []


def test_the_cli_says_so_in_one_line_with_exit_code_2(assignment, submissions, tmp_path, capsys):
    typo, out = tmp_path / "dta", tmp_path / "reports"
    code = cli.main(["grade", assignment, str(submissions), "--data", str(typo), "--out", str(out),
                     "--sandbox", "none", "--allow-weak-sandbox"])
    printed = capsys.readouterr()
    assert code == 2 and "Traceback" not in printed.out + printed.err
    assert str(typo / ID) in " ".join((printed.out + printed.err).split())
    assert not typo.exists() and not out.exists()


def test_davar_data_pointing_at_an_empty_folder_stops_check_and_audit_key(assignment, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("DAVAR_DATA", str(empty))
    notebook = tmp_path / "HW2_CNN.ipynb"  # never read: the data check comes first
    for command in (lambda: commands.check(assignment=assignment, notebook=notebook, level="none"),
                    lambda: commands.audit_key(assignment=assignment, sandbox_level="none", allow_weak_sandbox=True)):
        with pytest.raises(DataNotFound) as caught:
            command()
        assert caught.value.key == "data_not_found" and caught.value.values["path"] == str(empty / ID)
    assert _files(empty) == []


def test_profile_real_never_builds_even_at_the_default_root(repo, tmp_path, monkeypatch, submissions):
    monkeypatch.delenv("DAVAR_DATA", raising=False)
    course = tmp_path / "course"
    shutil.copytree(repo / "graders" / ID, course / "graders" / ID)  # its default root: course/data
    with pytest.raises(DataNotFound) as caught:
        commands.grade(assignment=str(course / "graders" / ID), path=submissions, out=tmp_path / "reports",
                       profile="real", sandbox_level="none", allow_weak_sandbox=True)
    assert caught.value.key == "data_not_found_real" and caught.value.values["path"] == str(course / "data" / ID)
    assert not (course / "data").exists() and not (tmp_path / "reports").exists()
    with pytest.raises(DataNotFound) as caught:  # an explicit root: the same
        commands.prepare_data(assignment=str(course / "graders" / ID), profile="real", data_root=tmp_path / "real")
    assert caught.value.key == "data_not_found_real" and not (tmp_path / "real").exists()


def test_davar_data_then_grade_with_the_same_data_records_the_standin(assignment, submissions, tmp_path):
    root = tmp_path / "data"
    assert cli.main(["data", assignment, "--data", str(root)]) == 0  # the TA asks for the stand-in there
    record = commands.prepare_data(assignment=assignment, data_root=root)
    a = find(assignment)
    assert record.standin and record.profile == "standin"
    assert record.digest == batch.data_digest(a, data_root=root, profile="standin")
    # grade gets past the data check to the submissions (none here), building nothing more
    before = _files(root)
    with pytest.raises(InvalidSubmission) as caught:
        commands.grade(assignment=assignment, path=submissions, out=tmp_path / "reports", data_root=root,
                       sandbox_level="none", allow_weak_sandbox=True)
    assert caught.value.key == "no_notebook" and _files(root) == before
    # the same folders without davar's marker are the course's real data
    for marker in (root / ID).glob(".built-*"):
        marker.unlink()
    real = commands.prepare_data(assignment=assignment, profile="real", data_root=root)
    assert not real.standin and real.profile == "real" and real.digest != record.digest


def test_two_commands_building_the_same_data_at_once_take_turns(tmp_path):
    """`davar data` typed in two terminals (or two batches started at once on a fresh clone): the second waits
    for the first's lock beside the data root, then finds the stand-in built and leaves it as it is."""
    import fcntl
    import os
    import subprocess
    import sys

    root = tmp_path / "data"
    root.mkdir()
    lock_file = root / f".{ID}.lock"
    with lock_file.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a first command building
        command = [sys.executable, "-m", "davar.cli", "data", ID, "--data", str(root)]
        second = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        inode = f":{os.stat(lock_file).st_ino} "
        deadline = time.monotonic() + 120  # no timing: the limit only ends a test that would never end
        while not any("->" in line and inode in line for line in Path("/proc/locks").read_text().splitlines()):
            assert second.poll() is None, second.stderr.read() if second.stderr else ""
            assert time.monotonic() < deadline, "the second command never waited for the lock"
            time.sleep(0.05)
        assert _files(root / ID) == []  # waiting, not building
    assert second.wait(timeout=300) == 0
    built = {p: p.stat().st_mtime_ns for p in _files(root / ID)}
    assert built and subprocess.run(command, capture_output=True).returncode == 0
    assert {p: p.stat().st_mtime_ns for p in _files(root / ID)} == built  # found built: nothing written again
