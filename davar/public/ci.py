"""`davar ci` and `davar init-ci`: a submission repository's CI grades its notebooks with the public graders.

`davar ci ASSIGNMENT` finds the submission's notebooks in the repository (the shallowest folder whose
notebooks match the assignment's names as leniently as the intake matches them, `HW2_CNN (1).ipynb`
included; folders holding a `davar.toml`, such as the student bundle, and hidden folders are not
searched), runs `davar check` on them (`commands.check`: the public graders, the best sandbox here),
and writes what CI systems read:

- JUnit XML (`--junit FILE`; `reporting.exports.write_junit`, the TA's export, hidden tests never shown);
- a Markdown summary, appended to `$GITHUB_STEP_SUMMARY` when it is set (GitHub renders it on the run's
  page), else printed on stdout (GitLab's job log).  Everything a notebook or a message carries is
  escaped for Markdown and HTML: the summary renders nothing the notebook chose.

The exit code is the policy: 0 when it holds, 1 when not.  By default it holds when the submission was
graded and every public test passed; `--fail-under POINTS` holds when the public points reach POINTS.

`davar init-ci ASSIGNMENT` writes `.github/workflows/davar.yml` and `.gitlab-ci.yml` (templates beside
this file) that install the bundle (`davar export-public`) committed in the repository at `--bundle` (with
the assignment's frameworks and packages, its dependencies; torch as the CPU build), then run `davar ci`.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template

from davar import assignment as assignment_mod
from davar import catalogue, commands
from davar.assignment import COURSE_MARKER, Assignment
from davar.errors import AuthoringError, DavarError, InvalidSubmission
from davar.intake import inbox
from davar.reporting import exports
from davar.results import SubmissionResult

TEMPLATES = Path(__file__).parent / "templates"
WORKFLOWS = {"github": Path(".github/workflows/davar.yml"), "gitlab": Path(".gitlab-ci.yml")}
SKIPPED_FOLDERS = frozenset({"node_modules", "site-packages", "venv", "env", "__pycache__"})
PASSING = ("passed", "manual")


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What `run` did: the result, the Markdown summary, where it went, and whether the policy holds."""

    result: SubmissionResult
    folder: Path
    summary: str
    summary_path: Path | None
    junit: Path | None
    passed: bool

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


def run(*, assignment: str, repo: Path = Path("."), junit: Path | None = None, fail_under: float | None = None,
        lang: str = "en", level: str = "auto", profile: str = "standin", data_root: Path | None = None,
        summary_path: Path | None = None) -> Outcome:
    """Grade the repository's submission with the public graders; write the JUnit XML (with `junit`) and the
    Markdown summary (appended to `summary_path`, default $GITHUB_STEP_SUMMARY; None: the caller prints it)."""
    a = assignment_mod.find(assignment)
    folder = locate(a, Path(repo))
    result = commands.check(assignment=assignment, notebook=folder, level=level, profile=profile, data_root=data_root)
    passed = holds(result, fail_under=fail_under)
    text = summary(result, a, lang=lang, passed=passed, fail_under=fail_under)
    if junit is not None:
        junit = exports.write_junit([result], a, junit)
    target = summary_path or (Path(os.environ["GITHUB_STEP_SUMMARY"]) if os.environ.get("GITHUB_STEP_SUMMARY")
                              else None)
    if target is not None:
        with target.open("a", encoding="utf-8") as f:
            f.write(text)
    return Outcome(result=result, folder=folder, summary=text, summary_path=target, junit=junit, passed=passed)


def locate(a: Assignment, repo: Path) -> Path:
    """The shallowest folder of `repo` holding the assignment's notebook(s) (module docstring)."""
    if not repo.is_dir():
        raise InvalidSubmission("no_such_path", path=str(repo))
    for folder in _folders(repo.resolve()):
        try:
            found = inbox.collect(folder, a)
        except DavarError:
            continue
        if len(found) == 1 and found[0].notebooks and Path(found[0].root).resolve() == folder:
            return folder
    raise InvalidSubmission("no_notebook", expected=", ".join(a.notebooks), path=str(repo))


def _folders(root: Path) -> list[Path]:
    """`root` and the folders under it that hold a notebook, shallowest first (module docstring)."""
    found = []
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_FOLDERS
                         and not (Path(here) / d / COURSE_MARKER).exists())
        if any(f.lower().endswith(".ipynb") for f in files):
            found.append(Path(here))
    return sorted(found, key=lambda p: (len(p.relative_to(root).parts), str(p)))


def holds(result: SubmissionResult, *, fail_under: float | None = None) -> bool:
    """The exit policy: with `fail_under`, the public points reach it; else every public test passed."""
    if result.status != "graded":
        return False
    if fail_under is not None:
        return result.score >= fail_under
    return all(t.outcome in PASSING for q in result.questions for t in q.tests)


def summary(result: SubmissionResult, a: Assignment, *, lang: str, passed: bool, fail_under: float | None) -> str:
    """The Markdown summary: a verdict line, one table row per public test, the submission's notes."""
    values = {"assignment": _md(a.title.get(lang, a.id)), "score": result.score, "max_score": result.max_score,
              "fail_under": fail_under or 0.0}
    variant = "pass" if passed else "fail"
    lines = [f"## {catalogue.text('ci_summary_title', lang, values)}", "",
             catalogue.text("ci_summary_verdict" if fail_under is None else "ci_summary_verdict_under", lang, values,
                            variant=variant), "",
             f"| {catalogue.text('ci_summary_columns', lang)} |", "|---|---|---|---|---|"]
    for q in result.questions:
        for t in q.tests:
            first = next((catalogue.render(m, lang, a.messages) for m in t.messages), "")
            shown = "manual" if t.outcome == "manual" else "pass" if t.outcome in PASSING else "fail"
            cells = (_md(q.id), _md(t.title.get(lang) or t.id),
                     catalogue.text("ci_outcome", lang, variant=shown) + f" ({_md(t.outcome)})",
                f"{catalogue.format_number(t.points, lang, 'points')}/"
                f"{catalogue.format_number(t.max_points, lang, 'points')}", _md(first.splitlines()[0] if first else ""))
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *(f"- {_md(catalogue.render(m, lang, a.messages))}" for m in result.messages)]
    lines.append(catalogue.text("ci_summary_ta", lang))
    return "\n".join(lines) + "\n"


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def _md(text: str) -> str:
    """Plain text as Markdown that renders as that text: HTML escaped, Markdown's punctuation backslashed,
    one line."""
    return _MARKDOWN.sub(r"\\\1", html.escape(" ".join(str(text).split()), quote=False))


def init(*, assignment: str, repo: Path = Path("."), bundle: str = "davar-bundle", force: bool = False) -> list[Path]:
    """Write the GitHub Actions workflow and the GitLab CI job into `repo`; an existing file is kept (an
    AuthoringError naming it) unless `force`."""
    a = assignment_mod.find(assignment)
    values = {"id": a.id, "bundle": bundle}
    written = []
    for kind, rel in WORKFLOWS.items():
        path = Path(repo) / rel
        if path.exists() and not force:
            raise AuthoringError("ci_file_exists", path=str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template((TEMPLATES / f"{kind}.yml").read_text("utf-8")).substitute(values), "utf-8")
        written.append(path)
    return written
