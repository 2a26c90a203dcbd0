"""HTML reports: both languages written, RTL + Persian digits, escaping, hidden tests, fonts inlined."""

from __future__ import annotations

import base64
import dataclasses
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from davar import catalogue
from davar.reporting import report
from davar.results import (
    CellRecord,
    DataRecord,
    ExecutionRecord,
    Figure,
    Lateness,
    Message,
    QuestionResult,
    SandboxRecord,
    SubmissionResult,
)
from davar.results import (
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
    # and a browser would run none, should some slip through: the page may load only its own data: URIs
    assert "content=\"default-src 'none'; img-src data:; font-src data:; style-src 'unsafe-inline'\"" in html


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


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_disk_quota_in_the_limits_and_the_run(lang):
    """`disk_mb` is listed with the other limits, "not enforced" where the level did not (basic); a run that
    filled its quota says why and how much its folder held."""
    filled = dataclasses.replace(execution_error(), executions=(ExecutionRecord(
        notebook="hw.ipynb", status="error", reason="disk_limit", disk_used_mb=64.2, failing_cell=1),),
        sandbox=SandboxRecord(level="basic", network=False, limits={"memory_mb": 4096, "disk_mb": 64},
                              not_enforced=("memory_mb", "disk_mb")))
    body = _body(report.render_report(filled, lang))
    mb = report.label("megabytes", lang, value=report._num(64, lang))
    assert str(report.label("limit_name.disk_mb", lang)) in body
    assert str(report.label("limit_not_enforced", lang, value=mb)) in body
    assert str(report.label("execution_reason_name.disk_limit", lang)) in body
    assert str(report.label("megabytes", lang, value=report._num(64.2, lang))) in body
    strict = dataclasses.replace(filled, sandbox=SandboxRecord(level="strict", network=False,
                                                               limits={"disk_mb": 64}, not_enforced=("tmp_mb",)))
    body = _body(report.render_report(strict, lang))
    assert str(mb) in body and str(report.label("limit_not_enforced", lang, value=mb)) not in body


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_cpu_time_a_run_used_is_shown_where_it_was_counted(lang):
    counted = dataclasses.replace(execution_error(), executions=(ExecutionRecord(
        notebook="hw.ipynb", status="timeout", reason="cpu_limit", cpu_s=301.37, failing_cell=1),))
    body = _body(report.render_report(counted, lang))
    assert str(report.label("cpu_used", lang)) in body
    assert str(report.label("seconds", lang, value=report._num(301.37, lang))) in body
    assert str(report.label("execution_reason_name.cpu_limit", lang)) in body
    uncounted = dataclasses.replace(counted, executions=(ExecutionRecord(notebook="hw.ipynb", status="ok"),))
    assert str(report.label("cpu_used", lang)) not in _body(report.render_report(uncounted, lang))


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


# ---- the complete report: lateness, several notebooks, partial and TA grades, figures ------------


def _png(color=(200, 30, 30), size=(40, 20)) -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def complete() -> SubmissionResult:
    """Late by 1 day 2 h 5 min under a 10 %-per-day policy, two notebooks, every kind of outcome."""
    accuracy = catalogue.message("model_accuracy", {"name": "model", "split": "test", "measured": 0.9234,
                                                    "threshold": 0.95, "earned": 0.5})
    q3 = QuestionResult(
        id="3", title={"fa": "سوال ۳ — دسته‌بندی", "en": "Q3 — classifier"}, max_points=10,
        tests=(
            TResult(id="accuracy", title={"fa": "دقت مدل", "en": "model accuracy"}, outcome="partial",
                    points=3, max_points=6, messages=(accuracy,)),
            TResult(id="prints", title={"fa": "خروجی چاپ‌شده", "en": "printed output"}, outcome="failed",
                    points=0, max_points=2,
                    messages=(Message(key="answer_value", fa=f"مقدار \u2068{XSS}\u2069 نادرست است",
                                      en=f"the value {XSS} is wrong"),)),
            TResult(id="hidden_robust", title={"fa": "پایداری پنهان", "en": "HIDDEN-ROBUSTNESS"}, outcome="passed",
                    points=2, max_points=2, hidden=True,
                    messages=(Message(key="accuracy", fa="پیام-پنهان", en="HIDDEN-MESSAGE"),)),
        ),
    )
    q4 = QuestionResult(
        id="4", title={"fa": "سوال ۴ — تحلیل", "en": "Q4 — analysis"}, max_points=4, manual=True,
        tests=(TResult(id="ta", title={"fa": "تصحیح دستیار", "en": "TA grading"}, outcome="ta_graded",
                       points=3.5, max_points=4,
                       messages=(catalogue.message("ta_comment", {"comment": "نمودار محور ندارد <i>x</i>"}),)),),
    )
    executions = (
        ExecutionRecord(notebook="HW3.ipynb", status="ok", wall_s=12.5, peak_memory_mb=640.0, cells_total=3,
                        cells=tuple(CellRecord(index=i, execution_count=i + 1, duration_s=1.0, status="ok")
                                    for i in range(3))),
        ExecutionRecord(notebook="Q7.ipynb", status="ok", wall_s=30.75, peak_memory_mb=900.0, cells_total=2,
                        cells=tuple(CellRecord(index=i, execution_count=i + 1, duration_s=1.0, status="ok")
                                    for i in range(2))),
    )
    return SubmissionResult(
        assignment="iust-dl-1402-hw3", student="40154321", digest="sha256:" + "cd" * 32, status="graded",
        questions=(q3, q4), executions=executions, sandbox=SANDBOX, graded_at="2025-04-06T09:00:00+03:30",
        lateness=Lateness(submitted_at="2025-04-05T22:35:00+00:00", deadline="2025-04-05T23:59:00+03:30",
                          late_s=(26 * 60 + 5) * 60, days_late=2, penalty=0.2, policy="per_day"),
        figures=(Figure(notebook="HW3.ipynb", cell=4, mime="image/png", data=_png()),
                 Figure(notebook="Q7.ipynb", cell=1, mime="image/jpeg", data=_png((30, 30, 200))),
                 Figure(notebook="Q7.ipynb", cell=2, mime="image/svg+xml", data="")),
    )


def test_header_has_both_calendars_lateness_penalty_and_final_score():
    fa = _body(report.render_report(complete(), "fa", assignment_title=TITLE, course=COURSE))
    en = _body(report.render_report(complete(), "en", assignment_title=TITLE, course=COURSE))
    # submitted 22:35 UTC = 02:05 on 6 April in Tehran (the deadline's zone) = 17 Farvardin 1404
    assert "۱۷ فروردین ۱۴۰۴، ۰۲:۰۵" in fa and "۶ آوریل ۲۰۲۵، ۰۲:۰۵" in fa
    assert "6 April 2025, 02:05" in en and "17 Farvardin 1404, 02:05" in en
    assert "۱۶ فروردین ۱۴۰۴، ۲۳:۵۹" in fa and "5 April 2025, 23:59" in en  # the deadline
    assert "UTC+03:30" in fa and "UTC+03:30" in en
    # late by 1 d 2 h 5 min; 20 % off 8.5 (the withheld hidden test's 2 points counted, as everywhere) → 6.8 of 14
    assert str(report.label("late_by", "en", duration=report.format_duration(93900, "en"),
                            days=report._num(2, "en"))) in en
    assert ">1</bdi> d <bdi class=\"num\">2</bdi> h <bdi class=\"num\">5</bdi> min" in en
    assert "۱</bdi> روز و <bdi class=\"num\">۲</bdi> ساعت و <bdi class=\"num\">۵</bdi> دقیقه" in fa
    assert ">20%</bdi>" in en and ">۲۰٪</bdi>" in fa
    for body, lang in ((fa, "fa"), (en, "en")):
        final = re.search(r'<div class="cell total">(.*?)</div>', body, re.S).group(1)
        assert str(report.label("final_score", lang)) in final
        assert f">{report.format_number(6.8, lang)}</bdi>" in final
        assert f">{report.format_number(14, lang)}</bdi>" in final
        assert str(report.label("late_policy_name.per_day", lang)) in body


def test_on_time_and_no_deadline():
    on_time = dataclasses.replace(complete(), lateness=Lateness(
        submitted_at="2025-04-05T10:00:00+03:30", deadline="2025-04-05T23:59:00+03:30"))
    body = _body(report.render_report(on_time, "en"))
    assert str(report.label("on_time", "en")) in body and ">0%</bdi>" in body
    total = re.search(r'<div class="cell total">(.*?)</div>', body, re.S).group(1)
    assert ">8.5</bdi> / <bdi class=\"num\">14</bdi>" in total  # no penalty: the score, hidden points included
    no_deadline = _body(report.render_report(graded(), "en"))
    assert str(report.label("final_score", "en")) not in no_deadline
    assert str(report.label("submitted_at", "en")) not in no_deadline


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_hidden_tests_withheld_until_released(lang):
    withheld = _body(report.render_report(complete(), lang))
    for secret in ("HIDDEN-ROBUSTNESS", "HIDDEN-MESSAGE", "پایداری پنهان", "پیام-پنهان", "hidden_robust"):
        assert secret not in withheld
    q3 = re.search(r'<article class="question" id="q-3">(.*?)</article>', withheld, re.S).group(1)
    n = report.format_number
    assert f">{n(3, lang)}</bdi>" in q3.split("</div>")[0]  # 3 of 10: the hidden test's 2 points not added
    box = report.label("hidden_withheld", lang, count=report._num(1, lang), points=report._num(2, lang),
                       earned=report._num(2, lang))
    assert str(box) in withheld
    released = _body(report.render_report(complete(), lang, release_hidden=True))
    assert ("HIDDEN-ROBUSTNESS" if lang == "en" else "پایداری پنهان") in released
    assert ("HIDDEN-MESSAGE" if lang == "en" else "پیام-پنهان") in released
    assert str(report.label("hidden_tag", lang)) in released
    q3 = re.search(r'<article class="question" id="q-3">(.*?)</article>', released, re.S).group(1)
    assert f">{n(5, lang)}</bdi>" in q3.split("</div>")[0]
    assert str(box) not in released and "box-note withheld" not in released


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_partial_and_ta_graded(lang):
    body = _body(report.render_report(complete(), lang))
    assert str(report.label("outcome_name.partial", lang)) in body
    assert str(report.label("outcome_name.ta_graded", lang)) in body
    q4 = re.search(r'<article class="question" id="q-4">(.*?)</article>', body, re.S).group(1)
    assert str(report.label("awaiting_ta", lang)) not in q4
    assert f">{report.format_number(3.5, lang)}</bdi>" in q4
    assert "نمودار محور ندارد &lt;i&gt;x&lt;/i&gt;" in q4 and "<i>x</i>" not in q4  # the TA comment, escaped
    assert "box-pending" not in body
    measured = "۹۲٫۳۴٪" if lang == "fa" else "92.34%"
    assert f'<bdi dir="ltr" class="value">{measured}</bdi>' in body or (lang == "en" and measured in body)


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_figures_embedded_as_png_only(lang):
    body = _body(report.render_report(complete(), lang))
    section = re.search(r'<section class="figures">(.*?)</section>', body, re.S).group(1)
    srcs = re.findall(r'<img src="([^"]*)"', section)
    assert srcs == ["data:image/png;base64," + _png(), "data:image/png;base64," + _png((30, 30, 200))]
    assert "svg" not in "".join(srcs)
    assert str(report.label("figure_not_shown", lang)) in section  # the SVG: listed, not embedded
    assert str(report.label("figure_caption", lang, notebook=report.Markup('<bdi class="mono" dir="ltr">Q7.ipynb</bdi>'),
                            cell=report._num(3, lang))) in section  # 0-based cell 2 is cell 3


def test_figure_src_refuses_anything_but_png():
    png = _png()
    assert report.figure_src(Figure(notebook="a", cell=0, mime="image/png", data=png)).endswith(png)
    svg = base64.b64encode(b"<svg onload='alert(1)'/>").decode()
    for bad in (Figure(notebook="a", cell=0, mime="image/svg+xml", data=svg),
                Figure(notebook="a", cell=0, mime="image/png", data=svg),  # not a PNG inside
                Figure(notebook="a", cell=0, mime="image/svg+xml", data=png),  # never for an SVG
                Figure(notebook="a", cell=0, mime="image/png", data=png[:20] + '"><script>' + png[20:]),
                Figure(notebook="a", cell=0, mime="image/png", data="")):
        assert report.figure_src(bad) is None
    many = dataclasses.replace(complete(), figures=tuple(
        Figure(notebook="a.ipynb", cell=i, mime="image/png", data=png) for i in range(report.MAX_FIGURES_SHOWN + 3)))
    body = _body(report.render_report(many, "en"))
    assert body.count("<img ") == report.MAX_FIGURES_SHOWN
    assert str(report.label("figures_more", "en", count=report._num(3, "en"))) in body


def test_several_notebooks_each_get_an_execution_section():
    body = _body(report.render_report(complete(), "en"))
    sections = re.findall(r'<section class="execution">\s*<h2>(.*?)</h2>', body, re.S)
    assert len(sections) == 2
    assert "HW3.ipynb" in sections[0] and "Q7.ipynb" in sections[1]
    assert ">30.75</bdi> s" in body


def test_render_reports_rejects_unknown_format(tmp_path: Path):
    with pytest.raises(ValueError):
        report.render_reports(graded(), tmp_path, formats=("html", "docx"))


# ---- PDF -----------------------------------------------------------------------------------------

_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _pdf_tools():
    pytest.importorskip("weasyprint")
    for tool in ("pdftotext", "pdftoppm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} (poppler-utils) is not installed")


def _pdftotext(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True).stdout
    # pdftotext marks right-to-left runs with embedding controls; the text between them is in logical order
    return _BIDI_CONTROLS.sub("", out.decode("utf-8"))


@pytest.fixture(scope="module")
def persian_pdf(tmp_path_factory) -> Path:
    _pdf_tools()
    path = tmp_path_factory.mktemp("pdf") / "report.fa.pdf"
    return report.render_pdf(complete(), "fa", path, assignment_title=TITLE, course=COURSE)


def _letters(text: str) -> str:
    """Text without what pdftotext moves or drops in Persian: ZWNJ, the hamza above (ٔ), spaces."""
    return re.sub("[\u200c\u0654\\s]", "", text)


def test_persian_pdf_text_is_logical_with_persian_digits(persian_pdf: Path):
    assert persian_pdf.read_bytes().startswith(b"%PDF")
    text = _pdftotext(persian_pdf)
    # the measured accuracy 0.9234 as the catalogue formats it, digits in order, and its threshold
    assert catalogue.format_number(0.9234, "fa", "percent") == "۹۲٫۳۴٪"
    assert "۹۲٫۳۴٪" in text and "۹۵٫۰۰٪" in text
    assert "92.34" not in text and "۴۳٫۲۹" not in text and "۲۹٫۴۳" not in text
    assert "۸٫۵" in text and "۶٫۵" in text and "۶٫۸" in text and "۲۰٪" in text  # score, shown, final, penalty
    assert "۱۷" in text and "۱۴۰۴" in text and "۰۲:۰۵" in text and "UTC+03:30" in text
    letters = _letters(text)
    for words in ("یادگیری عمیق", "نمرهٔ نهایی", "جریمهٔ تأخیر", "فروردین", "آوریل", "نمرهٔ بخشی",
                  "نظر دستیار آموزشی", "نمودار محور ندارد"):
        assert _letters(words) in letters, words
    assert "<script>alert" in text  # student text drawn as text, not markup
    assert "40154321" in text and "HW3.ipynb" in text


def test_persian_pdf_embeds_vazirmatn_and_the_figures(persian_pdf: Path):
    if shutil.which("pdffonts") is None or shutil.which("pdfimages") is None:
        pytest.skip("pdffonts/pdfimages (poppler-utils) are not installed")
    fonts = subprocess.run(["pdffonts", str(persian_pdf)], capture_output=True, check=True, text=True).stdout
    assert re.search(r"\+Vazirmatn\S*\s.*\byes\b", fonts)  # embedded (subset)
    images = subprocess.run(["pdfimages", "-list", str(persian_pdf)], capture_output=True, check=True, text=True).stdout
    sizes = re.findall(r"^\s*\d+\s+\d+\s+image\s+(\d+)\s+(\d+)", images, re.M)
    assert sorted(sizes) == [("40", "20"), ("40", "20")]  # the two PNG figures; the SVG is not drawn


def test_pdf_renderer_fetches_nothing_but_data_uris():
    pytest.importorskip("weasyprint")
    fetcher = report._url_fetcher()
    fetch = getattr(fetcher, "fetch", fetcher)
    for url in ("file:///etc/hostname", "http://example.invalid/x.png", "https://example.invalid/font.woff2"):
        with pytest.raises(ValueError):
            fetch(url)


def test_a_pdf_writers_pages_are_written_in_processes_and_a_failure_is_raised(tmp_path: Path):
    pytest.importorskip("weasyprint")
    html = report.render_report(graded(), "en", assignment_title=TITLE, course=COURSE)
    (tmp_path / "a file").write_text("x")
    with pytest.raises(FileExistsError), report.pdf_writer(workers=2) as write:
        ok = write(html, tmp_path / "ok" / "report.en.pdf")
        write(html, tmp_path / "a file" / "report.en.pdf")
    assert ok.read_bytes().startswith(b"%PDF")  # written before the failure was raised


def _words(pdf: Path) -> list[tuple[str, float, float, float]]:
    """(glyphs left to right as drawn, xMin, xMax, page width) for each word on page 1."""
    xml = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True,
                         check=True).stdout.decode("utf-8")
    width = float(re.search(r'<page width="([\d.]+)"', xml).group(1))
    return [(w, float(x0), float(x1), width)
            for x0, x1, w in re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', xml)]


def test_persian_pdf_page_is_drawn_right_to_left(persian_pdf: Path, tmp_path: Path):
    from PIL import Image, ImageOps

    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(persian_pdf), str(tmp_path / "page")],
                   check=True)
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    assert ImageOps.invert(page).point(lambda v: 255 if v > 60 else 0).getbbox() is not None  # not blank
    # pdftotext -bbox lists glyphs as drawn, left to right: a Persian word comes out reversed, and the
    # course name "یادگیری عمیق" starts at the right margin with its first word to the right of its second
    words = {w[::-1]: (x0, x1, width) for w, x0, x1, width in _words(persian_pdf)}
    (first_x0, first_x1, width), (_, second_x1, _) = words["یادگیری"], words["عمیق"]
    assert first_x1 > 0.85 * width and first_x0 > second_x1


