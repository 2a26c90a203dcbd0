"""`davar check` (the student's self-check, in Persian and as JSON), `davar data`, `davar report` and
`davar scores import` (from the gradebook alone)."""

import dataclasses
import html
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from davar import cli, commands
from davar.book import gradebook
from davar.grading.outcome import public_view
from davar.reporting import report
from davar.run import sandbox

SAMPLE = Path(__file__).resolve().parent.parent / "submissions" / "iust-dl-1403-hw2" / "under_threshold" / "HW2_CNN.ipynb"

BIDI_MARKS = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

SAMPLED = sorted(p.name for p in SAMPLE.parents[2].iterdir() if p.is_dir())  # the assignments with sample corpora

pytestmark = pytest.mark.skipif(sandbox.detect().best == "none", reason="needs bubblewrap")


def test_check_prints_a_persian_table_and_fails_on_a_failed_public_test(hw2, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert cli.main(["check", str(hw2.directory), str(SAMPLE), "--lang", "fa"]) == 1
    out = capsys.readouterr().out
    assert "دقت روی دادهٔ آزمایشی بالای آستانه" in out and "مردود" in out and "۰/۵" in out
    assert "hidden_accuracy" not in out and "دقت روی دادهٔ پنهان" not in out  # public graders only ...
    # ... and the hidden test announced by number and points, with the most this check can give
    assert re.search("تصحیح دستیار [۰-۹]+ آزمون پنهان دیگر به ارزش [۰-۹٫]+ نمره", out) and "حداکثر" in out
    assert not set(out) & set(BIDI_MARKS)  # a terminal shows them as gaps and breaks the table's borders


@pytest.mark.parametrize("lang", ["en", "fa"])
def test_a_check_without_a_sandbox_says_which_setting_keeps_bubblewrap_out(lang, capsys, monkeypatch):
    """A student's laptop on Ubuntu 24.04: bubblewrap installed, AppArmor refusing its user namespace.  The check
    runs at `none` and says so, naming the setting, in the student's language (README: sandbox levels)."""
    monkeypatch.setenv("COLUMNS", "300")
    setting = "kernel.apparmor_restrict_unprivileged_userns=1"
    host = sandbox.Capabilities(bwrap=None, root=False, setpriv="/usr/bin/setpriv", prlimit="/usr/bin/prlimit",
                                cgroup=None, userns=False, userns_off=setting)
    monkeypatch.setattr(sandbox, "detect", lambda: host)
    assert cli._best_level(lang) == "none"
    err = capsys.readouterr().err
    assert setting in err and ("bubblewrap is installed" in err if lang == "en" else "فضای نام کاربری" in err)
    monkeypatch.setattr(sandbox, "detect", lambda: dataclasses.replace(host, userns_off=None))
    assert cli._best_level(lang) == "none" and setting not in capsys.readouterr().err  # bubblewrap missing: no hint


#: A notebook that uses the network and goes on when it fails, writes a file of its own and looks for a dataset
#: that is not there.  The address is numeric (TEST-NET-1): no lookup, no packet sent.
ONLINE = ["import socket\ntry:\n    socket.getaddrinfo('192.0.2.1', 80)\nexcept OSError:\n    pass",
          "open('notes.txt', 'w').write('mine')\ntry:\n    open('/no/such/dataset.csv')\nexcept OSError:\n    pass",
          "answer = 42"]


def test_a_check_without_a_sandbox_says_what_the_grade_will_make_of_network_use(tmp_path, one_question, capsys,
                                                                                 monkeypatch):
    """Without a sandbox (a laptop without bubblewrap, a CI runner) nothing stops the network: the check gives what
    the TA's grading gives, "Sandbox violation" and exit 1, and says why and where; the notebook's own file and a
    path that is not there are no violation, as in the grading."""
    from davar.grading.grade import grade_submission
    from davar.intake import inbox

    monkeypatch.setenv("COLUMNS", "300")
    graders = one_question(tmp_path / "graders" / "tiny", CHECKED, points=6)
    nb = tmp_path / "subs" / "s1" / "hw.ipynb"
    nb.parent.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in ONLINE]), nb)
    a = commands.assignment_mod.load(graders)
    graded = grade_submission(inbox.collect(tmp_path / "subs", a)[0], a, level="strict", data_root=tmp_path / "data")
    assert graded.status == "sandbox_violation"
    assert [b["target"] for b in graded.sandbox.blocked] == ["192.0.2.1:80"] and graded.sandbox.not_blocked == ()
    monkeypatch.setattr(sandbox, "detect", lambda: sandbox.Capabilities(
        bwrap=None, root=False, setpriv=None, prlimit=None, cgroup=None, userns=False))
    assert cli.main(["check", str(graders), str(nb), "--json", "--report", str(tmp_path / "reports")]) == 1
    checked = json.loads(capsys.readouterr().out)
    assert checked["status"] == "sandbox_violation" and checked["sandbox"]["level"] == "none"
    assert [b["target"] for b in checked["sandbox"]["not_blocked"]] == ["192.0.2.1:80"]
    assert checked["sandbox"]["blocked"] == []
    for lang, said in (("en", "The notebook used the network 1 time(s): 192.0.2.1:80."),
                       ("fa", "از شبکه استفاده کرد")):
        page = (tmp_path / "reports" / f"report.{lang}.html").read_text(encoding="utf-8")
        assert str(report.label("not_blocked_title", lang)) in page and said in page


