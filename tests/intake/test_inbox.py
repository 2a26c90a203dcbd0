"""davar.intake.inbox: folders, notebooks, zips, Moodle and Quera-style exports; lenient notebook names;
student ids and names by pattern; the export's times; unsafe zips refused."""

import os
import stat
import threading
import tomllib
import zipfile
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import nbformat
import pytest

from davar import catalogue, commands
from davar.assignment import load as load_assignment
from davar.errors import InvalidSubmission
from davar.grading.grade import grade_submission
from davar.intake import inbox
from davar.run import sandbox

ROOT = Path(__file__).resolve().parents[2]
HW2 = "iust-dl-1403-hw2"
pytestmark = pytest.mark.corpus(HW2)
TEHRAN = ZoneInfo("Asia/Tehran")
WHEN = (2025, 4, 3, 21, 15, 0)  # a DOS time in a zip (local time of the server that wrote it)


def notebook(answer: int = 42) -> str:
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"answer = {answer}")]))


def assignment(tmp_path, notebooks=("hw.ipynb",), intake_toml: str = ""):
    d = tmp_path / "graders" / "a"
    d.mkdir(parents=True, exist_ok=True)
    listed = ", ".join(f'"{n}"' for n in notebooks)
    (d / "assignment.toml").write_text(
        f'id = "a"\ntitle = {{ fa = "آ", en = "a" }}\nnotebooks = [{listed}]\n{intake_toml}\n'
        '[[questions]]\nid = "1"\npoints = 1\ntitle = { fa = "یک", en = "one" }\n')
    return load_assignment(d)


def make_zip(path: Path, entries: dict[str, bytes | str], *, when=WHEN) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (stat.S_IFDIR | 0o755) << 16 if name.endswith("/") else (stat.S_IFREG | 0o644) << 16
            z.writestr(info, data.encode() if isinstance(data, str) else data)
    return path


def local_time(when=WHEN) -> str:
    return datetime(*when, tzinfo=TEHRAN).astimezone(ZoneInfo("UTC")).isoformat(timespec="seconds")


# ---------------------------------------------------------------- folders and names


def test_a_folder_of_students_a_student_and_a_lone_notebook(tmp_path):
    a = assignment(tmp_path)
    for s in ("s1", "s2"):
        (tmp_path / "subs" / s).mkdir(parents=True)
        (tmp_path / "subs" / s / "hw.ipynb").write_text(notebook())
    (tmp_path / "subs" / "stray").mkdir()  # no notebook: still a student's folder, to be accounted for
    found = inbox.collect(tmp_path / "subs", a)
    assert [(s.student, s.problem and s.problem.key) for s in found] == [
        ("s1", None), ("s2", None), ("stray", "no_notebook")]
    [one] = inbox.collect(tmp_path / "subs" / "s1", a)
    assert one.student == "s1" and one.files == (Path("hw.ipynb"),)
    [lone] = inbox.collect(tmp_path / "subs" / "s2" / "hw.ipynb", a)
    assert lone.student == "hw" and lone.notebooks == {"hw.ipynb": tmp_path / "subs" / "s2" / "hw.ipynb"}
    with pytest.raises(InvalidSubmission) as e:
        inbox.collect(tmp_path / "nowhere", a)
    assert e.value.key == "no_such_path"


@pytest.mark.parametrize("submitted, expected", [
    ("HW2_CNN (1).ipynb", "HW2_CNN.ipynb"),
    ("hw2-cnn.ipynb", "HW2_CNN.ipynb"),
    ("Copy of HW2_CNN.ipynb", "HW2_CNN.ipynb"),
    ("HW2 CNN - Copy (2).ipynb", "HW2_CNN.ipynb"),
    ("DL_Q4[1].ipynb", "DL-Q4.ipynb"),
    ("dl q4.IPYNB", "DL-Q4.ipynb"),
])
def test_notebook_names_match_leniently(tmp_path, submitted, expected):
    a = assignment(tmp_path, notebooks=("HW2_CNN.ipynb", "DL-Q4.ipynb"))
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / submitted).write_text(notebook())
    [s] = inbox.collect(tmp_path / "s", a)
    assert s.notebooks == {expected: tmp_path / "s" / submitted}