@pytest.fixture(scope="module")
def english_pdf(tmp_path_factory) -> Path:
    _pdf_tools()
    path = tmp_path_factory.mktemp("pdf") / "report.en.pdf"
    return report.render_pdf(execution_error(), "en", path, assignment_title=TITLE, course=COURSE)


def test_english_pdf_is_left_to_right(english_pdf: Path):
    words = {w: (x0, x1, width) for w, x0, x1, width in _words(english_pdf)}
    (deep_x0, deep_x1, width), (learning_x0, _, _) = words["Deep"], words["Learning"]
    assert deep_x0 < 0.15 * width and deep_x1 < learning_x0


def test_english_pdf_escapes_student_text(english_pdf: Path):
    text = _pdftotext(english_pdf)
    assert "ValueError: " + XSS in text  # the error line, drawn as text
    assert "<b>eve</b>" in text  # the student id, as text
    assert "&lt;" not in text


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_messages_are_rendered_when_the_page_is_made_with_the_assignments_wording(lang):
    """A result stores a message's key and values; the page renders them now, from the assignment's
    messages.toml first, so a wording fix there needs no regrade."""
    stored = catalogue.message("missing_name", {"name": "conv2d_2"})
    result = dataclasses.replace(graded(), messages=(stored,))
    assert "conv2d_2" in _body(report.render_report(result, lang))  # the engine's wording
    fixed = {"missing_name": {"en": "REWORDED `{name}`", "fa": "بازنویسی‌شده {name}"}}
    page = _body(report.render_report(result, lang, messages=fixed))
    assert ("REWORDED" if lang == "en" else "بازنویسی‌شده") in page and "conv2d_2" in page


