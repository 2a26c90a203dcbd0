"""`davar check` (the student's self-check, in Persian and as JSON), `davar data`, `davar report` and
`davar scores import` (from the gradebook alone)."""

import json
from pathlib import Path

import pytest

from davar import cli
from davar.book import gradebook
from davar.run import sandbox

SAMPLE = Path(__file__).resolve().parent.parent / "submissions" / "iust-dl-1403-hw2" / "under_threshold" / "HW2_CNN.ipynb"

pytestmark = pytest.mark.skipif(sandbox.detect().best == "none", reason="needs bubblewrap")


def test_check_prints_a_persian_table_and_fails_on_a_failed_public_test(hw2, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert cli.main(["check", str(hw2.directory), str(SAMPLE), "--lang", "fa"]) == 1
    out = capsys.readouterr().out
    assert "دقت روی دادهٔ آزمایشی بالای آستانه" in out and "مردود" in out and "۰/۵" in out
    assert "hidden" not in out and "پنهان" not in out  # public graders only


def test_check_json_is_the_public_result(hw2, capsys, tmp_path):
    assert cli.main(["check", str(hw2.directory), str(SAMPLE), "--json", "--report", str(tmp_path)]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "graded" and result["score"] == 2 and result["max_score"] == 12
    assert {t["id"] for q in result["questions"] for t in q["tests"]} == {"model_is_cnn", "train_accuracy", "test_accuracy"}
    assert (tmp_path / "report.fa.html").is_file() and (tmp_path / "report.en.html").is_file()


def test_unknown_assignment_is_a_usage_error(capsys):
    assert cli.main(["check", "no-such-assignment", str(SAMPLE)]) == 2
    assert "no assignment" in capsys.readouterr().err


@pytest.mark.parametrize("argv, env", [
    (["check", "iust-dl-1403-hw9", str(SAMPLE), "--lang", "fa"], {}),  # the subcommand's --lang
    (["assign", "iust-dl-1403-hw9", "--check"], {"DAVAR_LANG": "fa"}),  # no --lang: $DAVAR_LANG
])
def test_an_assignment_error_is_printed_in_the_tas_language(argv, env, capsys, monkeypatch):
    monkeypatch.chdir(SAMPLE.parents[3])
    monkeypatch.delenv("DAVAR_COURSE", raising=False)
    monkeypatch.delenv("DAVAR_LANG", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "تمرین" in err and "آیا منظورتان" in err and "iust-dl-1403-hw2" in err  # the closest id, in Persian
    assert "no assignment" not in err and "Traceback" not in err


def _copy_gradebook(corpus, assignment_id, tmp_path):
    """The graded corpus's gradebook alone, in a fresh reports folder: `davar report` needs nothing else."""
    import shutil

    out, _ = corpus(assignment_id)
    (tmp_path / assignment_id).mkdir()
    shutil.copy(out / "gradebook.sqlite", tmp_path / assignment_id / "gradebook.sqlite")
    return tmp_path


def test_report_regenerates_every_format_identically_from_the_gradebook(corpus, tmp_path):
    import pandas as pd

    reports = _copy_gradebook(corpus, "iust-dl-1403-hw2", tmp_path)
    worksheet = tmp_path / "moodle-worksheet.csv"  # as Moodle's "Download grading worksheet" gives it
    worksheet.write_text("Identifier,Full name,Email address,ID number,Status,Grade,Maximum Grade\n"
                         "Participant 11,Sara Ahmadi,sara@example.ir,passes,Submitted,,100\n"
                         "Participant 12,Reza Karimi,reza@example.ir,snoops,Submitted,,100\n", encoding="utf-8")
    args = ["report", "iust-dl-1403-hw2", "--out", str(reports), "--moodle-worksheet", str(worksheet),
            "--format", "html,pdf,csv,xlsx,moodle,gradescope,junit"]
    assert cli.main(args) == 0
    folder = reports / "iust-dl-1403-hw2"
    # every text format byte for byte (PDF and xlsx carry their creation time)
    made = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.suffix not in (".sqlite", ".pdf", ".xlsx")}
    for name in ("index.html", "index.en.html", "grades.csv", "grades.xlsx", "junit.xml", "moodle.csv",
                 "passes/report.fa.html", "passes/report.en.html", "passes/report.fa.pdf", "passes/result.json",
                 "gradescope/passes/results.json"):
        assert (folder / name).is_file(), name
    grades = pd.read_csv(folder / "grades.csv", dtype={"student": str}).set_index("student")
    assert grades.loc["passes", "final_score"] == 15 and grades.loc["never_ends", "status"] == "timeout"
    # every result.json, as `davar grade` and `davar report` write it, is its gradebook row byte for byte
    stored = gradebook.latest_json(folder / "gradebook.sqlite", "iust-dl-1403-hw2")
    graded_out, _ = corpus("iust-dl-1403-hw2")
    for text in stored:
        student = json.loads(text)["student"]
        assert (folder / student / "result.json").read_bytes() == text.encode("utf-8"), student
        assert (graded_out / student / "result.json").read_bytes() == text.encode("utf-8"), student
    moodle = pd.read_csv(folder / "moodle.csv", dtype=str).set_index("Identifier")
    assert set(moodle.index) == {"Participant 11", "Participant 12"}
    for p in made:
        if p.suffix == ".html":
            p.unlink()
    assert cli.main(args) == 0
    assert {p: p.read_bytes() for p in made} == made  # the same bytes, from the gradebook alone


def test_ta_scores_are_merged_without_running_anything(corpus, tmp_path):
    import pandas as pd

    reports = _copy_gradebook(corpus, "iust-dl-1402-hw2", tmp_path)
    scores_csv = tmp_path / "ta.csv"
    scores_csv.write_text("student,question,points,comment,lang\nreference_solution,3,12,\"<script>x</script> clear\",en\n"
                          "reference_solution,1ab,7,عالی,fa\n", encoding="utf-8")
    assert cli.main(["scores", "import", "iust-dl-1402-hw2", str(scores_csv), "--out", str(reports)]) == 0
    assert cli.main(["report", "iust-dl-1402-hw2", "--out", str(reports), "--format", "html,csv"]) == 0
    folder = reports / "iust-dl-1402-hw2" / "reference_solution"
    # result.json is the record as graded, the gradebook's row byte for byte: the TA's scores are in the views
    [stored] = [t for t in gradebook.latest_json(reports / "iust-dl-1402-hw2" / "gradebook.sqlite", "iust-dl-1402-hw2")
                if json.loads(t)["student"] == "reference_solution"]
    assert (folder / "result.json").read_bytes() == stored.encode("utf-8")
    manual = {q["id"]: q["tests"][0] for q in json.loads(stored)["questions"] if q["manual"]}
    assert manual["3"]["outcome"] == "manual" and manual["2ab"]["outcome"] == "manual"
    html = (folder / "report.en.html").read_text()
    assert "&lt;script&gt;x&lt;/script&gt; clear" in html and "<script>x" not in html
    grades = pd.read_csv(reports / "iust-dl-1402-hw2" / "grades.csv", dtype={"student": str}).set_index("student")
    assert grades.loc["reference_solution", "3"] == 12 and pd.isna(grades.loc["reference_solution", "2ab"])
    bad = tmp_path / "bad.csv"
    bad.write_text("student,question,points\nreference_solution,1c,3\n", encoding="utf-8")
    assert cli.main(["scores", "import", "iust-dl-1402-hw2", str(bad), "--out", str(reports)]) == 2


def test_every_option_of_every_subcommand_says_what_it_does_and_its_default():
    import argparse

    def parsers(parser: argparse.ArgumentParser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for child in action.choices.values():
                    yield from parsers(child)

    undocumented = []
    for parser in parsers(cli._parser()):
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            optional_value = action.option_strings and action.nargs != 0 and not action.required
            if not action.help or (optional_value and "default" not in action.help):
                undocumented.append(f"{parser.prog} {action.dest}")
    assert undocumented == []