def test_exact_name_wins_and_one_file_never_serves_two_names(tmp_path):
    a = assignment(tmp_path, notebooks=("HW2.ipynb", "HW2_Q4.ipynb", "HW2_Q5.ipynb"))
    s = tmp_path / "s"
    s.mkdir()
    for name in ("hw2 (1).ipynb", "HW2_Q4.ipynb", "HW2_Q4 (1).ipynb", "HW2-Q5[2].ipynb"):
        (s / name).write_text(notebook())
    [sub] = inbox.collect(s, a)
    assert {k: v.name for k, v in sub.notebooks.items()} == {
        "HW2.ipynb": "hw2 (1).ipynb", "HW2_Q4.ipynb": "HW2_Q4.ipynb", "HW2_Q5.ipynb": "HW2-Q5[2].ipynb"}
    # two expected names alike once leniently compared: only exact names count for them
    b = assignment(tmp_path / "b", notebooks=("HW2.ipynb", "hw-2.ipynb"))
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "HW2 (1).ipynb").write_text(notebook())
    (tmp_path / "t" / "hw-2.ipynb").write_text(notebook())
    [sub] = inbox.collect(tmp_path / "t", b)
    assert {k: v.name for k, v in sub.notebooks.items()} == {"hw-2.ipynb": "hw-2.ipynb"}


def test_a_lone_notebook_of_any_name_serves_a_one_notebook_assignment(tmp_path):
    a = assignment(tmp_path)
    (tmp_path / "subs" / "s1" / "work").mkdir(parents=True)
    (tmp_path / "subs" / "s1" / "work" / "Untitled3.ipynb").write_text(notebook())
    (tmp_path / "subs" / "s1" / "work" / "data.csv").write_text("1,2\n")
    [s] = inbox.collect(tmp_path / "subs", a)
    assert s.notebooks == {"hw.ipynb": tmp_path / "subs" / "s1" / "work" / "Untitled3.ipynb"}
    assert s.root == tmp_path / "subs" / "s1" / "work"  # the notebook's own folder: its relative paths work
    assert s.files == (Path("Untitled3.ipynb"),) and s.excluded == (Path("data.csv"),)  # no `[intake] allow`


def test_student_pattern_gives_id_and_display_name(tmp_path):
    a = assignment(tmp_path, intake_toml='[intake]\nstudent_pattern = \'^(?P<id>\\d{7,9})[ _-]+(?P<name>.+)$\'')
    for folder in ("9912345_Ali Rezaei", "9954321 - Sara Ahmadi", "no-number"):
        (tmp_path / "subs" / folder).mkdir(parents=True)
        (tmp_path / "subs" / folder / "hw.ipynb").write_text(notebook())
    found = {s.student: s.display_name for s in inbox.collect(tmp_path / "subs", a)}
    assert found == {"9912345": "Ali Rezaei", "9954321": "Sara Ahmadi", "no-number": ""}


def test_two_folders_with_one_student_id_are_refused(tmp_path):
    a = assignment(tmp_path, intake_toml='[intake]\nstudent_pattern = \'^(?P<id>\\d+)\'')
    for folder in ("9912345_a", "9912345_b"):
        (tmp_path / "subs" / folder).mkdir(parents=True)
        (tmp_path / "subs" / folder / "hw.ipynb").write_text(notebook())
    with pytest.raises(InvalidSubmission) as e:
        inbox.collect(tmp_path / "subs", a)
    assert e.value.key == "duplicate_student" and e.value.values["student"] == "9912345"


# ---------------------------------------------------------------- exports