@pytest.fixture
def laptop():
    """Two folders of the host outside /tmp (the sandbox has its own /tmp): a student's data, and a library's."""
    made = [Path(tempfile.mkdtemp(dir="/var/tmp", prefix="davar-laptop-")) for _ in range(2)]
    yield made
    for folder in made:
        shutil.rmtree(folder)


def test_a_check_without_a_sandbox_fails_reading_the_students_own_files_as_the_grading_will(tmp_path, one_question,
                                                                                           laptop, capsys,
                                                                                           monkeypatch):
    """A notebook that reads its data where it is on the student's laptop works there and fails in the grading,
    whose sandbox has no such path.  Without a sandbox the check refuses what the cells name outside what that
    sandbox shows, with the same FileNotFoundError, and says why; a path no cell names (a library's own file) and
    the notebook's own files are read as before."""
    monkeypatch.setenv("COLUMNS", "300")
    data, library = laptop
    (data / "train.csv").write_text("a,b\n1,2\n")
    (library / "answer.txt").write_text("42")
    cells = [f"import os\nrows = open({str(data / 'train.csv')!r}).read().splitlines()",
             f"try:\n    listed = os.listdir({str(data)!r})\nexcept FileNotFoundError:\n    listed = None",
             "open('notes.txt', 'w').write('41')\npredict = int(open('notes.txt').read()) - 40",
             f"answer = int(open(bytes.fromhex({str(library / 'answer.txt').encode().hex()!r}).decode()).read())"]
    graders = one_question(tmp_path / "graders" / "tiny", CHECKED, points=6)
    nb = tmp_path / "subs" / "s1" / "hw.ipynb"
    nb.parent.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), nb)
    monkeypatch.setattr(sandbox, "detect", lambda: sandbox.Capabilities(
        bwrap=None, root=False, setpriv=None, prlimit=None, cgroup=None, userns=False))
    assert cli.main(["check", str(graders), str(nb), "--json", "--report", str(tmp_path / "reports")]) == 1
    checked = json.loads(capsys.readouterr().out)
    assert checked["status"] == "execution_error" and checked["score"] == 3  # answer and predict: read as before
    assert [(r["op"], r["target"]) for r in checked["sandbox"]["refused"]] == [
        ("open", str(data / "train.csv")), ("os.listdir", str(data))]
    assert checked["sandbox"]["not_blocked"] == [] and checked["sandbox"]["blocked"] == []
    raised = [m for m in checked["messages"] if m["key"] == "cell_raised"]
    assert [m["values"]["cell"] for m in raised] == [1] and "FileNotFoundError" in raised[0]["values"]["error"]
    for lang, said in (("en", f"used 2 path(s) outside its own folder and the course's data, named in its cells: "
                              f"{data / 'train.csv'}, {data}. The course's grading runs it in a sandbox that has none"),
                       ("fa", "مسیر بیرون از پوشهٔ خود و داده‌های درس استفاده کرد که در سلول‌هایش نام برده شده‌اند")):
        page = html.unescape((tmp_path / "reports" / f"report.{lang}.html").read_text(encoding="utf-8"))
        assert said in page and f"{data / 'train.csv'}, {data}" in page