STANDIN_BANNER = {"fa": "این ارسال با داده‌های جایگزینِ مصنوعی نمره گرفته است، نه با داده‌های خودِ درس.",
                  "en": "Graded on synthetic stand-in data, not the course&#39;s data."}


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_result_graded_on_the_standin_says_so_with_its_profile(lang):
    result = dataclasses.replace(graded(), data=DataRecord(profile="standin", digest="d", standin=True))
    body = _body(report.render_report(result, lang))
    assert STANDIN_BANNER[lang] in body and "standin-banner" in body
    assert report.label("data_profile", lang) in body and ">standin</bdi>" in body


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_result_graded_on_real_data_or_from_before_has_no_banner(lang):
    real = dataclasses.replace(graded(), data=DataRecord(profile="real", digest="d", standin=False))
    body = _body(report.render_report(real, lang))
    assert ">real</bdi>" in body
    for html in (body, _body(report.render_report(graded(), lang))):
        assert STANDIN_BANNER[lang] not in html and "standin-banner" not in html and "box-warning" not in html


# ---- one set of numbers: hidden points labelled, one time zone, the time's source, bidi titles ---


def _score_cell(body: str) -> str:
    return re.search(r'<div class="cell">\s*<span class="label">[^<]*</span>\s*<span class="value">(.*?)</div>',
                     body, re.S).group(1)


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_score_includes_withheld_hidden_points_and_says_so(lang):
    """The score is the grade grades.csv, the dashboard and Moodle give (8.5: the hidden test's 2 points
    in it); the note says 6.5 of it is on the page and 2 from hidden tests not yet released."""
    n = report._num
    body = _body(report.render_report(complete(), lang))
    cell = _score_cell(body)
    assert str(report.label("score_fraction", lang, score=n(8.5, lang), max=n(14, lang))) in cell
    note = report.label("score_hidden_note", lang, shown=n(6.5, lang), hidden=n(2, lang))
    assert str(note) in cell and 'class="note score-hidden"' in cell
    # the rows still add up to what is shown: question 3 is 3 of 10, not 5
    q3 = re.search(r'<article class="question" id="q-3">(.*?)</article>', body, re.S).group(1)
    assert str(report.label("score_fraction", lang, score=n(3, lang), max=n(10, lang))) in q3
    released = _body(report.render_report(complete(), lang, release_hidden=True))
    assert str(report.label("score_fraction", lang, score=n(8.5, lang), max=n(14, lang))) in _score_cell(released)
    assert "score-hidden" not in released and "withheld" not in released  # nothing withheld, no label


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_withheld_test_that_earned_nothing_is_still_labelled(lang):
    body = _body(report.render_report(graded(), lang))  # its hidden test failed: 0 of 5
    note = report.label("score_hidden_note", lang, shown=report._num(8.5, lang), hidden=report._num(0, lang))
    assert str(note) in body
    assert str(report.label("hidden_withheld", lang, count=report._num(1, lang), points=report._num(5, lang),
                            earned=report._num(0, lang))) in body


