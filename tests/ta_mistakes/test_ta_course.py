"""TA mistakes with the course and the command line, each run as the TA runs it, with what must come
of it: davar finds its course as git finds its repository, or says it cannot; a typo'd id lists the
course's assignments; a bad option is refused by name; an error is a sentence, never a Python tuple."""

from pathlib import Path

import pytest

from davar import cli
from davar.assignment import COURSE_MARKER, course_root

ROOT = Path(__file__).resolve().parents[2]
HW = "iust-dl-1403-hw2"


def run(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_course_is_found_from_any_folder_inside_it(monkeypatch):
    monkeypatch.delenv("DAVAR_COURSE", raising=False)
    assert (ROOT / COURSE_MARKER).is_file()
    monkeypatch.chdir(ROOT / "submissions" / HW)
    assert course_root() == ROOT


def test_from_another_folder_nothing_is_read_or_written(tmp_path, monkeypatch, capsys):
    """`davar report` run outside the course used to read another folder's graders; now it stops."""
    monkeypatch.delenv("DAVAR_COURSE", raising=False)
    monkeypatch.chdir(tmp_path)
    code, out = run(capsys, "report", HW)
    assert code == 2 and "no course here" in out and "--course" in out
    assert list(tmp_path.iterdir()) == []


def test_course_option_and_variable(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DAVAR_COURSE", raising=False)
    monkeypatch.chdir(tmp_path)
    code, out = run(capsys, "--course", str(ROOT), "assign", HW, "--check")
    assert code == 0, out
    monkeypatch.setenv("DAVAR_COURSE", str(tmp_path))  # not a course: no davar.toml
    code, out = run(capsys, "assign", HW, "--check")
    assert code == 2 and "is not a course folder" in out


def test_a_typo_in_the_id_lists_the_assignments_and_the_closest(monkeypatch, capsys):
    monkeypatch.delenv("DAVAR_COURSE", raising=False)
    monkeypatch.chdir(ROOT)
    code, out = run(capsys, "assign", "iust-dl-1403-hw3", "--check")
    assert code == 2
    assert "iust-dl-1402-hw2, iust-dl-1402-hw3, iust-dl-1402-hw4, iust-dl-1403-hw2, iust-dl-theory" in out
    assert "did you mean" in out


@pytest.mark.parametrize("workers", ["0", "-1", "two"])
def test_workers_must_be_one_or_more(workers, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["grade", HW, "submissions", "--workers", workers])
    assert e.value.code == 2 and "--workers" in capsys.readouterr().err


def test_formats_may_have_spaces(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code, out = run(capsys, "report", HW, "--format", "csv, xlsx", "--out", str(tmp_path))
    assert code == 2 and "no gradebook" in out and "unknown format" not in out  # the formats were understood
    code, out = run(capsys, "report", HW, "--format", "csv, docx", "--out", str(tmp_path))
    assert code == 2 and "unknown format(s) docx" in out


def test_a_keyed_error_is_a_sentence_in_the_tas_language(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DAVAR_LANG", "fa")
    code, out = run(capsys, "grade", HW, str(tmp_path / "nowhere"), "--out", str(tmp_path / "out"),
                    "--allow-weak-sandbox")
    assert code == 2 and "وجود ندارد" in out and "('no_such_path'" not in out
    assert not (tmp_path / "out").exists()


def test_a_moodle_worksheet_matching_nobody_is_refused(tmp_path, monkeypatch, capsys):
    """Zero matches used to write a moodle.csv with only its header, exit 0."""
    from davar.book import gradebook
    from davar.results import QuestionResult, SandboxRecord, SubmissionResult, awaiting_manual

    monkeypatch.chdir(ROOT)
    book = tmp_path / HW / "gradebook.sqlite"
    for student in ("5001", "5002"):
        gradebook.add(book, SubmissionResult(
            assignment=HW, student=student, digest="d", status="graded", executions=(),
            sandbox=SandboxRecord(level="strict", network=False),
            questions=(QuestionResult(id="1", title={"fa": "", "en": ""}, max_points=1, manual=True,
                                      tests=(awaiting_manual(1),)),)))
    sheet = tmp_path / "worksheet.csv"
    sheet.write_text("Identifier,Full name,ID number,Email address\nParticipant 9,A,99,a@x\n", encoding="utf-8")
    code, out = run(capsys, "report", HW, "--out", str(tmp_path), "--format", "moodle", "--moodle-worksheet", str(sheet))
    assert code == 2 and "none of the 2 students" in out and not (tmp_path / HW / "moodle.csv").exists()
    sheet.write_text("Identifier,Full name,ID number,Email address\nParticipant 5001,A,99,a@x\n", encoding="utf-8")
    code, out = run(capsys, "report", HW, "--out", str(tmp_path), "--format", "moodle", "--moodle-worksheet", str(sheet))
    assert code == 0 and "left out of moodle.csv): 5002" in out and "Moodle grade left empty" in out and "5001" in out


def _graded_course(tmp_path: Path) -> tuple[Path, Path]:
    """A course whose one student was graded there, and the gradebook (out/a/gradebook.sqlite)."""
    from davar import assignment
    from davar.book import gradebook
    from davar.grading import batch
    from davar.results import QuestionResult, SandboxRecord, SubmissionResult, TestResult

    course = tmp_path / "course"
    (course / "graders" / "a").mkdir(parents=True)
    (course / COURSE_MARKER).write_text("", encoding="utf-8")
    (course / "graders" / "a" / "assignment.toml").write_text(
        'id = "a"\ntitle = { fa = "آ", en = "a" }\nnotebooks = ["n.ipynb"]\ndeadline = "1404-01-15T23:59"\n'
        '[[questions]]\nid = "1"\npoints = 1\ntitle = { fa = "یک", en = "one" }\n', encoding="utf-8")
    (course / "graders" / "a" / "test_one.py").write_text("def test_one():\n    pass\n", encoding="utf-8")
    a = assignment.load(course / "graders" / "a")
    book = tmp_path / "out" / "a" / "gradebook.sqlite"
    gradebook.add(book, SubmissionResult(
        assignment="a", student="s1", digest="d", status="graded", executions=(),
        sandbox=SandboxRecord(level="strict", network=False), submitted_at="2025-04-04T23:10:00+03:30",
        questions=(QuestionResult(id="1", title={"fa": "", "en": ""}, max_points=1, tests=(
            TestResult(id="t", title={"fa": "", "en": ""}, outcome="passed", points=1, max_points=1),)),)),
        graded_with=gradebook.GradedWith(graders=batch.graders_digest(a), config=batch.config_digest(a),
                                         folder=str(a.directory.resolve())))
    return course, book


def test_report_refuses_a_gradebook_graded_with_other_graders(tmp_path, monkeypatch, capsys):
    """`davar report` from another clone applied its own deadline and made a finished class late."""
    import shutil

    course, book = _graded_course(tmp_path)
    out = str(book.parent.parent)
    monkeypatch.setenv("DAVAR_COURSE", str(course))
    course_toml = course / "graders" / "a" / "assignment.toml"
    course_toml.write_text(course_toml.read_text("utf-8") + '[late]\npolicy = "none"\n', encoding="utf-8")
    assert run(capsys, "report", "a", "--out", out)[0] == 0  # a config edit in place is what report is for

    clone = tmp_path / "clone"
    shutil.copytree(course, clone)
    toml = clone / "graders" / "a" / "assignment.toml"
    toml.write_text(toml.read_text("utf-8").replace("1404-01-15", "1403-01-15"), encoding="utf-8")
    monkeypatch.setenv("DAVAR_COURSE", str(clone))
    before = (book.parent / "index.en.html").read_bytes()
    code, text = run(capsys, "report", "a", "--out", out)
    assert code == 2 and "Graded in another course folder: 1 student(s) of a (s1)" in text
    assert f"--course {course}" in text.replace("\n", "")
    assert (book.parent / "index.en.html").read_bytes() == before  # nothing rewritten
    assert run(capsys, "report", "a", "--out", out, "--accept-other-graders")[0] == 0

    (clone / "graders" / "a" / "test_one.py").write_text("def test_one():\n    assert False\n", encoding="utf-8")
    shutil.copy(clone / "graders" / "a" / "test_one.py", course / "graders" / "a" / "test_one.py")
    monkeypatch.setenv("DAVAR_COURSE", str(course))
    code, text = run(capsys, "--course", str(course), "report", "a", "--out", out, "--lang", "fa")
    assert code == 2 and "کد تصحیحی" in text  # the points were given by other code: in the TA's language