@pytest.mark.corpus("iust-dl-1403-hw2")
def test_check_json_is_the_public_result_the_tas_grade_gives(hw2, corpus, capsys, tmp_path):
    assert cli.main(["check", str(hw2.directory), str(SAMPLE.parent), "--json", "--report", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    checked = {(q["id"], t["id"]): (t["outcome"], t["points"], t["max_points"])
               for q in result["questions"] for t in q["tests"]}
    graded = corpus("iust-dl-1403-hw2")[1]["under_threshold"]  # the TA's `davar grade` of the same notebook
    assert checked == {(q.id, t.id): (t.outcome, t.points, t.max_points)
                       for q in public_view(graded).questions for t in q.tests}
    assert result["score"] == public_view(graded).score and result["max_score"] == public_view(graded).max_score
    assert checked[("5", "test_accuracy")] == ("failed", 0, 5) and result["status"] == "graded"
    assert "\x1b" not in captured.out and result["figures"] == []  # figures only with --figures
    assert result["student"] == "" and result["submitted_at"] == "" and result["lateness"] is None
    # the report's path is printed, and the self-check report has no student id, submission time or lateness
    assert f"Report: {(tmp_path / 'report.en.html').resolve()}" in captured.err
    assert (tmp_path / "report.fa.html").is_file()
    page = (tmp_path / "report.en.html").read_text(encoding="utf-8")
    words = report.labels()
    assert not [k for k in ("student", "submitted_at", "deadline", "lateness", "late_penalty")
                if words[k]["en"] in page[page.index("<body"):]]


#: What a check says about the hidden test of `CHECKED`, its notebook cut short and a near-miss name.
CHECKED = '''
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=2)
def test_answer(sub):
    expect(sub.value("answer") == 42, "assertion", detail="answer")

@pytest.mark.davar(question="1", points=1)
def test_predict(sub):
    expect(sub.value("predict") == 1, "assertion", detail="predict")

@pytest.mark.davar(question="1", points=3, hidden=True)
def test_secret(sub):
    expect(sub.value("answer") == 42, "assertion", detail="a secret")
'''


def test_a_check_says_what_stopped_the_notebook_first_and_what_it_cannot_grade(tmp_path, one_question, capsys,
                                                                                monkeypatch):
    """The cell that stopped the run comes first with its line; a name its later cell defines is "not run:
    the notebook stopped at cell N"; a near-miss name gets a hint; the hidden test is announced."""
    monkeypatch.setenv("COLUMNS", "300")
    graders = one_question(tmp_path / "graders" / "tiny", CHECKED, points=6, extra='on_cell_error = "stop"')
    nb = tmp_path / "mine" / "hw.ipynb"
    nb.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# mine"), nbformat.v4.new_code_cell("predict_labels = 1"),
        nbformat.v4.new_code_cell("x = 1\ny = x / 0"), nbformat.v4.new_code_cell("answer = 42")]), nb)
    assert cli.main(["check", str(graders), str(nb), "--report", str(tmp_path / "reports")]) == 1
    out = capsys.readouterr().out
    first, line = out.splitlines()[:2]
    assert first == "hw.ipynb: cell 3 raised ZeroDivisionError: division by zero; the cells after it did not run."
    assert line == "hw.ipynb, cell 3, line 2: y = x / 0"
    assert ("Not run: hw.ipynb stopped at cell 3 (ZeroDivisionError: division by zero), so cell 4, which defines "
            "`answer`, never ran.") in out
    assert "The notebook does not define `predict`. Did you mean `predict_labels`?" in out
    assert "also runs 1 hidden test(s) worth 3 point(s)" in out and "at most 3 point(s)" in out
    assert "a secret" not in out and "secret" not in out
    page = (tmp_path / "reports" / "report.en.html").read_text(encoding="utf-8")
    assert "Cell 3, line 2" in page and "Cell In[" not in page  # one cell numbering: the traceback's too