def utc_times() -> SubmissionResult:
    return dataclasses.replace(graded(), graded_at="2026-12-01T20:00:00+00:00",
                               submitted_at="2026-12-01T19:00:00+00:00", time_source="export")


def _fact(body: str, key: str, lang: str) -> str:
    return re.search(rf"<tr><th>{re.escape(str(report.label(key, lang)))}</th><td[^>]*>(.*?)</td></tr>", body,
                     re.S).group(1)


def test_every_time_is_in_the_assignments_zone():
    """graded_at in UTC and submitted_at in UTC both show as Tehran time: 20:00 UTC is 23:30 (+03:30)."""
    en = _body(report.render_report(utc_times(), "en", timezone="Asia/Tehran"))
    graded_at, submitted = _fact(en, "graded_at", "en"), _fact(en, "submitted_at", "en")
    assert "1 December 2026, 23:30" in graded_at and "UTC+03:30" in graded_at and "20:00" not in graded_at
    assert "1 December 2026, 22:30" in submitted and "UTC+03:30" in submitted and "19:00" not in submitted
    fa = _body(report.render_report(utc_times(), "fa", timezone="Asia/Tehran"))
    assert "۱۰ آذر ۱۴۰۵، ۲۳:۳۰" in _fact(fa, "graded_at", "fa")  # Jalali first on the fa page
    assert "۱۰ آذر ۱۴۰۵، ۲۲:۳۰" in _fact(fa, "submitted_at", "fa")
    berlin = _body(report.render_report(utc_times(), "en", timezone="Europe/Berlin"))
    assert "1 December 2026, 21:00" in _fact(berlin, "graded_at", "en") and "UTC+01:00" in berlin
    # no zone given: the deadline's (the assignment's), else Asia/Tehran, never UTC beside Tehran time
    assert "23:30" in _fact(_body(report.render_report(utc_times(), "en")), "graded_at", "en")
    late_one = dataclasses.replace(complete(), graded_at="2025-04-06T05:30:00+00:00")
    page = _body(report.render_report(late_one, "en"))
    assert "6 April 2025, 09:00" in _fact(page, "graded_at", "en")  # the deadline's +03:30
    assert page.count("UTC+03:30") == 3 and "UTC+00:00" not in page  # submitted, deadline, graded


