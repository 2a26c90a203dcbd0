"""TA mistakes with a folder of submissions: every student folder becomes a result, whatever is in it,
so a batch never drops a student silently (5 folders in, 5 results out)."""

import dataclasses
from pathlib import Path

import nbformat

from davar import assignment, catalogue, cli
from davar.grading.grade import grade_submission
from davar.intake import inbox

HEAD = 'id = "a"\ntitle = { fa = "آ", en = "a" }\nnotebooks = ["HW2_CNN.ipynb"]\n'
QUESTION = '[[questions]]\nid = "1"\npoints = 1\ntitle = { fa = "یک", en = "one" }\n'


def course(tmp_path: Path) -> assignment.Assignment:
    d = tmp_path / "graders" / "a"
    d.mkdir(parents=True)
    (d / "assignment.toml").write_text(HEAD + QUESTION, encoding="utf-8")
    return assignment.load(d)


def write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)


def test_two_candidate_notebooks_and_no_notebook_are_results_not_silence(tmp_path):
    a = course(tmp_path)
    subs = tmp_path / "subs"
    write(subs / "s1" / "HW2_CNN.ipynb")
    write(subs / "s2" / "hw2-cnn (1).ipynb")  # lenient names still match
    write(subs / "s3" / "HW2_CNN_v1.ipynb")
    write(subs / "s3" / "HW2_CNN_final.ipynb")  # which one? not ours to guess
    (subs / "s4").mkdir()
    (subs / "s4" / "report.pdf").write_bytes(b"%PDF-1.4")  # no notebook at all
    (subs / "s5").mkdir()  # an empty folder: a student who submitted nothing
    found = inbox.collect(subs, a)
    assert [s.student for s in found] == ["s1", "s2", "s3", "s4", "s5"]
    results = {s.student: grade_submission(s, a, level="none") for s in found if s.problem}
    assert {k: r.status for k, r in results.items()} == {"s3": "invalid_submission", "s4": "missing", "s5": "missing"}
    [why] = results["s3"].messages
    assert why.key == "ambiguous_notebooks"
    text = catalogue.render(why, "en")
    assert "HW2_CNN_final.ipynb" in text and "HW2_CNN_v1.ipynb" in text
    assert "HW2_CNN_final.ipynb" in catalogue.render(why, "fa")
    assert results["s4"].score == 0 and results["s4"].messages[0].key == "no_notebook"


def test_the_batch_ends_with_a_summary_on_stdout(tmp_path, capsys):
    a = course(tmp_path)
    write(tmp_path / "subs" / "s3" / "HW2_CNN_v1.ipynb")
    write(tmp_path / "subs" / "s3" / "HW2_CNN_final.ipynb")
    (tmp_path / "subs" / "s4").mkdir()
    (tmp_path / "subs" / "s4" / "report.pdf").write_bytes(b"%PDF-1.4")
    code = cli.main(["grade", str(a.directory), str(tmp_path / "subs"), "--out", str(tmp_path / "out"),
                     "--allow-weak-sandbox", "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "a: 2 submissions, every folder a result: Invalid submission 1, No notebook submitted 1." in out
    assert "Skipped, already graded with these graders, data and files: 0" in out
    assert f"Class dashboard: {tmp_path / 'out' / 'a' / 'index.en.html'}" in out
    # both folders were written a moment ago, as by `cp -r`: their times are not used
    assert "Without a submission time (file times of a copy; no late penalty): 2." in out
    assert (tmp_path / "out" / "a" / "s4" / "result.json").is_file()


def test_copied_folders_are_not_dated_by_their_copy(tmp_path):
    """`cp -r` of a class made everyone ~600 days late; times that look copied are not used."""
    import os

    a = course(tmp_path)
    for student, day in (("s1", 1), ("s2", 2), ("s3", 3)):
        write(tmp_path / "subs" / student / "HW2_CNN.ipynb")
        os.utime(tmp_path / "subs" / student / "HW2_CNN.ipynb", (day * 86400, day * 86400))
    assert {s.time_source for s in inbox.collect(tmp_path / "subs", a)} == {"file"}  # days apart: real times
    for student in ("s1", "s2", "s3"):  # as after `cp -r`: all now
        os.utime(tmp_path / "subs" / student / "HW2_CNN.ipynb")
    copied = inbox.collect(tmp_path / "subs", a)
    assert {(s.time_source, s.submitted_at) for s in copied} == {("file_copied", "")}
    assert grade_submission(dataclasses.replace(copied[0], problem=catalogue.message("no_notebook", {
        "expected": "HW2_CNN.ipynb", "path": "s1"})), a, level="none").time_source == "file_copied"  # recorded
    trusted = inbox.collect(tmp_path / "subs", a, trust_file_times=True)
    assert {s.time_source for s in trusted} == {"file"} and all(s.submitted_at for s in trusted)


def test_dry_run_lists_the_batch_and_writes_nothing_then_a_times_file_dates_copied_folders(tmp_path, capsys):
    """A copy of the class has no trustworthy times: `--dry-run` shows it, the TA's times file dates the
    students, and a corrected times file is stored without running anyone again."""
    from davar.book import gradebook

    d = tmp_path / "graders" / "a"
    d.mkdir(parents=True)
    (d / "assignment.toml").write_text(HEAD + 'deadline = "1404-01-15T23:59"\n' + QUESTION, encoding="utf-8")
    write(tmp_path / "subs" / "s1" / "HW2_CNN.ipynb")
    write(tmp_path / "subs" / "s2" / "HW2_CNN.ipynb")
    write(tmp_path / "subs" / "s3" / "HW2_CNN_v1.ipynb")
    write(tmp_path / "subs" / "s3" / "HW2_CNN_final.ipynb")
    times = tmp_path / "times.csv"
    times.write_text("student,submitted_at\ns1,1404-01-17T10:00\n", encoding="utf-8")
    out = tmp_path / "out"
    grade = ["grade", str(d), str(tmp_path / "subs"), "--out", str(out), "--allow-weak-sandbox", "--workers", "1"]

    assert cli.main([*grade, "--dry-run", "--times", str(times)]) == 0
    listed = capsys.readouterr().out
    assert "3 submissions found" in listed and "3 would be graded" in listed and "Nothing was run" in listed
    assert "2025-04-06 10:00" in listed  # s1's time from the file, in the assignment's zone
    assert "HW2_CNN_final.ipynb" in listed  # s3: why it cannot be graded, before anything runs
    assert not out.exists()

    assert cli.main([*grade, "--times", str(times)]) == 0
    assert "Dated by the TA's times file (--times): 1." in capsys.readouterr().out
    first = {r.student: r for r in gradebook.latest(out / "a" / "gradebook.sqlite", "a")}
    assert (first["s1"].time_source, first["s1"].submitted_at) == ("ta_csv", "2025-04-06T10:00:00+03:30")
    assert (first["s2"].time_source, first["s2"].submitted_at) == ("file_copied", "")

    times.write_text("student,submitted_at\ns1,1404-01-15T20:00\n", encoding="utf-8")  # the TA's correction
    assert cli.main([*grade, "--times", str(times)]) == 0
    assert "Skipped, already graded with these graders, data and files: 3" in capsys.readouterr().out
    history = gradebook.history(out / "a" / "gradebook.sqlite", "a", "s1")
    assert [r.submitted_at for r in history] == ["2025-04-06T10:00:00+03:30", "2025-04-04T20:00:00+03:30"]
    assert history[0].graded_at == history[1].graded_at  # stored, not run again