def test_a_check_finds_the_course_above_the_notebook_or_says_where_to_run(repo, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DAVAR_COURSE", raising=False)
    found = commands.find_for_check("iust-dl-1403-hw2", repo / "submissions" / "iust-dl-1403-hw2" / "x.ipynb")
    assert found.directory == repo / "graders" / "iust-dl-1403-hw2"  # the notebook lies inside the course
    assert cli.main(["check", "iust-dl-1403-hw2", str(tmp_path / "hw.ipynb")]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "cannot find the graders of iust-dl-1403-hw2" in err and "davar --course BUNDLE check" in err


def test_a_check_keeps_the_limits_the_handout_promises(hw2):
    """The stand-in profile stops a cell at 150 s for the TA's batch; the handout promises 5 minutes."""
    assert hw2.limits("standin").cell_timeout_s == 150 and hw2.base_limits.cell_timeout_s == 300
    promised = commands.as_promised(hw2, "standin")
    assert promised.limits("standin").cell_timeout_s == 300 and promised.limits("standin").total_timeout_s == 900
    assert hw2.limits("standin").cell_timeout_s == 150  # the TA's assignment is left as it was


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


@pytest.mark.corpus("iust-dl-1403-hw2")
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
    # again, the text formats alone: the PDFs and the xlsx carry their creation time and are not compared
    assert cli.main([*args[:-1], "html,csv,moodle,gradescope,junit"]) == 0
    assert {p: p.read_bytes() for p in made} == made  # the same bytes, from the gradebook alone


@pytest.mark.corpus("iust-dl-1402-hw2")
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


#: A hidden test written first that changes what a public test finds: the grade runs it after the public ones.
ORDERED = '''
import pytest
from davar import expect

SEEN = []

@pytest.mark.davar(question="1", points=3, hidden=True)
def test_secret(sub):
    SEEN.append("secret")
    expect(sub.value("answer") == 42, "assertion", detail="secret")

@pytest.mark.davar(question="1", points=2)
def test_answer(sub):
    expect(sub.value("answer") == 42 and not SEEN, "assertion", detail="answer")
'''


def test_check_and_grade_run_the_public_tests_alike(tmp_path, one_question):
    """A check leaves the hidden tests out; the grade runs them after the public ones, so a hidden test that
    changes what the public ones find cannot make the grade's public outcomes differ from the check's."""
    from davar.grading.grade import grade_submission
    from davar.intake import inbox

    graders = one_question(tmp_path / "graders" / "tiny", ORDERED, points=5)
    nb = tmp_path / "subs" / "s1" / "hw.ipynb"
    nb.parent.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("answer = 42")]), nb)
    a = commands.assignment_mod.load(graders)
    [submission] = inbox.collect(tmp_path / "subs", a)
    graded = grade_submission(submission, a, level=sandbox.choose_level("auto"), data_root=tmp_path / "data")
    checked = commands.check(assignment=str(graders), notebook=nb, data_root=tmp_path / "data")
    assert [(t.id, t.outcome) for q in graded.questions for t in q.tests] == [("answer", "passed"), ("secret", "passed")]
    def shown(result):
        return [(q.id, q.max_points, [(t.id, t.outcome, t.points, t.max_points, t.messages) for t in q.tests])
                for q in result.questions]
    assert shown(public_view(graded)) == shown(checked) and checked.score == 2


#: A grader comparing with a reference whose framework (a module of the test's own) is imported inside its function.
FROM_REFERENCE = '''
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=2)
def test_answer(sub, reference):
    expect(sub.value("answer") == reference.answer(), "assertion", detail="answer")
'''


def test_a_check_imports_what_the_reference_imports_while_its_kernel_starts(tmp_path, one_question, monkeypatch,
                                                                            capfd):
    """A reference imports torch or keras inside its functions; a check imports them once its kernel is starting
    and before the graders run, rather than after the notebook ran (`Assignment.grader_imports`), and what they
    print on the file descriptors (TensorFlow's C++ log) is not shown."""
    framework = "davar_test_framework"
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / f"{framework}.py").write_text(
        "import os\nos.write(1, b'framework says\\n')\nos.write(2, b'framework logs\\n')\nANSWER = 42\n")
    monkeypatch.syspath_prepend(tmp_path / "site")
    graders = one_question(tmp_path / "graders" / "tiny", FROM_REFERENCE, points=2)
    (tmp_path / "reference" / "tiny").mkdir(parents=True)
    (tmp_path / "reference" / "tiny" / "reference.py").write_text(
        f"def answer():\n    import {framework}\n    return {framework}.ANSWER\n")
    nb = tmp_path / "hw.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("answer = 42")]), nb)
    imported = []  # whether the framework was imported when the kernel started, and when the graders began
    pool, grade = commands.Pool, commands.grade_submission
    monkeypatch.setattr(commands, "Pool", lambda *a, **kw: imported.append(framework in sys.modules) or pool(*a, **kw))
    monkeypatch.setattr(commands, "grade_submission",
                        lambda *a, **kw: imported.append(framework in sys.modules) or grade(*a, **kw))
    try:
        checked = commands.check(assignment=str(graders), notebook=nb, data_root=tmp_path / "data")
    finally:
        sys.modules.pop(framework, None)
    assert imported == [False, True] and checked.score == 2
    assert "framework" not in "".join(capfd.readouterr())