def test_an_unknown_time_zone_is_refused():
    from davar.errors import AssignmentError

    with pytest.raises(AssignmentError):
        report.render_report(utc_times(), "en", timezone="Mars/Olympus")


@pytest.mark.parametrize("lang", ["fa", "en"])
@pytest.mark.parametrize("source", ["export", "git", "file", "ta_csv"])
def test_the_submission_time_says_where_it_comes_from(lang, source):
    result = dataclasses.replace(utc_times(), time_source=source)
    cell = _fact(_body(report.render_report(result, lang)), "submitted_at", lang)
    assert str(report.label(f"time_source_name.{source}", lang)) in cell and 'class="muted time-source"' in cell


def test_time_source_words():
    assert report.labels()["time_source_name.ta_csv"]["en"] == "from the TA's times file"
    assert report.labels()["time_source_name.file_copied"]["en"] == (
        "file times of a copy: no submission time, no late penalty")
    for source in ("export", "git", "file", "file_copied", "ta_csv"):
        assert report.labels()[f"time_source_name.{source}"]["fa"]


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_copy_without_a_submission_time_says_why(lang):
    copied = dataclasses.replace(graded(), submitted_at="", time_source="file_copied")
    cell = _fact(_body(report.render_report(copied, lang)), "submitted_at", lang)
    assert str(report.label("dash", lang)) in cell
    assert str(report.label("time_source_name.file_copied", lang)) in cell
    old = dataclasses.replace(utc_times(), time_source="")  # an older record: the time, no source
    assert "time-source" not in _fact(_body(report.render_report(old, lang)), "submitted_at", lang)
    odd = dataclasses.replace(utc_times(), time_source="<i>x</i>")  # an unknown source, as it is, escaped
    assert "&lt;i&gt;x&lt;/i&gt;" in _fact(_body(report.render_report(odd, lang)), "submitted_at", lang)


