"""Every gradebook export is written, read back with an independent reader, and checked."""

import csv
import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from davar.assignment import Assignment, Question
from davar.errors import AssignmentError, DavarError
from davar.reporting import exports
from davar.results import (
    ExecutionRecord,
    Lateness,
    Message,
    QuestionResult,
    SandboxRecord,
    SubmissionResult,
    TestResult,
)

NASTY = 'علی, "the <script>alert(1)</script>"\nsecond line'
FORMULA = '=HYPERLINK("http://evil.example","x")'
TRAVERSAL = "../../etc/passwd"

ASSIGNMENT = Assignment(
    id="hw3", directory=Path("."), title={"fa": "تمرین ۳", "en": "HW3"}, course={}, notebooks=("HW3.ipynb",),
    frameworks=[], questions=(
        Question(id="q1", points=3.0, title={"fa": "پرسش ۱", "en": "Question 1"}),
        Question(id="q2", points=2.0, title={"fa": "پرسش ۲", "en": "Question 2"}, manual=True),
        Question(id="q3", points=1.0, title={"fa": "امتیازی", "en": "Bonus"}, bonus=True),
    ))


def message(en, fa="پیام فارسی"):
    return Message(key="k", values={}, fa=fa, en=en)


def outcome(id, result, points, max_points, *, hidden=False, messages=(), title=None):
    return TestResult(id=id, title=title or {"fa": f"آزمون {id}", "en": f"test {id}"}, outcome=result,
                      points=points, max_points=max_points, hidden=hidden, duration_s=0.5, messages=messages)


def make(student, *, q1=(), q2=None, q3=None, lateness=None, status="graded", notes=()):
    q2_test = q2 or outcome("manual", "manual", 0.0, 2.0, title={"fa": "", "en": ""})
    questions = [QuestionResult(id="q1", title=ASSIGNMENT.questions[0].title, max_points=3.0, tests=tuple(q1)),
                 QuestionResult(id="q2", title=ASSIGNMENT.questions[1].title, max_points=2.0, manual=True,
                                tests=(q2_test,))]
    if q3:
        questions.append(QuestionResult(id="q3", title=ASSIGNMENT.questions[2].title, max_points=1.0, bonus=True,
                                        tests=(q3,)))
    return SubmissionResult(assignment="hw3", student=student, digest="d", status=status, questions=tuple(questions),
                            executions=(ExecutionRecord(notebook="HW3.ipynb", status="ok", wall_s=12.4),),
                            sandbox=SandboxRecord(level="strict", network=False), messages=tuple(notes),
                            graded_at="2023-11-26T10:00:00+03:30", lateness=lateness)


LATE = Lateness(submitted_at="2023-11-25T10:00:00+03:30", deadline="2023-11-24T23:59:00+03:30", late_s=36060.0,
                days_late=1, penalty=0.1, policy="per_day")
ON_TIME = Lateness(submitted_at="2023-11-24T20:00:00+03:30", deadline="2023-11-24T23:59:00+03:30")


@pytest.fixture(scope="module")
def results():
    good = make("9831045", q1=[outcome("a", "passed", 2.0, 2.0, messages=(message("accuracy 0.93 > 0.9"),)),
                               outcome("h", "passed", 1.0, 1.0, hidden=True)],
                q2=outcome("manual", "ta_graded", 1.5, 2.0, title={"fa": "", "en": ""}, messages=(message("TA's comment: fine, but, \"why\"?",
                                                                           "نظر دستیار: خوب بود"),)),
                q3=outcome("b", "passed", 1.0, 1.0), lateness=LATE)
    nasty = make(NASTY, q1=[outcome("a", "failed", 0.0, 2.0, messages=(
                     message("printed <script>alert(1)</script>, then \"quoted\",\nnext line\x1b[31m red\x07",
                             "خروجی <script>alert(1)</script> چاپ شد"),)),
                            outcome("h", "partial", 0.5, 1.0, hidden=True, messages=(message("SECRET hidden detail"),))],
                 lateness=ON_TIME)
    formula = make(FORMULA, q1=[outcome("a", "error", 0.0, 2.0, messages=(message("grader broke"),)),
                                outcome("h", "not_run", 0.0, 1.0, hidden=True)], status="execution_error",
                   notes=(message("cell 3 raised ValueError", "سلول ۳ خطا داد"),))
    traversal = make(TRAVERSAL, q1=[outcome("a", "passed", 2.0, 2.0), outcome("h", "skipped", 0.0, 1.0, hidden=True)])
    return [good, nasty, formula, traversal]


