"""TA mistakes with Moodle, as a TA does it: "Download all submissions" (a zip), `davar grade` on it as
it comes, then the grading worksheet downloaded from the same Moodle filled by `davar report` and
matched with no option (participant numbers), on the worksheet's own grade scale."""

import csv
import zipfile

from davar import cli

SHEET = ("Identifier", "Full name", "ID number", "Email address", "Status", "Grade", "Maximum Grade",
         "Grade can be changed", "Last modified (submission)", "Online text", "Last modified (grade)",
         "Feedback comments")


def test_a_moodle_zip_round_trips_into_its_grading_worksheet(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DAVAR_COURSE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["new", "hwx"]) == 0 and cli.main(["assign", "hwx"]) == 0  # a course with a 10-point question
    right = (tmp_path / "reference" / "hwx" / "HWX.ipynb").read_bytes()
    wrong = (tmp_path / "submissions" / "hwx" / "wrong_axis" / "HWX.ipynb").read_bytes()
    with zipfile.ZipFile(tmp_path / "moodle.zip", "w") as z:
        z.writestr("Ali Rezaei_1201_assignsubmission_file_/HWX.ipynb", right)
        z.writestr("Sara Ahmadi_1202_assignsubmission_file_/HWX (1).ipynb", wrong)
        z.writestr("Reza Karimi_1203_assignsubmission_onlinetext_/onlinetext.html", "<p>I forgot the file</p>")
    with open(tmp_path / "worksheet.csv", "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f)
        w.writerow(SHEET)
        for number, name, student in (("1201", "Ali Rezaei", "40012345"), ("1202", "Sara Ahmadi", "40012346"),
                                      ("1203", "Reza Karimi", "40012347"), ("1204", "Nobody Here", "40012348")):
            w.writerow([f"Participant {number}", name, student, f"{student}@iust.ac.ir", "Submitted", "", "100.00",
                        "Yes", "", "", "-", ""])
    capsys.readouterr()

    assert cli.main(["grade", "hwx", "moodle.zip", "--allow-weak-sandbox", "--workers", "1"]) == 0
    assert "hwx: 3 submissions, every folder a result" in capsys.readouterr().out  # 1203 too, as "missing"
    assert cli.main(["report", "hwx", "--format", "moodle,csv", "--moodle-worksheet", "worksheet.csv"]) == 0

    with open(tmp_path / "reports" / "hwx" / "moodle.csv", encoding="utf-8-sig", newline="") as f:
        grades = {row["Identifier"]: (row["Full name"], row["Grade"], row["Maximum Grade"]) for row in csv.DictReader(f)}
    assert grades == {"Participant 1201": ("Ali Rezaei", "100.00", "100.00"),  # 10/10 on Moodle's 100
                      "Participant 1202": ("Sara Ahmadi", "0.00", "100.00"),
                      "Participant 1203": ("Reza Karimi", "0.00", "100.00")}  # 1204 submitted nothing: left alone
    with open(tmp_path / "reports" / "hwx" / "grades.csv", encoding="utf-8-sig", newline="") as f:
        names = {row["student"]: row["name"] for row in csv.DictReader(f)}
    assert names == {"1201": "Ali Rezaei", "1202": "Sara Ahmadi", "1203": "Reza Karimi"}
