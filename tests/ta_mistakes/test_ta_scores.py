"""TA mistakes with `davar scores`: each scenario is the command a TA runs (`davar.cli.main`) and what must
come of it: the exit code, the catalogue key of what is printed (in the TA's language), and what is and is
not written.  No silent wrong grade: a refused import stores nothing, a wrong --out creates nothing.

The gradebook is built by adding results directly (`gradebook.add`); no notebook runs."""

import hashlib
import io
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from davar import catalogue, cli, commands
from davar.book import gradebook, scores
from davar.errors import ScoresError
from davar.results import QuestionResult, SandboxRecord, SubmissionResult, TestResult

TOML = '''id = "hw"
title = { fa = "تمرین", en = "hw" }
notebooks = ["a.ipynb"]
[[questions]]
id = "1"
points = 5
title = { fa = "یک", en = "one" }
[[questions]]
id = "3"
points = 15
manual = true
title = { fa = "سه", en = "three" }
'''
STUDENTS = ("40012345", "40012346", "40098765")
HEADER = "student,question,points,comment,lang\n"


def _result(student: str) -> SubmissionResult:
    auto = QuestionResult(id="1", title={"fa": "", "en": ""}, max_points=5, tests=(
        TestResult(id="t", title={"fa": "", "en": ""}, outcome="passed", points=5, max_points=5),))
    manual = QuestionResult(id="3", title={"fa": "", "en": ""}, max_points=15, manual=True, tests=(
        TestResult(id="manual", title={"fa": "", "en": ""}, outcome="manual", points=0, max_points=15),))
    return SubmissionResult(assignment="hw", student=student, digest="d", status="graded", questions=(auto, manual),
                            executions=(), sandbox=SandboxRecord(level="strict", network=False))