def test_grades_csv_round_trips(tmp_path, results):
    path = exports.write_grades_csv(results, ASSIGNMENT, tmp_path / "grades.csv")
    assert path.read_bytes().startswith("\ufeff".encode("utf-8"))  # Excel needs the BOM for Persian
    df = pd.read_csv(path, encoding="utf-8-sig", dtype={"student": str, "name": str, "submitted_at": str})
    assert list(df.columns) == ["student", "name", "status", "q1", "q2", "q3", "score", "hidden_points", "max_score",
                                "late_days", "penalty_percent", "final_score", "submitted_at"]
    assert list(df["student"]) == ["9831045", NASTY, "'" + FORMULA, TRAVERSAL]  # formula neutralised
    good, nasty, formula, _ = (row for _, row in df.iterrows())
    assert (good.q1, good.q2, good.q3, good.score, good.max_score) == (3.0, 1.5, 1.0, 5.5, 5.0)
    # the part of the score from the hidden test not yet released: 1 of good's, 0.5 of nasty's, 0 of formula's
    assert list(df["hidden_points"]) == [1.0, 0.5, 0.0, 0.0]
    assert (good.late_days, good.penalty_percent, good.final_score) == (1, 10.0, 4.95)
    assert good.submitted_at == "2023-11-25T10:00:00+03:30"
    assert pd.isna(nasty.q2) and nasty.q1 == 0.5  # awaiting TA: empty, not 0
    assert pd.isna(nasty.q3)  # no bonus question in that result
    assert (nasty.late_days, nasty.penalty_percent, nasty.final_score) == (0, 0.0, 0.5)
    assert formula.status == "execution_error" and pd.isna(formula.late_days) and pd.isna(formula.submitted_at)


def test_grades_xlsx_keeps_text_as_text(tmp_path, results):
    path = exports.write_grades_xlsx(results, ASSIGNMENT, tmp_path / "grades.xlsx")
    df = pd.read_excel(path, dtype={"student": str})
    assert list(df["student"]) == ["9831045", NASTY, FORMULA, TRAVERSAL]
    assert df.loc[0, "final_score"] == 4.95 and pd.isna(df.loc[1, "q2"]) and df.loc[0, "q2"] == 1.5
    cell = openpyxl.load_workbook(path)["grades"]["A4"]
    assert cell.value == FORMULA and cell.data_type == "s"  # a string cell, never a formula


def test_question_ids_clashing_with_columns_are_refused(results):
    clash = Assignment(**{**{f: getattr(ASSIGNMENT, f) for f in ASSIGNMENT.__dataclass_fields__},
                          "questions": (Question(id="score", points=1.0, title={"fa": "", "en": ""}),)})
    with pytest.raises(AssignmentError, match="clash"):
        exports.grades_table(results, clash)


def moodle_download(tmp_path):
    """A worksheet as Moodle's "Download grading worksheet" gives it (English interface, ID number shown)."""
    path = tmp_path / "moodle-download.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Identifier", "Full name", "ID number", "Email address", "Status", "Grade", "Maximum Grade",
                    "Grade can be changed", "Last modified (submission)", "Last modified (grade)", "Feedback comments"])
        w.writerow(["Participant 1201", "علی رضایی", "9831045", "9831045@iust.ac.ir", "Submitted", "", "100.00",
                    "Yes", "", "-", ""])
        w.writerow(["Participant 1202", "Sara, \"S\"", NASTY, "sara@iust.ac.ir", "Submitted", "", "100.00", "Yes", "",
                    "-", ""])
        w.writerow(["Participant 1203", "No Submission", "9800000", "n@iust.ac.ir", "No submission", "", "100.00",
                    "Yes", "", "-", ""])
    return path