MIXED_TITLE = {"fa": "تمرین ۲: q1.ipynb, q2.ipynb", "en": "HW2: q1.ipynb, q2.ipynb — تمرین دوم"}


def test_a_persian_title_with_an_ltr_list_keeps_its_order():
    html = report.render_report(graded(), "fa", assignment_title=MIXED_TITLE)
    body = _body(html)
    assert '<h1>تمرین ۲: <bdi dir="ltr">q1.ipynb, q2.ipynb</bdi></h1>' in body
    title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
    # <title> holds no markup: the run in LRI … PDI, the student id in FSI … PDI
    assert "تمرین ۲: \u2066q1.ipynb, q2.ipynb\u2069" in title and "\u206840012345\u2069" in title
    assert "<bdi" not in title
    en = _body(report.render_report(graded(), "en", assignment_title=MIXED_TITLE))
    assert '<h1>HW2: q1.ipynb, q2.ipynb — <bdi dir="rtl">تمرین دوم</bdi></h1>' in en


def test_runs_of_the_other_direction():
    def runs(text, lang="fa"):
        return str(report.isolate(text, lang))

    # a Persian list: each name on its own, so the list reads right to left
    assert runs("نوت‌بوک‌ها: q1.ipynb، q2.ipynb") == (
        'نوت‌بوک‌ها: <bdi dir="ltr">q1.ipynb</bdi>، <bdi dir="ltr">q2.ipynb</bdi>')
    assert runs("تمرین (hw2)") == 'تمرین (<bdi dir="ltr">hw2</bdi>)'  # brackets outside, paired there
    assert runs("تمرین hw2 (q1) دوم") == 'تمرین <bdi dir="ltr">hw2 (q1)</bdi> دوم'  # a pair stays together
    assert runs("دقت 95% روی test") == 'دقت 95% روی <bdi dir="ltr">test</bdi>'
    assert runs("سوال <b>x</b> y") == 'سوال &lt;<bdi dir="ltr">b&gt;x&lt;/b&gt; y</bdi>'  # escaped, in the run
    assert runs("بدون متن لاتین") == "بدون متن لاتین" and runs("") == ""
    assert runs("Homework 3", "en") == "Homework 3"


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_question_and_test_titles_are_isolated(lang):
    q = dataclasses.replace(graded().questions[0], title={"fa": "سوال ۵: model.fit و Conv2D", "en": "Q5: شبکه"})
    body = _body(report.render_report(dataclasses.replace(graded(), questions=(q,)), lang))
    head = re.search(r"<h3>(.*?)</h3>", body, re.S).group(1)
    assert head == ('سوال ۵: <bdi dir="ltr">model.fit</bdi> و <bdi dir="ltr">Conv2D</bdi>' if lang == "fa"
                    else 'Q5: <bdi dir="rtl">شبکه</bdi>')


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_students_name_is_escaped_with_its_own_direction(lang):
    named = dataclasses.replace(graded(), display_name="علی <script>x</script>")
    body = _body(report.render_report(named, lang))
    assert '<bdi dir="rtl">علی &lt;script&gt;x&lt;/script&gt;</bdi>' in body