class Course:
    """An assignment folder and a graded class under `out` (the --out of `davar grade`)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.assignment = tmp / "graders" / "hw"
        self.assignment.mkdir(parents=True)
        (self.assignment / "assignment.toml").write_text(TOML, encoding="utf-8")
        self.out = tmp / "reports"
        self.book = self.out / "hw" / "gradebook.sqlite"
        for s in STUDENTS:
            gradebook.add(self.book, _result(s))

    def csv(self, text: str, name: str = "ta.csv") -> Path:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return path

    def digest(self) -> str:
        return hashlib.sha256(self.book.read_bytes()).hexdigest()

    def stored(self) -> list[tuple[str, str, float]]:
        return [(s.student, s.question, s.points) for s in gradebook.manual(self.book, "hw")]

    def run(self, *argv: str, lang: str = "en") -> tuple[int, str]:
        """`davar …` as a TA types it; the exit code and everything printed, with runs of spaces made one."""
        cli.console = Console(file=(err := io.StringIO()), width=10_000)
        code = cli.main([*argv, "--lang", lang])
        return code, " ".join(err.getvalue().split())


@pytest.fixture
def course(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "console", cli.console)  # each run swaps it; put it back afterwards
    return Course(tmp_path)


def _refused(course: Course, argv: list[str], lang: str = "en", **call) -> ScoresError:
    """Run `argv`: it must exit 2 and print the refusal in `lang`; the same refusal from the library call."""
    action = {"import": commands.import_scores, "list": commands.list_scores, "delete": commands.delete_scores}
    with pytest.raises(ScoresError) as e:
        action[argv[1]](**call)
    code, printed = course.run(*argv, lang=lang)
    assert code == 2
    assert " ".join(e.value.text(lang).split()) in printed
    assert "Traceback" not in printed
    return e.value


# --- import --------------------------------------------------------------------------------------------


def test_unknown_student_refuses_the_whole_file_naming_it_with_the_closest_ids(course):
    path = course.csv(HEADER + "40012345,3,12,good,\n40012354,3,10,,\n")  # the second is 40012345 mistyped
    before = course.digest()
    e = _refused(course, ["scores", "import", str(course.assignment), str(path), "--out", str(course.out)],
                 assignment=str(course.assignment), file=path, out=course.out)
    assert e.key == "scores_refused" and e.values["count"] == 1
    [problem] = e.details
    assert problem.key == "scores_unknown_student" and problem.values["student"] == "40012354"
    assert problem.values["suggestions"].split(", ")[0] == "40012345"  # one swap away, before 40012346
    assert problem.values["lines"] == {"en": "3", "fa": "۳"}
    assert course.digest() == before and course.stored() == []  # not even the good row


def test_unknown_student_is_printed_in_persian_for_a_persian_ta(course):
    path = course.csv(HEADER + "99999999,3,12,,\n")
    e = _refused(course, ["scores", "import", str(course.assignment), str(path), "--out", str(course.out)],
                 lang="fa", assignment=str(course.assignment), file=path, out=course.out)
    assert e.details[0].key == "scores_unknown_student_no_match"
    assert "دفتر نمرات" in e.text("fa") and course.stored() == []


def test_wrong_out_refuses_and_creates_no_gradebook(course):
    path = course.csv(HEADER + "40012345,3,12,,\n")
    wrong = course.tmp / "report"  # a typo of reports/
    e = _refused(course, ["scores", "import", str(course.assignment), str(path), "--out", str(wrong)],
                 assignment=str(course.assignment), file=path, out=wrong)
    assert e.key == "scores_no_gradebook" and e.values["path"] == str(wrong / "hw" / "gradebook.sqlite")
    assert "--out" in e.text("en") and "davar grade" in e.text("en")
    assert not wrong.exists() and course.stored() == []


def test_forgotten_out_refuses_and_creates_no_gradebook(course, monkeypatch):
    path = course.csv(HEADER + "40012345,3,12,,\n")
    monkeypatch.chdir(course.tmp / "graders")  # reports/ (the default) is not here
    e = _refused(course, ["scores", "import", str(course.assignment), str(path)],
                 assignment=str(course.assignment), file=path)
    assert e.key == "scores_no_gradebook" and not Path("reports").exists()


def test_missing_csv_is_a_sentence_not_a_traceback(course):
    missing = course.tmp / "ta-scores.csv"
    before = course.digest()
    e = _refused(course, ["scores", "import", str(course.assignment), str(missing), "--out", str(course.out)],
                 lang="fa", assignment=str(course.assignment), file=missing, out=course.out)
    assert e.key == "scores_file_missing" and course.digest() == before


@pytest.mark.parametrize("points, expected", [
    ("۱۲٫۵", 12.5),  # Persian digits and the Persian decimal separator
    ("١٢٫٥", 12.5),  # Arabic-Indic digits
    ("۱۲.۵", 12.5),
    ("\u200f۱۲\u200f", 12.0),  # a right-to-left mark a spreadsheet left around it
], ids=["persian", "arabic-indic", "persian-digits-latin-point", "rlm"])
def test_persian_and_arabic_indic_digits_are_read(course, points, expected):
    path = course.csv(HEADER + f"۴۰۰۱۲۳۴۵,۳,{points},خوب,fa\n")  # the ids typed on a Persian keyboard too
    code, printed = course.run("scores", "import", str(course.assignment), str(path), "--out", str(course.out))
    assert code == 0 and catalogue.text("scores_imported", "en", {"count": 1, "gradebook": str(course.book)}) in printed
    assert course.stored() == [("40012345", "3", expected)]


@pytest.mark.parametrize("text", [
    HEADER + '40012345,3,"12,5",,\n',  # quoted in a comma-separated file
    "student;question;points;comment;lang\n40012345;3;12,5;;\n",  # Excel's semicolon-separated CSV
    "student\tquestion\tpoints\n40012345\t3\t12,5\n",  # tab-separated
], ids=["quoted", "semicolon", "tab"])
def test_comma_decimal_is_read_where_it_cannot_be_a_separator(course, text):
    path = course.csv(text)
    code, _ = course.run("scores", "import", str(course.assignment), str(path), "--out", str(course.out))
    assert code == 0 and course.stored() == [("40012345", "3", 12.5)]


@pytest.mark.parametrize("text, key", [
    ("student,question,points\n40012345,3,12,5\n", "scores_line_extra_fields"),  # would be 12, a stray 5
    (HEADER + "40012345,3,12,5\n", "scores_line_ambiguous_comma"),  # would be 12 with the comment "5"
    (HEADER + "40012345,3,12،5,,\n", "scores_line_not_number"),  # the Arabic comma is not a decimal point
    (HEADER + '40012345,3,"1,250.5",,\n', "scores_line_not_number"),  # no thousands separators
], ids=["unquoted-extra-field", "unquoted-ambiguous", "arabic-comma", "thousands"])
def test_a_comma_that_could_be_misread_refuses_the_file(course, text, key):
    path = course.csv(text)
    before = course.digest()
    e = _refused(course, ["scores", "import", str(course.assignment), str(path), "--out", str(course.out)],
                 assignment=str(course.assignment), file=path, out=course.out)
    assert [d.key for d in e.details] == [key] and course.digest() == before


# --- list and delete -----------------------------------------------------------------------------------


def _two_imports(course: Course) -> None:
    for name, text in (("first.csv", "40012345,3,10,first,\n40012346,3,7,,\n"), ("second.csv", "40012345,3,12.5,,\n")):
        code, _ = course.run("scores", "import", str(course.assignment), str(course.csv(HEADER + text, name)),
                             "--out", str(course.out))
        assert code == 0


def test_list_shows_the_latest_first_per_student_and_question_with_when_and_which_file(course, capsys):
    _two_imports(course)
    listed = commands.list_scores(assignment=str(course.assignment), out=course.out)
    assert [(s.student, s.points, s.source) for s in listed] == [
        ("40012345", 12.5, "second.csv"), ("40012345", 10, "first.csv"), ("40012346", 7, "first.csv")]
    assert all(s.imported_at for s in listed)
    capsys.readouterr()
    code, _ = course.run("scores", "list", str(course.assignment), "--out", str(course.out), "--student", "40012345")
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) == 2
    first = listed[0]
    assert lines[0] == catalogue.text("scores_list_entry", "en", {
        "student": "40012345", "question": "3", "points": 12.5, "imported_at": first.imported_at,
        "source": "second.csv", "comment": ""}, variant="counted").rstrip()
    assert "replaced by a later import" in lines[1] and "first.csv" in lines[1] and "first" in lines[1]


def test_list_with_a_wrong_out_is_refused(course):
    wrong = course.tmp / "elsewhere"
    e = _refused(course, ["scores", "list", str(course.assignment), "--out", str(wrong)],
                 assignment=str(course.assignment), out=wrong)
    assert e.key == "scores_no_gradebook" and not wrong.exists()


def test_delete_is_a_correction_kept_in_history_and_no_longer_counted(course):
    _two_imports(course)
    code, printed = course.run("scores", "delete", str(course.assignment), "--student", "40012345",
                               "--question", "3", "--out", str(course.out))
    assert code == 0 and catalogue.text("scores_deleted", "en", {"count": 2, "student": "40012345"}) in printed
    assert course.stored() == [("40012346", "3", 7)]  # what views and reports merge
    merged = scores.merge(_result("40012345"), gradebook.manual(course.book, "hw"))
    assert merged == _result("40012345")  # the report no longer counts it
    with sqlite3.connect(course.book) as db:  # the history is kept, marked deleted
        rows = db.execute("SELECT points, deleted_at FROM manual_scores WHERE student = '40012345'").fetchall()
    assert [r[0] for r in rows] == [10, 12.5] and all(r[1] for r in rows)
    # a new import after the correction counts again
    code, _ = course.run("scores", "import", str(course.assignment), str(course.csv(HEADER + "40012345,3,14,,\n")),
                         "--out", str(course.out))
    assert code == 0 and ("40012345", "3", 14) in course.stored()


def test_delete_of_a_mistyped_student_deletes_nothing_and_suggests(course):
    _two_imports(course)
    before = course.digest()
    e = _refused(course, ["scores", "delete", str(course.assignment), "--student", "40012354",
                          "--out", str(course.out)],
                 assignment=str(course.assignment), student="40012354", out=course.out)
    assert e.key == "scores_nothing_to_delete_any" and "40012345" in e.values["suggestions"]
    assert course.digest() == before