def test_moodle_participants_from_a_downloaded_worksheet(tmp_path):
    sheet = moodle_download(tmp_path)
    by_id = exports.moodle_participants(sheet)
    assert by_id["9831045"] == exports.MoodleParticipant("Participant 1201", "علی رضایی", "9831045@iust.ac.ir", 100.0)
    assert by_id[NASTY].identifier == "Participant 1202"
    by_mail = exports.moodle_participants(sheet, key="Email address")
    assert by_mail["9831045"].identifier == by_mail["9831045@iust.ac.ir"].identifier == "Participant 1201"
    with pytest.raises(DavarError, match="'Username'"):
        exports.moodle_participants(sheet, key="Username")
    # students graded from Moodle's "Download all submissions" zip are keyed by participant number
    assert by_id["1201"] == by_id["9831045"] and by_mail["1203"].full_name == "No Submission"


def test_moodle_worksheet(tmp_path, results):
    participants = exports.moodle_participants(moodle_download(tmp_path))
    missing = exports.write_moodle_worksheet(results, ASSIGNMENT, tmp_path / "moodle.csv", participants, maximum=100)
    assert missing == [FORMULA, TRAVERSAL]
    raw = (tmp_path / "moodle.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(tmp_path / "moodle.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == exports.MOODLE_COLUMNS
    good, nasty = (dict(zip(rows[0], row)) for row in rows[1:])
    assert good["Identifier"] == "Participant 1201" and good["Full name"] == "علی رضایی"
    assert good["Grade"] == "99.00"  # 5.5 of 5 (bonus) less 10 %, rescaled to 100 = 99
    assert good["Maximum Grade"] == "100.00" and good["Grade can be changed"] == "Yes"
    assert good["Last modified (submission)"] == "2023-11-25T10:00:00+03:30"
    assert good["Last modified (grade)"] == "2023-11-26T10:00:00+03:30"
    assert "نظر دستیار: خوب بود" in good["Feedback comments"]  # fa by default
    assert nasty["Identifier"] == "Participant 1202" and nasty["Grade"] == ""  # q2 still awaits the TA
    assert nasty["Full name"] == 'Sara, "S"'
    feedback = nasty["Feedback comments"]
    assert "&lt;script&gt;" in feedback and "<script>" not in feedback
    assert "SECRET" not in feedback and "—" in feedback
    english = exports.write_moodle_worksheet(results[:1], ASSIGNMENT, tmp_path / "en.csv", participants, lang="en")
    assert english == []
    with open(tmp_path / "en.csv", encoding="utf-8-sig", newline="") as f:
        row = next(iter(csv.DictReader(f)))
    assert row["Grade"] == "99.00" and row["Maximum Grade"] == "100.00"  # the worksheet's scale, as downloaded
    # the total is the grade (the hidden test's point in it, said); question 1 shows its other test's 2
    assert row["Feedback comments"].startswith(
        "5.5 / 5 − 10.00% = 4.95<br>This grade includes points from hidden tests whose details are not yet "
        "released: 1<br>Question 1: 2 / 3<br>")
    assert "TA&#x27;s comment: fine, but, &quot;why&quot;?" in row["Feedback comments"]
    unscaled = {k: dataclasses.replace(v, maximum=None) for k, v in participants.items()}  # no "Maximum Grade"
    exports.write_moodle_worksheet([dataclasses.replace(results[0], lateness=None)], ASSIGNMENT, tmp_path / "bonus.csv",
                                   unscaled)
    with open(tmp_path / "bonus.csv", encoding="utf-8-sig", newline="") as f:
        row = next(iter(csv.DictReader(f)))
    assert (row["Grade"], row["Maximum Grade"]) == ("5.00", "5.00")  # 5.5 with the bonus: capped, Moodle skips more


def test_gradescope_results(tmp_path, results):
    paths = exports.write_gradescope(results, ASSIGNMENT, tmp_path / "gradescope")
    assert len(paths) == 4 and all(p.name == "results.json" for p in paths)
    assert all(p.resolve().is_relative_to((tmp_path / "gradescope").resolve()) for p in paths)
    assert paths[0].parent.name == "9831045"
    assert len({p.parent for p in paths}) == 4 and TRAVERSAL not in str(paths[3])
    good = json.loads(paths[0].read_text("utf-8"))
    assert good["score"] == 4.95 and good["execution_time"] == 12
    assert good["output_format"] == good["test_output_format"] == good["test_name_format"] == "text"
    assert [(t["number"], t["name"], t["score"], t["max_score"], t["status"], t["visibility"]) for t in good["tests"]] == [
        ("1.1", "Question 1 — test a", 2.0, 2.0, "passed", "visible"),
        ("1.2", "Question 1 — test h", 1.0, 1.0, "passed", "after_published"),
        ("2.1", "Question 2", 1.5, 2.0, "failed", "visible"),
        ("3.1", "Bonus — test b", 1.0, 1.0, "passed", "visible")]
    assert good["extra_data"]["days_late"] == 1 and good["extra_data"]["penalty"] == 0.1
    nasty = json.loads(paths[1].read_text("utf-8"))
    assert nasty["extra_data"]["student"] == NASTY
    assert [t["extra_data"]["test"] for t in nasty["tests"]] == ["a", "h"]  # the test awaiting a TA is left out
    assert nasty["tests"][0]["output"] == 'printed <script>alert(1)</script>, then "quoted",\nnext line red'
    assert nasty["tests"][1]["output"] == "SECRET hidden detail" and nasty["tests"][1]["status"] == "failed"
    persian = json.loads(exports.write_gradescope(results[1:2], ASSIGNMENT, tmp_path / "fa", lang="fa")[0].read_text("utf-8"))
    assert persian["tests"][0]["output"] == "خروجی <script>alert(1)</script> چاپ شد"
    formula = json.loads(paths[2].read_text("utf-8"))
    assert formula["output"].splitlines()[0] == "cell 3 raised ValueError"


def test_junit_xml(tmp_path, results):
    path = exports.write_junit(results, ASSIGNMENT, tmp_path / "junit.xml")
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and root.get("name") == "hw3"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["9831045", NASTY, FORMULA, TRAVERSAL]
    assert [(s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped")) for s in suites] == [
        ("4", "1", "0", "0"), ("3", "2", "0", "1"), ("3", "0", "1", "2"), ("3", "0", "0", "2")]
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("13", "3", "1", "5")
    props = {p.get("name"): p.get("value") for p in suites[0].iter("property")}
    assert props["final_score"] == "4.95" and props["days_late"] == "1"
    cases = suites[1].findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("hw3.q1", "a — test a"), ("hw3.q1", "hidden 1"), ("hw3.q2", "manual")]
    failure = cases[0].find("failure")
    assert failure.get("type") == "failed"
    assert failure.get("message") == 'printed <script>alert(1)</script>, then "quoted",'
    assert failure.text == '0 / 2\nprinted <script>alert(1)</script>, then "quoted",\nnext line red'
    assert cases[1].find("failure").get("message") == "hidden"
    assert "SECRET" not in path.read_text("utf-8")
    assert cases[2].find("skipped") is not None
    assert suites[2].find("testcase/error").get("message") == "grader broke"
    assert suites[2].find("system-out").text == "cell 3 raised ValueError"
    revealed = ET.fromstring(ET.tostring(exports.junit_xml(results, ASSIGNMENT, reveal_hidden=True)))
    hidden = revealed.findall("testsuite")[1].findall("testcase")[1]
    assert hidden.get("name") == "h — test h" and hidden.find("failure").get("type") == "partial"
    assert "SECRET hidden detail" in hidden.find("failure").text


def test_safe_names_stay_inside_and_distinct():
    assert exports.safe_name("9831045") == "9831045"
    assert exports.safe_name("علی") == "علی"
    names = [exports.safe_name(s) for s in ("../x", "..", ".", "a/b", "a_b", "", "/etc")]
    assert len(set(names)) == len(names)
    assert all(n and "/" not in n and not n.startswith(".") for n in names)
    assert exports.safe_name("a_b") == "a_b" and exports.safe_name("a/b") != "a_b"


def test_a_manual_question_without_tests_awaits_its_ta_in_every_view(tmp_path):
    """One definition of "awaiting a TA" (QuestionResult.awaiting_points): a manual question with no test
    recorded (a result built by hand, an old result) is empty in grades.csv, counted by the dashboard
    and shown as awaiting in the report; never 0 points in one view and pending in another."""
    from davar.reporting import dashboard, report

    bare = dataclasses.replace(make("9900001"), questions=(
        QuestionResult(id="q1", title=ASSIGNMENT.questions[0].title, max_points=3.0),
        QuestionResult(id="q2", title=ASSIGNMENT.questions[1].title, max_points=2.0, manual=True)))
    assert bare.questions[1].awaiting_ta and bare.questions[1].awaiting_points == 2.0
    df = pd.read_csv(exports.write_grades_csv([bare], ASSIGNMENT, tmp_path / "grades.csv"), encoding="utf-8-sig")
    assert pd.isna(df.loc[0, "q2"])
    stats = dashboard.class_stats([bare], ASSIGNMENT)
    assert next(q for q in stats.questions if q.id == "q2").awaiting == 1
    report.render_reports(bare, tmp_path, assignment_title=ASSIGNMENT.title, course={})
    assert "awaiting a TA" in (tmp_path / "report.en.html").read_text("utf-8")


def test_a_manual_question_of_an_invalid_submission_awaits_its_ta_everywhere(tmp_path):
    """An invalid submission (nothing ran) still has its manual question awaiting the TA
    (`results.awaiting_manual`): empty in grades.csv and Moodle, "—" in the dashboard's student table,
    left out of Gradescope, skipped in JUnit, awaiting in the report; never 0 in one and pending in another."""
    from davar import catalogue
    from davar.reporting import dashboard, report
    from davar.results import awaiting_manual

    invalid = make("9900002", status="invalid_submission", q1=[outcome("a", "not_run", 0.0, 0.0)],
                   q2=awaiting_manual(2.0), notes=[catalogue.message("notebook_missing", {"notebook": "HW3.ipynb"})])
    assert invalid.questions[1].awaiting_ta
    df = pd.read_csv(exports.write_grades_csv([invalid], ASSIGNMENT, tmp_path / "grades.csv"), encoding="utf-8-sig")
    assert pd.isna(df.loc[0, "q2"]) and df.loc[0, "q1"] == 0
    stats = dashboard.class_stats([invalid], ASSIGNMENT)
    assert next(q for q in stats.questions if q.id == "q2").awaiting == 1
    assert set(dashboard._context(stats, ASSIGNMENT, "en")["students"][0]["questions"]) == {"q1"}  # q2: "—"
    exports.write_moodle_worksheet([invalid], ASSIGNMENT, tmp_path / "moodle.csv",
                                   {"9900002": exports.MoodleParticipant(identifier="Participant 1")}, lang="en")
    with open(tmp_path / "moodle.csv", encoding="utf-8-sig", newline="") as f:
        row = next(iter(csv.DictReader(f)))
    assert row["Grade"] == "" and "Question 2: — / 2" in row["Feedback comments"]
    assert [t["extra_data"]["test"] for t in exports.gradescope_results(invalid, ASSIGNMENT)["tests"]] == ["a"]
    manual_case = exports.junit_xml([invalid], ASSIGNMENT).find(".//testcase[@classname='hw3.q2']")
    assert manual_case is not None and manual_case.find("skipped") is not None
    report.render_reports(invalid, tmp_path, assignment_title=ASSIGNMENT.title, course={})
    assert "awaiting a TA" in (tmp_path / "report.en.html").read_text("utf-8")


def test_messages_are_rendered_with_the_assignments_current_wording(tmp_path):
    """A wording fix in the assignment's messages.toml shows in every export, with no regrade."""
    from davar import catalogue

    note = catalogue.message("notebook_missing", {"notebook": "HW3.ipynb"})
    r = make("9900003", status="invalid_submission", notes=[note],
             q1=[outcome("a", "failed", 0.0, 3.0, messages=(catalogue.message("missing_name", {"name": "f"}),))])
    reworded = dataclasses.replace(ASSIGNMENT, messages={
        "notebook_missing": {"en": "HW3.ipynb was not handed in ({notebook}).", "fa": "{notebook} تحویل نشد."},
        "missing_name": {"en": "Define `{name}`.", "fa": "{name} را تعریف کنید."}})
    suite = exports.junit_xml([r], reworded)
    assert suite.find(".//system-out").text == "HW3.ipynb was not handed in (HW3.ipynb)."
    assert "Define `f`." in suite.find(".//failure").text
    assert "Define `f`." in exports.gradescope_results(r, reworded)["tests"][0]["output"]
    assert exports.gradescope_results(r, ASSIGNMENT)["output"].startswith("Not run: the submission has no HW3.ipynb.")


# ---- one set of numbers: hidden points, one time zone, names ------------------------------------

RELEASED = dataclasses.replace(ASSIGNMENT, visibility=dataclasses.replace(ASSIGNMENT.visibility, release_hidden=True))


def test_grades_say_which_part_of_the_score_is_from_hidden_tests(tmp_path, results):
    withheld = pd.read_csv(exports.write_grades_csv(results, ASSIGNMENT, tmp_path / "a.csv"), encoding="utf-8-sig")
    assert list(withheld["score"]) == [5.5, 0.5, 0.0, 2.0]  # the hidden tests' points are in the score
    assert list(withheld["hidden_points"]) == [1.0, 0.5, 0.0, 0.0]  # ... and said
    for released in (exports.write_grades_csv(results, RELEASED, tmp_path / "b.csv"),
                     exports.write_grades_csv(results, ASSIGNMENT, tmp_path / "c.csv", release_hidden=True)):
        df = pd.read_csv(released, encoding="utf-8-sig")
        assert df["hidden_points"].isna().all() and list(df["score"]) == [5.5, 0.5, 0.0, 2.0]
    xlsx = pd.read_excel(exports.write_grades_xlsx(results, ASSIGNMENT, tmp_path / "g.xlsx"))
    assert list(xlsx.columns).index("hidden_points") == list(xlsx.columns).index("score") + 1
    assert list(xlsx["hidden_points"]) == [1.0, 0.5, 0.0, 0.0]


def utc(r: SubmissionResult) -> SubmissionResult:
    return dataclasses.replace(r, graded_at="2026-12-01T20:00:00+00:00", submitted_at="2026-12-01T19:00:00+00:00",
                               lateness=None, display_name="علی رضایی", time_source="export")


def test_times_a_person_reads_are_in_the_assignments_zone(tmp_path, results):
    """20:00 UTC is 23:30 in Tehran: every export says so, as ISO 8601 with the +03:30 offset."""
    r = utc(results[0])
    df = pd.read_csv(exports.write_grades_csv([r], ASSIGNMENT, tmp_path / "g.csv"), encoding="utf-8-sig", dtype=str)
    assert df.loc[0, "submitted_at"] == "2026-12-01T22:30:00+03:30"
    assert df.loc[0, "name"] == "علی رضایی"  # the name the LMS export gave
    exports.write_moodle_worksheet([r], ASSIGNMENT, tmp_path / "m.csv", {r.student: exports.MoodleParticipant("P 1")})
    with open(tmp_path / "m.csv", encoding="utf-8-sig", newline="") as f:
        row = next(iter(csv.DictReader(f)))
    assert row["Last modified (submission)"] == "2026-12-01T22:30:00+03:30"
    assert row["Last modified (grade)"] == "2026-12-01T23:30:00+03:30"
    extra = exports.gradescope_results(r, ASSIGNMENT)["extra_data"]
    assert (extra["submitted_at"], extra["graded_at"]) == ("2026-12-01T22:30:00+03:30", "2026-12-01T23:30:00+03:30")
    assert exports.junit_xml([r], ASSIGNMENT).find("testsuite").get("timestamp") == "2026-12-01T23:30:00+03:30"
    berlin = dataclasses.replace(ASSIGNMENT, timezone="Europe/Berlin")
    assert exports.grades_table([r], berlin).loc[0, "submitted_at"] == "2026-12-01T20:00:00+01:00"


def test_moodle_comment_says_the_grade_includes_hidden_points(tmp_path, results):
    people = {r.student: exports.MoodleParticipant(f"Participant {i}") for i, r in enumerate(results)}

    def comments(**kwargs) -> list[str]:
        exports.write_moodle_worksheet(results, ASSIGNMENT, tmp_path / "m.csv", people, lang="en", **kwargs)
        with open(tmp_path / "m.csv", encoding="utf-8-sig", newline="") as f:
            return [row["Feedback comments"] for row in csv.DictReader(f)]

    line = "This grade includes points from hidden tests whose details are not yet released: {}"
    withheld = comments()
    assert [line.format(n) in c for c, n in zip(withheld, ("1", "0.5", "0", "0"), strict=True)] == [True] * 4
    assert "Question 1: 0 / 3" in withheld[1]  # nasty: the hidden test's 0.5 is in the total only
    released = comments(reveal_hidden=True)
    assert not any("hidden tests" in c for c in released)
    assert "Question 1: 0.5 / 3" in released[1]
    fa = exports._summary(results[0], "fa", ASSIGNMENT, reveal_hidden=False)
    assert fa[-1] == "این نمره، نمرهٔ آزمون‌های پنهانی را هم در بر دارد که جزئیاتشان هنوز اعلام نشده است: ۱"


def test_an_override_replaces_the_tests_points_in_every_export(tmp_path):
    """A TA's override (davar.book.overrides, applied in the view every export is built from)."""
    from davar.book.overrides import Override, apply

    record = make("s1", q1=[outcome("shape", "passed", 1.0, 1.0), outcome("acc", "failed", 0.0, 2.0)])
    shown = apply(record, [Override(student="s1", question="q1", test="acc", points=2.0, reason="=cmd|' /C calc'!A0",
                                    by="Sara", made_at="2025-04-05T10:00:00+00:00", outcome="failed", auto_points=0,
                                    max_points=2.0)])
    df = pd.read_csv(exports.write_grades_csv([shown], ASSIGNMENT, tmp_path / "grades.csv"), encoding="utf-8-sig",
                     dtype={"student": str}).set_index("student")
    assert (df.loc["s1", "q1"], df.loc["s1", "score"], df.loc["s1", "final_score"]) == (3.0, 3.0, 3.0)
    sheet = openpyxl.load_workbook(exports.write_grades_xlsx([shown], ASSIGNMENT, tmp_path / "g.xlsx")).active
    header = [c.value for c in sheet[1]]
    assert sheet.cell(row=2, column=header.index("score") + 1).value == 3.0
    gradescope = exports.gradescope_results(shown, ASSIGNMENT)
    acc = next(t for t in gradescope["tests"] if t["extra_data"]["test"] == "acc")
    assert gradescope["score"] == 3.0 and (acc["score"], acc["status"]) == (2.0, "passed")
    assert acc["output"].startswith("TA decision: 2 of 2 points instead of the automatic 0 (failed). Reason: =cmd|")
    suite = ET.parse(exports.write_junit([shown], ASSIGNMENT, tmp_path / "junit.xml")).getroot().find("testsuite")
    assert suite.get("failures") == "0"  # full points by the TA's decision