def _overridden(points: float = 5.0, outcome: str = "failed", auto_points: float = 3.5, test: str = "test_accuracy"):
    """graded() with a TA's override of one test, as `davar.book.view` applies it."""
    from davar.book.overrides import Override, apply

    return apply(graded(), [Override(
        student="40012345", question="5", test=test, points=points, reason="the model <b>rescales</b> its own input",
        by="سارا", made_at="2025-04-05T10:00:00+00:00", outcome=outcome, auto_points=auto_points, max_points=5)])


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_an_override_is_shown_as_the_tas_decision(lang):
    body = _body(report.render_report(_overridden(), lang, timezone="Asia/Tehran"))
    row = re.search(r'<div class="decision">(.*?)</div>', body, re.S).group(1)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", row))
    if lang == "fa":
        assert "تصمیم دستیار آموزشی" in text and "نتیجهٔ خودکار: مردود، ۳٫۵ از ۵" in text
        assert "نمرهٔ دستیار آموزشی: ۵ از ۵" in text and "۱۶ فروردین ۱۴۰۴، ۱۳:۳۰" in text
    else:
        assert "TA decision" in text and "Automatic result: Failed, 3.5 / 5" in text
        assert "TA&#39;s points: 5 / 5" in text and "5 April 2025, 13:30" in text
    assert "the model &lt;b&gt;rescales&lt;/b&gt; its own input" in row and "<b>rescales" not in body  # escaped
    assert '<bdi dir="rtl">سارا</bdi>' in row
    assert "decision-changed" not in row  # the automatic outcome is still the one the TA saw
    assert str(report.label("outcome_name.ta_graded", lang)) in body
    assert ("۸۷٫۳۴٪" if lang == "fa" else "87.34%") in body  # the grader's own message stays
    q5 = re.search(r'<article class="question" id="q-5">(.*?)</article>', body, re.S).group(1)
    assert f">{report.format_number(10, lang)}</bdi>" in q5.split("</div>")[0]  # 5 passed + 5 by the TA, not 8.5


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_an_override_says_when_the_automatic_outcome_changed_since(lang):
    body = _body(report.render_report(_overridden(outcome="passed", auto_points=5.0), lang))
    changed = re.search(r'<p class="decision-changed">(.*?)</p>', body, re.S).group(1)
    assert str(report.label("outcome_name.passed", lang)) in changed
    assert ("تغییر کرده است" if lang == "fa" else "has changed since this decision") in changed


