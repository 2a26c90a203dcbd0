"""A small course for `davar review`: one automatic and one manual question with a rubric, two students'
notebooks (one of them hostile), and a gradebook holding their results."""

from __future__ import annotations

import json

import pytest

from davar.assignment import load
from davar.book import gradebook
from davar.results import QuestionResult, SandboxRecord, SubmissionResult, TestResult

TOML = '''id = "m"
title = { fa = "تمرین م", en = "Homework m" }
notebooks = ["a.ipynb"]
[[questions]]
id = "1"
points = 5
title = { fa = "یک", en = "one" }
[[questions]]
id = "3"
points = 10
manual = true
cells = ["q3"]
title = { fa = "سوال سه", en = "question three" }
[[questions.rubric]]
text = { fa = "هدف را می‌گوید", en = "States the purpose" }
points = 4
[[questions.rubric]]
text = { fa = "تابع ضرر درست", en = "The right loss" }
points = 6
'''

HOSTILE = ('<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
           '<a href="javascript:window.pwned = 3">click</a><img src="http://127.0.0.1:9/tracker.png">'
           '<img src="https://example.invalid/x.png" alt="ext">')


def _notebook(answer: str, extra: str = "") -> dict:
    def cell(cid: str, kind: str, source: str) -> dict:
        c = {"id": cid, "cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            c |= {"outputs": [], "execution_count": None}
        return c
    cells = [cell("intro", "markdown", "# intro"), cell("q3", "markdown", answer)]
    if extra:
        cells.append(cell("student-added", "code", extra))
    cells.append(cell("q4", "markdown", "NOT THE ANSWER"))
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def result(student: str) -> SubmissionResult:
    auto = QuestionResult(id="1", title={"fa": "یک", "en": "one"}, max_points=5, tests=(
        TestResult(id="t", title={"fa": "", "en": ""}, outcome="passed", points=5, max_points=5),))
    manual = QuestionResult(id="3", title={"fa": "سوال سه", "en": "question three"}, max_points=10, manual=True,
                            tests=(TestResult(id="manual", title={"fa": "", "en": ""}, outcome="manual", points=0,
                                              max_points=10),))
    return SubmissionResult(assignment="m", student=student, digest="d", status="graded", questions=(auto, manual),
                            executions=(), sandbox=SandboxRecord(level="strict", network=False))


@pytest.fixture
def course(tmp_path):
    """(assignment, reports folder, submissions folder) of the small course."""
    (tmp_path / "graders" / "m").mkdir(parents=True)
    (tmp_path / "graders" / "m" / "assignment.toml").write_text(TOML, encoding="utf-8")
    (tmp_path / "reference" / "m").mkdir(parents=True)
    (tmp_path / "reference" / "m" / "a.template.ipynb").write_text(json.dumps(_notebook("write here")), "utf-8")
    answers = {"40010001": _notebook("تقطیر دانش یعنی $L = \\alpha L_{CE}$", "print('hi')"),
               "40010002": _notebook(HOSTILE)}
    for student, nb in answers.items():
        (tmp_path / "submissions" / student).mkdir(parents=True)
        (tmp_path / "submissions" / student / "a.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    a = load(tmp_path / "graders" / "m")
    out = tmp_path / "reports"
    for student in answers:
        gradebook.add(out / "m" / "gradebook.sqlite", result(student))
    return a, out, tmp_path / "submissions"
