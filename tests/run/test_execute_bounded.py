"""A notebook that leaves named pipes, links and folders where the harness reads after its run is graded to
the end: the kernel side writes the snapshot and its replies over the pipes and links (where the kernel started,
whatever folder the notebook moved to), a folder at an array's name fails that one answer, and what the
submission itself brought is refused and recorded with its fa/en message (davar.files through intake,
execute, kernels and the bridge; tests/probe/test_bridge.py has the bridge's refusals of what a kernel plants).

Before davar.files, the namespace snapshot was opened without O_NONBLOCK: the worker waited on the pipe
forever, and with it the batch.  The grading runs in a thread joined with a generous timeout, so a
regression fails this test instead of hanging the suite."""

import os
import shutil
import threading
from pathlib import Path

import pytest

from davar import catalogue, files
from davar.assignment import load
from davar.grading.grade import grade_submission
from davar.intake import inbox
from davar.run import sandbox

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "leaves_fifos_where_the_harness_reads" / "notebook.ipynb"
GUARD_S = 300  # far above the ~5 s a run takes: only a run that blocks forever reaches it

GRADER = '''
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=1)
def test_plain_value(sub):
    expect(sub.value("answer") == 42, "assertion", detail="answer")

@pytest.mark.davar(question="1", points=1)
@pytest.mark.parametrize("how", ["fifo", "device"])
def test_planted_reply_and_array(sub, how):
    sub.call("plant", how)
    expect(sub.array("small").sum() == 15 and sub.value("answer") == 42, "assertion", detail=how)

@pytest.mark.davar(question="1", points=1)
def test_planted_folder(sub):
    sub.call("plant", "folder")
    sub.array("small")
'''


@pytest.fixture
def planted(tmp_path, one_question):
    """The assignment, and the student's folder: the notebook, a named pipe and a link to a host file."""
    graders = one_question(tmp_path / "graders" / "pipes", GRADER, points=4, notebook="notebook.ipynb",
                           extra='[intake]\nallow = ["*.csv", "passwd"]')
    (tmp_path / "data" / "pipes" / "public").mkdir(parents=True)
    student = tmp_path / "subs" / "s1"
    student.mkdir(parents=True)
    shutil.copy(NOTEBOOK, student / "notebook.ipynb")
    os.mkfifo(student / "data.csv")
    (student / "passwd").symlink_to("/etc/passwd")
    return load(graders), tmp_path


def _render(message):
    return catalogue.render(message, "en"), catalogue.render(message, "fa")


def _graded(submission, spec, root, level):
    """`grade_submission` in a thread joined with `GUARD_S`: its result, or a failure if it blocks."""
    done = {}
    grading = threading.Thread(daemon=True, target=lambda: done.setdefault("result", grade_submission(
        submission, spec, level=level, data_root=root / "data", snapshot_dir=root / "snapshots")))
    grading.start()
    grading.join(GUARD_S)
    assert not grading.is_alive(), "grading blocked on something the notebook left"
    return done["result"]


def test_pipes_links_and_folders_where_the_harness_reads_are_refused_and_recorded(planted):
    spec, root = planted
    [submission] = inbox.collect(root / "subs", spec)
    result = _graded(submission, spec, root, sandbox.choose_level("auto"))

    assert result.status == "graded", [_render(m) for m in result.messages]
    assert result.executions[0].status == "ok"
    outcomes = {t.id: (t.outcome, [catalogue.render(m, "en") for m in t.messages]) for t in result.questions[0].tests}
    for test in ("plain_value", "planted_reply_and_array[fifo]", "planted_reply_and_array[device]"):
        assert outcomes[test][0] == "passed", (test, outcomes[test])
    outcome, messages = outcomes["planted_folder"]  # the notebook's folder is where the array goes: no answer
    assert outcome == "failed" and len(messages) == 1 and "IsADirectoryError" in messages[0], messages
    assert result.score == 3

    notes = {m.key: m for m in result.messages}
    assert "snapshot_not_saved" not in notes  # written over the pipes, in the folder the kernel started in
    assert files.is_regular(root / "snapshots" / "notebook.ipynb.json")  # the manifest; its blobs in root/objects
    en, fa = _render(notes["submission_skipped"])  # never opened, never copied into the sandbox
    assert "2 entries" in en and "data.csv" in en and "passwd" in en and "data.csv" in fa
    assert {str(p) for p in submission.files} == {"notebook.ipynb"}


def test_a_file_swapped_for_a_pipe_after_intake_is_an_invalid_submission(planted):
    """What intake listed is copied into the sandbox through davar.files too: a pipe put in its place
    between intake and the run (a batch can take hours) is refused, never opened; no kernel starts."""
    spec, root = planted
    data = root / "subs" / "s1" / "data.csv"
    data.unlink()
    data.write_text("1,2\n")
    [submission] = inbox.collect(root / "subs", spec)
    data.unlink()
    os.mkfifo(data)
    result = _graded(submission, spec, root, "none")
    assert result.status == "invalid_submission" and result.executions == ()
    en, fa = _render(result.messages[0])
    assert en == "data.csv was not read: it is a named pipe (FIFO), not a regular file." and "لولهٔ نام‌دار" in fa