def test_an_override_of_a_withheld_hidden_test_gives_nothing_away():
    body = _body(report.render_report(_overridden(points=4, test="hidden_accuracy", outcome="failed", auto_points=0),
                                      "en", release_hidden=False))
    assert 'class="decision"' not in body and "rescales" not in body and "SECRET" not in body


def test_the_failing_line_and_one_cell_numbering_in_the_traceback():
    """IPython names a cell by its execution count (davar's setup cell runs first): the traceback shows the
    cell's number in the notebook, the one messages give; the failing line is the failing cell's own."""
    tb = ("\x1b[0;31mZeroDivisionError\x1b[0m  Traceback (most recent call last)\n"
          "Cell \x1b[0;32mIn[5]\x1b[0m, line 3\n      1 x = 1\n      2 # train\n\x1b[0;32m----> 3\x1b[0m train()\n\n"
          "Cell In[4], line 2, in train()\n      1 def train():\n----> 2     return 1 / 0\n\n"
          "ZeroDivisionError: division by zero")
    cells = (CellRecord(index=0, execution_count=None, duration_s=0, status="ok"),  # markdown: never counted
             CellRecord(index=2, execution_count=4, duration_s=0, status="ok"),
             CellRecord(index=4, execution_count=5, duration_s=0, status="error"))
    ex = ExecutionRecord(notebook="hw.ipynb", status="error", cells=cells, failing_cell=4, traceback=tb)
    assert report.failing_line(ex) == (3, "train()")
    shown = report.student_traceback(ex)
    assert "Cell 5, line 3" in shown and "Cell 3, line 2, in train()" in shown and "In[" not in shown
    assert "\x1b" not in shown
    assert report.failing_line(dataclasses.replace(ex, traceback="")) is None


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_a_self_check_report_has_no_student_id_submission_time_or_lateness(lang):
    from davar.commands import self_check_view

    late = Lateness(submitted_at="2026-12-01T10:00:00+03:30", deadline="2025-04-05T23:59:00+03:30",
                    late_s=52_000_000, days_late=606, penalty=1.0, policy="per_day")
    result = dataclasses.replace(graded(), submitted_at=late.submitted_at, time_source="file", lateness=late)
    words = report.labels()
    assert all(words[k][lang] in report.render_report(result, lang) for k in ("student", "submitted_at", "lateness"))
    page = report.render_report(self_check_view(result), lang)
    assert not [k for k in ("student", "submitted_at", "deadline", "lateness", "late_penalty")
                if words[k][lang] in _body(page)]
    assert "40012345" not in page and ("۶۰۶" if lang == "fa" else "606") not in _body(page)