def test_moodle_download_folders_and_flat_files(tmp_path):
    a = assignment(tmp_path, notebooks=("HW2_CNN.ipynb",))
    archive = make_zip(tmp_path / "moodle.zip", {
        "Ali Rezaei_1001_assignsubmission_file_/HW2_CNN (1).ipynb": notebook(),
        "Ali Rezaei_1001_assignsubmission_onlinetext_/onlinetext.html": "<p>see the notebook</p>",
        "Sara Ahmadi_1002_assignsubmission_file_/hw2/HW2_CNN.ipynb": notebook(41),
        "Sara Ahmadi_1002_assignsubmission_file_/hw2/weights.txt": "0.5",
        "Reza Karimi_1003_assignsubmission_onlinetext_/onlinetext.html": "<p>no file</p>",
    })
    subs = {s.student: s for s in inbox.collect(archive, a)}
    assert {k: s.display_name for k, s in subs.items()} == {"1001": "Ali Rezaei", "1002": "Sara Ahmadi",
                                                            "1003": "Reza Karimi"}
    assert subs["1001"].notebooks["HW2_CNN.ipynb"].name == "HW2_CNN (1).ipynb"
    assert subs["1002"].root.name == "hw2" and subs["1002"].files == (Path("HW2_CNN.ipynb"),)
    assert subs["1002"].excluded == (Path("weights.txt"),)
    assert subs["1003"].notebooks == {}  # in the export, with nothing to run: reported, not dropped
    assert subs["1001"].submitted_at == subs["1002"].submitted_at == local_time()
    # the older flat layout, already unpacked in a folder
    flat = tmp_path / "flat"
    flat.mkdir()
    (flat / "Ali Rezaei_1001_assignsubmission_file_HW2_CNN.ipynb").write_text(notebook())
    (flat / "Ali Rezaei_1001_assignsubmission_file_notes.txt").write_text("hi")
    [s] = inbox.collect(flat, a)
    assert (s.student, s.display_name) == ("1001", "Ali Rezaei")
    assert s.files == (Path("HW2_CNN.ipynb"),) and s.excluded == (Path("notes.txt"),)


def test_a_student_zip_inside_the_export_is_unpacked_once(tmp_path):
    a = assignment(tmp_path, notebooks=("HW2_CNN.ipynb",))
    inner = make_zip(tmp_path / "inner.zip", {"HW2/HW2_CNN.ipynb": notebook(), "HW2/deeper.zip": b"PK\x05\x06" + b"\0" * 18})
    archive = make_zip(tmp_path / "moodle.zip", {
        "Ali Rezaei_1001_assignsubmission_file_/9912345_HW2.zip": inner.read_bytes()})
    [s] = inbox.collect(archive, a)
    assert s.notebooks["HW2_CNN.ipynb"].relative_to(s.root) == Path("HW2_CNN.ipynb")
    assert s.root.parent.name == "9912345_HW2" and (s.root / "deeper.zip").is_file()  # not unpacked again


def test_quera_style_export(tmp_path):
    a = assignment(tmp_path, notebooks=("HW2_CNN.ipynb",))
    result = ("------------- user information -------------\nidentity: 9912345\nusername: ali\n"
              "full name: علی رضایی\nemail address: ali@example.com\n------------- result -------------\n")
    archive = make_zip(tmp_path / "quera.zip", {
        "HW2 CNN/9912345/result.txt": result, "HW2 CNN/9912345/HW2_CNN.ipynb": notebook(),
        "HW2 CNN/9954321/hw2_cnn.ipynb": notebook()})
    subs = {s.student: s.display_name for s in inbox.collect(archive, a)}
    assert subs == {"9912345": "علی رضایی", "9954321": ""}


def test_a_zip_of_one_student_and_utf8_names_without_the_flag(tmp_path, monkeypatch):
    a = assignment(tmp_path, notebooks=("تمرین.ipynb",))
    monkeypatch.setattr(zipfile.ZipInfo, "_encodeFilenameFlags",
                        lambda self: (self.filename.encode("utf-8"), self.flag_bits & ~0x800))
    archive = make_zip(tmp_path / "9912345.zip", {"تمرین (1).ipynb": notebook()})
    monkeypatch.undo()
    with zipfile.ZipFile(archive) as z:
        assert not z.infolist()[0].flag_bits & 0x800
    [s] = inbox.collect(archive, a)
    assert s.student == "9912345" and s.notebooks["تمرین.ipynb"].name == "تمرین (1).ipynb"


# ---------------------------------------------------------------- unsafe zips


