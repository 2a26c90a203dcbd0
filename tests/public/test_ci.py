"""`davar ci` and `davar init-ci`: the notebook found in a submission repository as the intake finds it, JUnit XML
and a Markdown summary that renders nothing the notebook chose, the exit code by policy, and the generated
GitHub workflow run step by step in a git repository holding a sample submission and the student bundle,
installed from that bundle with no network."""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
import yaml

from davar import cli
from davar.errors import AuthoringError
from davar.public import bundle, ci

ROOT = Path(__file__).resolve().parents[2]
GRADER = '''
import pytest
from davar import expect

@pytest.mark.davar(question="1", points=2)
def test_answer(sub):
    expect(sub.value("answer") == 42, "assertion", detail="answer")

@pytest.mark.davar(question="1", points=1, hidden=True)
def test_answer_again(sub):
    expect(sub.value("answer") == 42, "assertion", detail="answer")
'''


def _notebook(path: Path, answer: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"answer = {answer}")]), path)
    return path


def _junit(path: Path) -> dict[str, str]:
    return dict(ET.parse(path).getroot().attrib)


@pytest.fixture
def tiny(tmp_path, one_question):
    return one_question(tmp_path / "graders" / "tiny", GRADER, points=3)


def test_finds_the_notebook_by_its_lenient_name_and_writes_junit_and_the_step_summary(tiny, tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    _notebook(repo / "work" / "HW (1).ipynb", 42)          # the student's, renamed by a download
    _notebook(repo / "bundle" / "hw.ipynb", 41)            # the bundle's template: a course folder, not searched
    (repo / "bundle" / "davar.toml").write_text("")
    _notebook(repo / ".ipynb_checkpoints" / "hw.ipynb", 41)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    (tmp_path / "summary.md").write_text("earlier step\n")
    outcome = ci.run(assignment=str(tiny), repo=repo, junit=tmp_path / "j.xml", level="none")
    assert outcome.folder == (repo / "work").resolve()
    assert outcome.passed and outcome.exit_code == 0
    assert _junit(tmp_path / "j.xml") | {"time": ""} == {"name": "tiny", "tests": "1", "failures": "0", "errors": "0",
                                                            "skipped": "0", "time": ""}
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("earlier step\n## davar: tiny\n") and summary.endswith(outcome.summary)
    assert "2/2" in summary and summary.count("\n| 1 | ") == 1 and outcome.summary_path == tmp_path / "summary.md"


def test_exit_code_by_policy_from_the_command_line(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    repo = tmp_path / "repo"
    _notebook(repo / "hw.ipynb", 41)
    assert cli.main(["ci", str(tiny), "--repo", str(repo), "--junit", str(tmp_path / "j.xml")]) == 1
    out = capsys.readouterr().out  # no $GITHUB_STEP_SUMMARY: the summary on stdout, as GitLab's log shows it
    assert "**Not every public test passed**: 0/2 points." in out and "❌ not passed" in out
    assert _junit(tmp_path / "j.xml")["failures"] == "1"
    assert cli.main(["ci", str(tiny), "--repo", str(repo), "--fail-under", "0"]) == 0
    assert "fewer than" not in capsys.readouterr().out


def test_no_notebook_is_a_usage_error(tiny, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli.main(["ci", str(tiny), "--repo", str(tmp_path / "empty")]) == 2
    assert "hw.ipynb" in capsys.readouterr().err


def test_summary_renders_nothing_a_notebook_chose():
    shown = ci._md("<img src=x onerror=alert(1)> | [win](http://x) **bold**\nnext `code`")
    assert "<" not in shown and "\n" not in shown
    assert "\\|" in shown and "\\[win\\]\\(http://x\\)" in shown and "\\*\\*bold\\*\\*" in shown and "\\`" in shown


def test_init_ci_writes_both_workflows_and_keeps_existing_ones(tmp_path):
    written = ci.init(assignment=str(ROOT / "graders" / "iust-dl-1403-hw2"), repo=tmp_path, bundle="course")
    assert written == [tmp_path / ".github/workflows/davar.yml", tmp_path / ".gitlab-ci.yml"]
    github, gitlab = (yaml.safe_load(p.read_text()) for p in written)
    runs = [s["run"] for s in github["jobs"]["check"]["steps"] if "run" in s]
    assert runs == gitlab["davar"]["script"]
    assert runs[-1] == "davar --course course ci iust-dl-1403-hw2 --junit davar-junit.xml"
    assert gitlab["davar"]["artifacts"]["reports"]["junit"] == "davar-junit.xml"
    with pytest.raises(AuthoringError) as e:
        ci.init(assignment=str(ROOT / "graders" / "iust-dl-1403-hw2"), repo=tmp_path)
    assert e.value.key == "ci_file_exists"
    assert ci.init(assignment=str(ROOT / "graders" / "iust-dl-1403-hw2"), repo=tmp_path, force=True) == written


def test_the_generated_workflow_runs_in_a_submission_repository_offline(tmp_path):
    """The TA's starter repository holds the bundle; the student commits the notebook; the workflow's `run:` steps
    (checkout and setup-python are this test's own) install the bundle and grade the notebook.  Offline: pip
    installs the bundle alone (no index, no dependencies, no build isolation: setuptools and davar's dependencies
    are this environment's) into a target folder that comes first on PYTHONPATH, so `davar` is the bundle's."""
    pytest.importorskip("setuptools", minversion="68")  # what the bundle's pyproject.toml builds with
    ID = "iust-dl-1403-hw2"
    repo = tmp_path / "repo"
    bundle.export(cli.assignment_mod.load(ROOT / "graders" / ID), repo / "davar-bundle")
    shutil.copy(ROOT / "submissions" / ID / "reference_solution" / "HW2_TM.ipynb", repo / "HW2_TM.ipynb")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAVAR_", "PIP_", "GITHUB_", "PYTHON"))}
    git = {"GIT_AUTHOR_NAME": "s", "GIT_AUTHOR_EMAIL": "s@x", "GIT_COMMITTER_NAME": "s", "GIT_COMMITTER_EMAIL": "s@x"}
    assert cli.main(["--course", str(ROOT), "init-ci", ID, "--repo", str(repo)]) == 0
    for command in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-qm", "homework"]):
        subprocess.run(command, cwd=repo, env=env | git, check=True)
    site = tmp_path / "site"
    env |= {"PATH": f"{site / 'bin'}:{Path(sys.executable).parent}:/usr/bin:/bin", "PYTHONPATH": str(site),
            "PIP_TARGET": str(site), "PIP_NO_INDEX": "1", "PIP_NO_DEPS": "1",
            "PIP_NO_BUILD_ISOLATION": "0",  # pip reads this variable inverted: 0 turns isolation off
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    workflow = yaml.safe_load((repo / ".github/workflows/davar.yml").read_text())
    for step in workflow["jobs"]["check"]["steps"]:
        if "run" in step:
            done = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True)
            # The student committed question 4's notebook only: its tests pass, the rest were not run, so CI fails.
            assert done.returncode == (1 if " ci " in step["run"] else 0), (step["run"], done.stdout[-2000:],
                                                                            done.stderr[-2000:])
    used = subprocess.run(["python", "-c", "import davar; print(davar.__file__)"], cwd=repo, env=env,
                          capture_output=True, text=True, check=True).stdout
    assert used.startswith(str(site))  # the command that ran was the bundle's
    # 14 public tests: question 4's two passed; seven not run (no notebook) and five manual are skipped in JUnit
    assert _junit(repo / "davar-junit.xml") | {"time": ""} == {"name": ID, "tests": "14", "failures": "0", "errors": "0",
                                                                "skipped": "12", "time": ""}
    text = (tmp_path / "summary.md").read_text()
    assert "**Not every public test passed**: 3/65 points." in text
    assert "Not run: the submission has no Resnext\\.ipynb\\." in text
    assert "davar\\-bundle" not in text  # the bundle the repository commits is not the student's work


@pytest.mark.parametrize("pinned", [True, False], ids=["bundle_with_constraints", "bundle_exported_before_them"])
def test_the_install_step_pins_the_tas_versions_where_the_bundle_has_them(tmp_path, pinned):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").write_text('#!/bin/sh\necho "$@"\n')  # the step's pip, showing what it was given
    (tmp_path / "bin" / "python").chmod(0o755)
    (tmp_path / "course").mkdir()
    if pinned:
        (tmp_path / "course" / "constraints.txt").write_text("numpy==2.0.0\n")
    ci.init(assignment=str(ROOT / "graders" / "iust-dl-1403-hw2"), repo=tmp_path, bundle="course")
    steps = yaml.safe_load((tmp_path / ".github/workflows/davar.yml").read_text())["jobs"]["check"]["steps"]
    install = next(s["run"] for s in steps if "pip install" in s.get("run", ""))
    done = subprocess.run(["sh", "-e", "-c", install], cwd=tmp_path, capture_output=True, text=True, check=True,
                          env={"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin"})
    pins = ["-c", "course/constraints.txt"] if pinned else []
    assert done.stdout.split() == ["-m", "pip", "install", *pins, "--extra-index-url",
                                   "https://download.pytorch.org/whl/cpu", "./course"]
