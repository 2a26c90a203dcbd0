"""HTML reports: both languages written, RTL + Persian digits, escaping, hidden tests, fonts inlined."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from davar import report
from davar.results import (
    CellRecord,
    ExecutionRecord,
    Message,
    QuestionResult,
    SandboxRecord,
    SubmissionResult,
    TestResult as TResult,  # aliased: pytest would try to collect a class named Test*
)

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
XSS = "<script>alert(1)</script>"
TITLE = {"fa": "تمرین سری دوم", "en": "Homework 2"}
COURSE = {"fa": "یادگیری عمیق", "en": "Deep Learning"}
SANDBOX = SandboxRecord(level="strict", network=False, limits={"memory_mb": 4096, "cell_timeout_s": 300, "pids": 256})


def _execution_ok() -> ExecutionRecord:
    cells = tuple(CellRecord(index=i, execution_count=i + 1, duration_s=0.5, status="ok") for i in range(6))
    return ExecutionRecord(notebook="HW2_CNN.ipynb", status="ok", wall_s=42.25, peak_memory_mb=812.5, cells_total=6, cells=cells)


def graded() -> SubmissionResult:
    q5 = QuestionResult(
        id="5",
        title={"fa": "سوال ۵ — شبکهٔ پیچشی", "en": "Q5 — a CNN"},
        max_points=15,
        tests=(
            TResult(id="model_is_cnn", title={"fa": "مدل پیچشی است", "en": "the model is a CNN"},
                       outcome="passed", points=5, max_points=5),
            TResult(
                id="test_accuracy",
                title={"fa": "دقت روی دادهٔ آزمایشی", "en": "test accuracy above the threshold"},
                outcome="failed",
                points=3.5,
                max_points=5,
                messages=(
                    Message(key="accuracy", values={"measured": 0.8734, "threshold": 0.9},
                            fa="دقت \u2068۸۷٫۳۴٪\u2069 کمتر از آستانهٔ \u2068۹۰٪\u2069 است",
                            en="accuracy 87.34% is below the threshold 90%"),
                ),
            ),
            TResult(id="hidden_accuracy",
                       title={"fa": "عنوان-پنهان-سری", "en": "SECRET-HIDDEN-TITLE"},
                       outcome="failed", points=0, max_points=5, hidden=True,
                       messages=(Message(key="accuracy", fa="پیام-پنهان-سری", en="SECRET-HIDDEN-MESSAGE"),)),
        ),
    )
    q6 = QuestionResult(id="6", title={"fa": "سوال ۶ — تحلیل", "en": "Q6 — analysis"}, max_points=5, manual=True)
    return SubmissionResult(
        assignment="iust-dl-1403-hw2",
        student="40012345",
        digest="sha256:" + "ab" * 32,
        status="graded",
        questions=(q5, q6),
        executions=(_execution_ok(),),
        sandbox=SANDBOX,
        graded_at="2025-04-04T14:30:00+03:30",
        versions={"davar": "0.1.0", "torch": "2.13.0"},
    )


def execution_error() -> SubmissionResult:
    tb = "\n".join(
        [f"\x1b[0;32mline {i}\x1b[0m filler" for i in range(60)]
        + ["\x1b[0;31mValueError\x1b[0m: " + XSS]
    )
    cells = (
        CellRecord(index=0, execution_count=1, duration_s=0.1, status="ok"),
        CellRecord(index=1, execution_count=2, duration_s=0.1, status="ok"),
        CellRecord(index=2, execution_count=3, duration_s=0.1, status="error"),
        CellRecord(index=3, execution_count=None, duration_s=0.0, status="not_run"),
    )
    q = QuestionResult(
        id="5", title={"fa": "سوال ۵", "en": "Q5"}, max_points=15,
        tests=(TResult(id="model_is_cnn", title={"fa": "مدل", "en": "model"}, outcome="not_run",
                          points=0, max_points=5),),
    )
    return SubmissionResult(
        assignment="iust-dl-1403-hw2",
        student="<b>eve</b>",
        digest="sha256:00",
        status="execution_error",
        questions=(q,),
        executions=(ExecutionRecord(notebook="<img src=x onerror=alert(2)>.ipynb", status="error", wall_s=3.0,
                                    peak_memory_mb=None, cells_total=4, cells=cells, failing_cell=2,
                                    error_name="ValueError", error_value=XSS, traceback=tb),),
        sandbox=SANDBOX,
        graded_at="2025-04-04T10:00:00",
    )


def sandbox_violation() -> SubmissionResult:
    return SubmissionResult(
        assignment="iust-dl-1403-hw2",
        student="40099999",
        digest="sha256:11",
        status="sandbox_violation",
        questions=(),
        executions=(ExecutionRecord(notebook="HW2_CNN.ipynb", status="ok", wall_s=1.0, cells_total=1),),
        sandbox=SandboxRecord(
            level="basic", network=False,
            blocked=({"kind": "network", "target": "pypi.org:443"},
                     {"kind": "weird-kind", "target": "/etc/shadow<script>x</script>"}),
        ),
        messages=(Message(key="sandbox_violation", fa="نوت‌بوک تلاش کرد به شبکه وصل شود.",
                          en="The notebook tried to reach the network."),),
    )


def _body(html: str) -> str:
    """The page without its <style> (the base64 fonts would match almost any substring test)."""
    return re.sub(r"<style>.*?</style>", "", html, flags=re.S)


def test_writes_both_files(tmp_path: Path):
    paths = report.render_reports(graded(), tmp_path / "out", assignment_title=TITLE, course=COURSE)
    assert [p.name for p in paths] == ["report.fa.html", "report.en.html"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    fa, en = (p.read_text("utf-8") for p in paths)
    assert '<html lang="fa" dir="rtl">' in fa
    assert '<html lang="en" dir="ltr">' in en


def test_fa_uses_persian_digits_and_jalali_date():
    body = _body(report.render_report(graded(), "fa", assignment_title=TITLE, course=COURSE))
    # total: 5 + 3.5 + 0 (hidden) + 0 (manual) = 8.5 of 15 + 5
    assert "۸٫۵</bdi> از <bdi" in body
    assert "۲۰</bdi>" in body
    assert "۳٫۵" in body  # the failed test's points
    assert "8.5" not in body
    assert "۱۵ فروردین ۱۴۰۴" in body  # 2025-04-04 is 15 Farvardin 1404
    assert TITLE["fa"] in body and COURSE["fa"] in body
    assert "دقت <bdi dir=\"ltr\" class=\"value\">۸۷٫۳۴٪</bdi> کمتر از آستانهٔ" in body  # the message, its values isolated
    assert "accuracy 87.34%" not in body


def test_en_uses_ascii_digits_and_gregorian_date():
    body = _body(report.render_report(graded(), "en", assignment_title=TITLE, course=COURSE))
    assert not any(d in body for d in PERSIAN_DIGITS)
    assert ">8.5</bdi> / <bdi" in body and ">20</bdi>" in body
    assert "4 April 2025, 14:30" in body
    assert "accuracy 87.34% is below the threshold 90%" in body
    assert "test accuracy above the threshold" in body


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_hidden_test_shows_only_existence_and_max(lang):
    body = _body(report.render_report(graded(), lang))
    for secret in ("SECRET-HIDDEN-TITLE", "SECRET-HIDDEN-MESSAGE", "عنوان-پنهان-سری", "پیام-پنهان-سری",
                   "hidden_accuracy"):
        assert secret not in body
    assert str(report.label("hidden_test", lang)) in body
    row = re.search(r'<tr class="hidden-test">(.*?)</tr>', body, re.S).group(1)
    assert report.format_number(5, lang) in row
    assert "outcome-failed" not in row


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_manual_question_awaits_ta(lang):
    body = _body(report.render_report(graded(), lang))
    assert str(report.label("awaiting_ta", lang)) in body
    assert 'class="box box-pending"' in body
    q6 = re.search(r'<article class="question" id="q-6">(.*?)</article>', body, re.S).group(1)
    assert str(report.label("awaiting_ta", lang)) in q6
    assert str(report.label("score_fraction", lang, score=report.label("dash", lang), max=report._num(5, lang))) in q6


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_student_text_is_escaped(lang):
    html = report.render_report(execution_error(), lang)
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>eve</b>" not in html and "&lt;b&gt;eve&lt;/b&gt;" in html
    assert "<img src=x" not in html
    assert "<script" not in html  # no script anywhere, ours included


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_execution_summary(lang):
    body = _body(report.render_report(execution_error(), lang))
    assert "\x1b" not in body and "[0;31m" not in body
    tb = re.search(r'<pre class="traceback" dir="ltr">(.*?)</pre>', body, re.S).group(1)
    assert "ValueError</span>" not in tb and "ValueError: &lt;script&gt;" in tb
    assert "line 59 filler" in tb and "line 20 filler" not in tb  # only the last 40 lines
    assert len(re.findall("filler", tb)) == report.TRACEBACK_LINES - 1
    n = report.format_number  # failing cell 2 (0-based) is shown as cell 3; 3 of 4 cells ran
    assert str(report.label("failing_cell_value", lang, number=report._num(3, lang))) in body
    assert str(report.label("cells_fraction", lang, run=report._num(3, lang), total=report._num(4, lang))) in body
    assert f">{n(21, lang)}</bdi>" in tb  # 61 lines, 21 omitted
    assert str(report.label("status_name.execution_error", lang)) in body


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_sandbox_violation_warning(lang):
    body = _body(report.render_report(sandbox_violation(), lang))
    box = re.search(r'<section class="box box-warning" role="alert">(.*?)</section>', body, re.S).group(1)
    assert "pypi.org:443" in box
    assert str(report.label("blocked_kind_name.network", lang)) in box
    assert "weird-kind" in box  # unknown kinds are shown as they are
    assert "/etc/shadow&lt;script&gt;x&lt;/script&gt;" in box
    msg = "نوت‌بوک تلاش کرد به شبکه وصل شود." if lang == "fa" else "The notebook tried to reach the network."
    assert msg in box


def test_graded_without_violation_has_no_warning_box():
    assert "box-warning" not in _body(report.render_report(graded(), "fa"))


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_fonts_embedded(lang):
    html = report.render_report(graded(), lang)
    assert "@font-face" in html
    assert html.count("data:font/woff2;base64,") == 2
    assert 'url("fonts/' not in html
    assert '"DejaVu Sans", sans-serif' in html


def test_fonts_are_small_and_licensed():
    fonts = Path(report.__file__).parent / "templates" / "fonts"
    assert sum(p.stat().st_size for p in fonts.glob("*.woff2")) < 300_000
    assert "SIL OPEN FONT LICENSE" in (fonts / "OFL.txt").read_text("utf-8").upper()


def test_labels_have_both_languages_and_cover_results_vocabulary():
    from davar.results import OUTCOMES, STATUSES

    labels = report.labels()
    assert all(set(v) == {"fa", "en"} and v["fa"] and v["en"] for v in labels.values())
    for name in STATUSES:
        assert f"status_name.{name}" in labels
    for name in OUTCOMES:
        assert f"outcome_name.{name}" in labels
    for name in ("ok", "error", "timeout", "dead", "not_run"):
        assert f"execution_status_name.{name}" in labels
    for name in ("strict", "basic", "none"):
        assert f"sandbox_level_name.{name}" in labels


def test_unknown_language_rejected():
    with pytest.raises(ValueError):
        report.render_report(graded(), "de")


def test_clean_terminal_text():
    assert report.clean_terminal_text("\x1b[1;31mError\x1b[0m\x07 x\x1b]8;;http://a\x1b\\y") == "Error xy"