def _refused(tmp_path, entries, key, *, a=None, raw=None):
    a = a or assignment(tmp_path)
    archive = raw or make_zip(tmp_path / "bad.zip", entries)
    before = set(tmp_path.parent.iterdir())
    with pytest.raises(InvalidSubmission) as e:
        inbox.collect(archive, a)
    assert e.value.key == key, e.value.values
    assert set(tmp_path.parent.iterdir()) == before  # nothing written beside it
    return e.value


@pytest.mark.parametrize("entry", ["../evil.ipynb", "s1/../../evil.ipynb", "/etc/evil.ipynb",
                                   "C:\\evil.ipynb", "s1\\..\\..\\evil.ipynb"])
def test_zip_slip_and_absolute_paths_are_refused(tmp_path, entry):
    err = _refused(tmp_path, {"s1/hw.ipynb": notebook(), entry: notebook()}, "zip_unsafe_path")
    assert err.values["entry"] == entry and err.values["archive"] == "bad.zip"


def test_symlinks_are_refused(tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("s1/hw.ipynb", notebook())
        link = zipfile.ZipInfo("s1/data")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, "/etc/passwd")
    _refused(tmp_path, None, "zip_special_file", raw=archive)


def test_duplicate_and_encrypted_entries_are_refused(tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("s1/hw.ipynb", notebook())
        with pytest.warns(UserWarning, match="Duplicate name"):
            z.writestr("s1/hw.ipynb", notebook(41))
    _refused(tmp_path, None, "zip_duplicate_entry", raw=archive)
    archive.unlink()
    data = bytearray(make_zip(archive, {"s1/hw.ipynb": notebook()}).read_bytes())
    central = data.index(b"PK\x01\x02")
    data[6] |= 0x1  # the "encrypted" flag, in the local header and the central directory
    data[central + 8] |= 0x1
    archive.write_bytes(data)
    _refused(tmp_path, None, "zip_encrypted", raw=archive)


def test_bombs_are_refused_by_size_and_file_count(tmp_path):
    small = assignment(tmp_path, intake_toml="[intake]\nmax_unpacked_mb = 1\nmax_files = 50")
    err = _refused(tmp_path, {"s1/hw.ipynb": notebook(), "s1/zeros.bin": b"\0" * (2 * 2**20)}, "zip_too_large", a=small)
    assert err.values["limit_mb"] == 1
    (tmp_path / "bad.zip").unlink()
    _refused(tmp_path, {"s1/hw.ipynb": notebook(), **{f"s1/f{i}.txt": "x" for i in range(60)}},
             "zip_too_many_files", a=small)
    (tmp_path / "bad.zip").unlink()
    inner = make_zip(tmp_path / "inner.zip", {"zeros.bin": b"\0" * (2 * 2**20)})  # compresses to a few KB
    err = _refused(tmp_path, {"s1/hw.ipynb": notebook(), "s1/more.zip": inner.read_bytes()}, "zip_too_large", a=small)
    assert err.values["archive"] == "bad.zip/s1/more.zip"


def test_a_broken_zip_is_refused(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really a zip")
    _refused(tmp_path, None, "zip_unreadable", raw=tmp_path / "bad.zip")


# ---------------------------------------------------------------- acceptance: a Moodle zip of the corpus


@pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")
def test_a_moodle_zip_of_the_sample_corpus_grades_like_the_folder(corpus, tmp_path):
    # three of the question 5 samples (HW2_CNN.ipynb alone): one that trains to full marks, one under the
    # threshold, one that raises; their names and files cover what a Moodle export does to them, and the others
    # (another training each, or never_ends's 150 s cell limit) nothing a zip could change
    samples = ["passes", "raises_mid_notebook", "under_threshold"]
    ids = {f"{2001 + i}": sample for i, sample in enumerate(samples)}
    names = {pid: sample.replace("_", " ").title() for pid, sample in ids.items()}  # Moodle: no "_" in names
    entries = {}
    for i, (pid, sample) in enumerate(ids.items()):
        nb = "HW2_CNN.ipynb" if i % 2 else "HW2_CNN (1).ipynb"
        entries[f"{names[pid]}_{pid}_assignsubmission_file_/{nb}"] = (ROOT / "submissions" / HW2 / sample / "HW2_CNN.ipynb").read_bytes()
        entries[f"{names[pid]}_{pid}_assignsubmission_onlinetext_/onlinetext.html"] = "<p>done</p>"
    archive = make_zip(tmp_path / "moodle-download.zip", entries)
    # without the workers' warm pools: the folder's batch had them, so this also compares pool on and off, down to
    # every measured value the graders report; its two workers, so that each kernel has the thread count the
    # folder's had (corpus fixture)
    zipped = {r.student: r for r in commands.grade(assignment=str(ROOT / "graders" / HW2), path=archive,
                                                   out=tmp_path / "out", warm=False, workers=2)}
    _, folder = corpus(HW2)
    assert set(zipped) == set(ids)

    def outcomes(r):
        return {t.id: (t.outcome, t.points, t.messages) for q in r.questions for t in q.tests}

    for pid, sample in ids.items():
        z, f = zipped[pid], folder[sample]
        assert (z.status, z.score, outcomes(z)) == (f.status, f.score, outcomes(f)), sample
        expected = tomllib.loads((ROOT / "submissions" / HW2 / sample / "expected.toml").read_text("utf-8"))
        assert z.status == expected["status"] and z.score == pytest.approx(expected["score"])
        assert z.display_name == names[pid]
        assert z.submitted_at == local_time()  # the export's time, recorded; lateness is a view's
        assert (tmp_path / "out" / HW2 / pid / "result.json").is_file()


def test_a_submission_repository_is_dated_by_its_commit(tmp_path):
    """CI on a submission repo: the time a notebook was committed, not when the runner checked it out."""
    import os
    import subprocess

    from davar.assignment import load

    (tmp_path / "graders" / "g").mkdir(parents=True)
    (tmp_path / "graders" / "g" / "assignment.toml").write_text(
        'id = "g"\ntitle = { fa = "گ", en = "g" }\nnotebooks = ["hw.ipynb"]\n')
    repo = tmp_path / "student"
    repo.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), repo / "hw.ipynb")
    env = {**os.environ, "GIT_AUTHOR_DATE": "2023-11-24T20:30:00+03:30", "GIT_COMMITTER_DATE": "2023-11-24T20:30:00+03:30",
           "GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@x", "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@x"}
    for cmd in (["init", "-q"], ["add", "hw.ipynb"], ["commit", "-qm", "hw"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env=env)
    [sub] = inbox.collect(repo, load(tmp_path / "graders" / "g"))
    assert sub.submitted_at == "2023-11-24T20:30:00+03:30"


# ---------------------------------------------------------------- what a submitted folder holds besides files


def _bounded(fn, *args):
    """`fn(*args)` in a thread joined with a timeout: a regression that blocks fails instead of hanging."""
    out = {}
    reader = threading.Thread(target=lambda: out.setdefault("value", fn(*args)), daemon=True)
    reader.start()
    reader.join(20)
    assert not reader.is_alive(), "intake blocked on something a student left"
    return out["value"]


def test_pipes_links_and_devices_in_a_students_folder_are_listed_never_opened(tmp_path):
    a = assignment(tmp_path)
    s1, s2 = tmp_path / "subs" / "s1", tmp_path / "subs" / "s2"
    for d in (s1, s2):
        d.mkdir(parents=True)
    (s1 / "hw.ipynb").write_text(notebook())
    os.mkfifo(s1 / "data.csv")
    os.mkfifo(s1 / "result.txt")  # where a Quera-style export has the student's identity
    (s1 / "passwd").symlink_to("/etc/passwd")
    (s1 / "etc").symlink_to("/etc")
    os.mkfifo(s2 / "hw.ipynb")  # a pipe named like the notebook is no notebook
    s1_, s2_ = _bounded(inbox.collect, tmp_path / "subs", a)
    assert s1_.student == "s1" and [str(p) for p in s1_.files] == ["hw.ipynb"] and s1_.problem is None
    [note] = s1_.notes
    assert note.key == "submission_skipped" and note.values == {"count": 4, "entries": "data.csv, etc, passwd, result.txt"}
    assert "4 entries" in catalogue.render(note, "en") and "data.csv" in catalogue.render(note, "fa")
    assert s2_.problem.key == "no_notebook" and [m.values["entries"] for m in s2_.notes] == ["hw.ipynb"]


def test_a_pipe_in_a_flat_moodle_download_is_not_copied(tmp_path):
    a = assignment(tmp_path)
    export = tmp_path / "moodle"
    export.mkdir()
    (export / "Ali Rezaei_123_assignsubmission_file_hw.ipynb").write_text(notebook())
    os.mkfifo(export / "Ali Rezaei_123_assignsubmission_file_data.csv")
    [sub] = _bounded(inbox.collect, export, a)
    assert sub.student == "123" and [str(p) for p in sub.files] == ["hw.ipynb"]
    assert [(m.key, m.values["entries"]) for m in sub.notes] == [
        ("submission_skipped", "Ali Rezaei_123_assignsubmission_file_data.csv")]


def test_a_folder_over_the_intake_limit_is_not_read_and_not_run(tmp_path):
    a = assignment(tmp_path, intake_toml='[intake]\nmax_unpacked_mb = 1\nallow = ["*.csv"]\n')
    student = tmp_path / "subs" / "s1"
    student.mkdir(parents=True)
    (student / "hw.ipynb").write_text(notebook())
    with open(student / "data.csv", "wb") as f:
        f.truncate(2**40)  # a terabyte, sparse: hashing it would take hours
    [sub] = _bounded(inbox.collect, tmp_path / "subs", a)
    assert sub.problem.key == "submission_too_large" and sub.problem.values["limit_mb"] == 1
    result = grade_submission(sub, a, level="none")
    assert result.status == "invalid_submission" and result.executions == ()
    assert "1 MB" in catalogue.render(result.messages[0], "en")


# ---------------------------------------------------------------- what enters the sandbox


def test_weights_stay_out_and_only_the_notebook_and_allowed_files_are_copied(tmp_path):
    a = assignment(tmp_path, intake_toml='[intake]\nallow = ["*.csv"]\n')
    student = tmp_path / "subs" / "s1"
    (student / "data").mkdir(parents=True)
    (student / "hw.ipynb").write_text(notebook())
    (student / "model.pt").write_bytes(b"PK\x03\x04" + b"\0" * 60)  # what torch.save writes
    (student / "w.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 60)
    (student / "data" / "Train.CSV").write_text("x,y\n1,2\n")  # case does not count, nor depth
    [sub] = inbox.collect(tmp_path / "subs", a)
    assert set(sub.files) == {Path("hw.ipynb"), Path("data/Train.CSV")}
    assert sub.excluded == (Path("model.pt"), Path("w.h5"))
    [note] = sub.notes
    assert (note.key, note.variant) == ("submission_excluded", "weights_allowed")
    assert note.values["entries"] == "model.pt, w.h5"
    en, fa = catalogue.render(note, "en"), catalogue.render(note, "fa")
    assert "model.pt, w.h5" in en and "not copied into the sandbox" in en and "*.csv" in en
    assert "model.pt, w.h5" in fa and "محیط ایزوله کپی نشد" in fa
    # what is copied into the sandbox is `files`: the run's working folder holds no weights
    from davar.run import execute
    work = tmp_path / "work"
    execute._copy_submission(work, sub, limit=2**20)
    assert sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file()) == ["data/Train.CSV", "hw.ipynb"]


def test_a_model_under_an_allowed_name_and_other_files_are_left_out_each_with_its_message(tmp_path):
    a = assignment(tmp_path, intake_toml='[intake]\nallow = ["*.csv", "*.npz"]\n')
    student = tmp_path / "subs" / "s1"
    student.mkdir(parents=True)
    (student / "hw.ipynb").write_text(notebook())
    (student / "labels.csv").write_bytes(b"\x80\x04\x95" + b"\0" * 20)  # a pickle renamed
    (student / "arrays.npz").write_bytes(b"PK\x03\x04" + b"\0" * 20)  # a weight kind the TA lets in
    (student / "helpers.py").write_text("x = 1\n")
    (student / "ckpt.data-00000-of-00001").write_bytes(b"\0" * 8)  # a TensorFlow checkpoint's variables
    (student / "extra.ipynb").write_bytes(b"PK\x03\x04" + b"\0" * 20)  # torch.save("extra.ipynb")
    (student / "notes.ipynb").write_text(notebook())  # another notebook enters
    [sub] = inbox.collect(tmp_path / "subs", a)
    assert set(sub.files) == {Path("hw.ipynb"), Path("notes.ipynb"), Path("arrays.npz")}
    assert {(m.variant, m.values["entries"]) for m in sub.notes} == {
        ("weights_allowed", "ckpt.data-00000-of-00001"), ("renamed", "extra.ipynb, labels.csv"),
        ("other_allowed", "helpers.py")}
    plain = inbox.collect(tmp_path / "subs", assignment(tmp_path / "b"))[0]  # no `allow`: notebooks only
    assert set(plain.files) == {Path("hw.ipynb"), Path("notes.ipynb")}
    assert {m.variant for m in plain.notes} == {"weights", "renamed", "other"}
    assert plain.digest != sub.digest


@pytest.mark.parametrize("head, kind", [
    (b"\x89HDF\r\n\x1a\n\0\0", "HDF5"), (b"\x93NUMPY\x01\x00", "NumPy"), (b"PK\x03\x04\x14\x00", "zip"),
    (b"\x80\x02}q\x00", "pickle"), (b"\x1c\x00\x00\x00TFL3", "TFLite"),
    ((40).to_bytes(8, "little") + b'{"w": {"dtype"', "safetensors"),
    (b"x,y\n1,2\n", None), (b"\x89PNG\r\n\x1a\n", None), (b"", None),
])
def test_serialised_formats_are_told_by_their_first_bytes(head, kind):
    assert inbox.serialised_format(head) == kind


def test_a_huge_weights_file_is_left_out_unread_and_does_not_count_against_the_limit(tmp_path):
    a = assignment(tmp_path, intake_toml="[intake]\nmax_unpacked_mb = 1\n")
    student = tmp_path / "subs" / "s1"
    student.mkdir(parents=True)
    (student / "hw.ipynb").write_text(notebook())
    with open(student / "weights.bin", "wb") as f:
        f.truncate(2**40)  # a terabyte, sparse: reading it would take hours
    [sub] = _bounded(inbox.collect, tmp_path / "subs", a)
    assert sub.problem is None and sub.files == (Path("hw.ipynb"),) and sub.excluded == (Path("weights.bin"),)


def test_the_samples_own_files_are_not_a_students(tmp_path):
    a = assignment(tmp_path)
    student = tmp_path / "subs" / "s1"
    student.mkdir(parents=True)
    (student / "hw.ipynb").write_text(notebook())
    for name in ("expected.toml", "mutations.toml"):
        (student / name).write_text("x = 1\n")
    [sub] = inbox.collect(tmp_path / "subs", a)
    assert sub.files == (Path("hw.ipynb"),) and sub.excluded == () and sub.notes == ()


def test_a_graded_run_sees_the_allowed_files_and_not_the_weights(tmp_path, one_question):
    """End to end: the kernel's working folder holds the notebook and the csv; the result names the weights."""
    graders = one_question(tmp_path / "graders" / "tiny", (
        "import pytest\nfrom davar import expect\n\n@pytest.mark.davar(question='1', points=1)\n"
        "def test_files(sub):\n    seen = sub.value('seen')\n"
        "    expect('data.csv' in seen and 'hw.ipynb' in seen and 'model.pt' not in seen, 'assertion', detail=str(seen))\n"),
        points=1, extra='[intake]\nallow = ["*.csv"]\n')
    student = tmp_path / "subs" / "s1"
    student.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os\nseen = os.listdir('.')")]),
                   student / "hw.ipynb")
    (student / "model.pt").write_bytes(b"PK\x03\x04" + b"\0" * 60)
    (student / "data.csv").write_text("x\n1\n")
    a = load_assignment(graders)
    [sub] = inbox.collect(tmp_path / "subs", a)
    level = "strict" if sandbox.detect().best == "strict" else "none"
    result = grade_submission(sub, a, level=level, data_root=tmp_path / "data")
    assert result.score == 1, result.questions
    assert [m.values["entries"] for m in result.messages if m.key == "submission_excluded"] == ["model.pt"]