@pytest.mark.parametrize("assignment_id", [pytest.param(a, marks=pytest.mark.corpus(a)) for a in SAMPLED])
def test_check_gives_every_sample_the_public_outcomes_and_points_of_its_grade(assignment_id, corpus):
    """Every sample of every assignment: what `davar check` shows (the grade's run, its hidden tests left out:
    `public_view`; check and grade share that run but for the hidden tests, run last) has the grade's public
    outcomes and points, and announces exactly the hidden tests' number and points.  The samples' grades are
    the corpus the course tests grade anyway: nothing runs twice."""
    from davar.grading.outcome import hidden_announcement

    _, results = corpus(assignment_id)
    assert results
    for student, graded in results.items():
        checked = public_view(graded)
        public = {(q.id, t.id): (t.outcome, t.points, t.max_points) for q in graded.questions for t in q.tests
                  if not t.hidden}
        assert {(q.id, t.id): (t.outcome, t.points, t.max_points) for q in checked.questions for t in q.tests} == \
            public, student
        for q in checked.questions:
            assert q.manual or q.max_points == sum(t.max_points for t in q.tests), (student, q.id)
        hidden = [t.max_points for q in graded.questions for t in q.tests if t.hidden]
        told = hidden_announcement(hidden, checked.questions).values
        assert told["count"] == len(hidden) and told["points"] == sum(hidden), student
        assert checked.score == round(graded.score - sum(t.points for q in graded.questions for t in q.tests
                                                           if t.hidden), 6), student


def test_a_bundles_withheld_tests_are_what_its_check_announces(tmp_path, one_question):
    """In a student bundle the hidden tests are cut from the graders: its withheld.toml says how many and
    what they are worth (a parametrized test once per instance; points its source does not state count 0)."""
    graders = one_question(tmp_path / "graders" / "tiny", CHECKED, points=6)
    a = commands.assignment_mod.load(graders)
    assert commands._withheld(a) == []  # a course repository: the check deselects its hidden tests itself
    (tmp_path / "withheld.toml").write_text(
        '[[tests]]\nname = "test_secret"\nquestion = "1"\npoints = 3.0\ninstances = 2\nreason = "hidden"\n'
        '[[tests]]\nname = "test_key"\nquestion = "1"\nreason = "answer_key"\n', encoding="utf-8")
    assert commands._withheld(a) == [3.0, 3.0, 0.0]


def test_check_json_has_no_escape_codes_and_figures_only_when_asked():
    from davar.results import CellRecord, ExecutionRecord, Figure, SandboxRecord, SubmissionResult

    cells = (CellRecord(index=3, execution_count=2, duration_s=0, status="error"),)
    result = SubmissionResult(
        assignment="a", student="", digest="sha256:00", status="execution_error", questions=(),
        sandbox=SandboxRecord(level="none", network=True), figures=(Figure(notebook="hw.ipynb", cell=3,
                                                                            mime="image/png", data="iVBORw0K"),),
        executions=(ExecutionRecord(notebook="hw.ipynb", status="error", cells=cells, failing_cell=3,
                                    traceback="Cell \x1b[0;32mIn[2]\x1b[0m, line 1\n\x1b[0;31m----> 1\x1b[0m 1/0"),))
    plain = json.loads(cli.check_json(result))
    assert plain["figures"] == [] and plain["executions"][0]["traceback"] == "Cell 4, line 1\n----> 1 1/0"
    # one numbering: the cell the traceback and the messages call 4 is 4 in the JSON too
    assert plain["executions"][0]["failing_cell"] == 4 and plain["executions"][0]["cells"][0]["index"] == 4
    with_figures = json.loads(cli.check_json(result, figures=True))
    assert with_figures["figures"][0]["data"] == "iVBORw0K" and with_figures["figures"][0]["cell"] == 4
