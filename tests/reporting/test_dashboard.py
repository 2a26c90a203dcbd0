"""The class dashboard: both pages, plots as deterministic inline SVG charts drawn to the numbers behind them,
Persian digits and rtl on the fa page, escaped student ids and links."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from davar import catalogue
from davar.assignment import Question
from davar.reporting import dashboard, report
from davar.results import (
    ExecutionRecord,
    Lateness,
    Message,
    QuestionResult,
    SandboxRecord,
    SubmissionResult,
)
from davar.results import TestResult as TResult

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
SANDBOX = SandboxRecord(level="strict", network=False)
EVIL = '"><script>alert(1)</script>/../x'


class FakeAssignment:
    """What the dashboard reads of an `Assignment`: id, title, course, questions (order and titles)."""

    id = "iust-dl-1402-hw3"
    title = {"fa": "تمرین سوم", "en": "Homework 3"}
    course = {"fa": "یادگیری عمیق", "en": "Deep Learning"}
    questions = (
        Question(id="1", points=4, title={"fa": "سوال ۱ — ضرب ماتریس", "en": "Q1 — matrix product"}),
        Question(id="2", points=6, title={"fa": "سوال ۲ — دسته‌بند", "en": "Q2 — classifier"}),
        Question(id="3", points=2, title={"fa": "سوال ۳ — تحلیل", "en": "Q3 — analysis"}, manual=True),
    )


def _student(i: int, accuracy: float, wall_s: float, status: str = "graded", student: str | None = None,
             penalty: float = 0.0) -> SubmissionResult:
    q1_ok = i % 3 != 0
    acc_points = 4.0 if accuracy > 0.9 else 2.0 if accuracy > 0.8 else 0.0
    accuracy_message = catalogue.message("model_accuracy", {"name": "model", "split": "test", "measured": accuracy,
                                                            "threshold": 0.9, "earned": acc_points / 4})
    q1 = QuestionResult(id="1", title=FakeAssignment.questions[0].title, max_points=4, tests=(
        TResult(id="product", title={"fa": "حاصل‌ضرب", "en": "product"}, outcome="passed" if q1_ok else "failed",
                points=4 if q1_ok else 0, max_points=4),))
    q2 = QuestionResult(id="2", title=FakeAssignment.questions[1].title, max_points=6, tests=(
        TResult(id="shape", title={"fa": "شکل خروجی", "en": "output shape"}, outcome="passed", points=2, max_points=2),
        TResult(id="accuracy", title={"fa": "دقت", "en": "accuracy"},
                outcome="passed" if acc_points == 4 else "partial" if acc_points else "failed",
                points=acc_points, max_points=4, hidden=True, messages=(accuracy_message,)),
    ))
    q3 = QuestionResult(id="3", title=FakeAssignment.questions[2].title, max_points=2, manual=True, tests=(
        TResult(id="ta", title={"fa": "دستیار", "en": "TA"}, outcome="ta_graded" if i % 2 else "manual",
                points=1.5 if i % 2 else 0, max_points=2,
                messages=(Message(key="ta_comment", fa="خوب", en="good"),) if i % 2 else ()),))
    if status != "graded":
        q1 = QuestionResult(id="1", title=q1.title, max_points=4, tests=(
            TResult(id="product", title=q1.tests[0].title, outcome="not_run", points=0, max_points=4),))
    lateness = Lateness(submitted_at="2025-04-06T10:00:00+03:30", deadline="2025-04-05T23:59:00+03:30",
                        late_s=36060, days_late=1, penalty=penalty, policy="per_day") if penalty else None
    return SubmissionResult(
        assignment=FakeAssignment.id, student=student or f"4010{i:04d}", digest=f"sha256:{i:02x}", status=status,
        questions=(q1, q2, q3), sandbox=SANDBOX, graded_at=f"2025-04-07T1{i % 10}:00:00+03:30", lateness=lateness,
        executions=(ExecutionRecord(notebook="HW3.ipynb", status="ok" if status == "graded" else "error",
                                    wall_s=wall_s),
                    ExecutionRecord(notebook="Q7.ipynb", status="ok", wall_s=wall_s / 2)),
    )


def cohort() -> list[SubmissionResult]:
    accuracies = [0.9234, 0.95, 0.88, 0.72, 0.91, 0.85, 0.99, 0.93]
    results = [_student(i, acc, 10.0 + 3 * i, penalty=0.1 if i == 4 else 0.0) for i, acc in enumerate(accuracies)]
    results.append(_student(8, 0.5, 2.0, status="execution_error", student=EVIL))
    return results


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("dash")
    paths = dashboard.render_dashboard(cohort(), FakeAssignment(), out)
    assert [p.name for p in paths] == ["index.html", "index.en.html"]
    return {"fa": paths[0].read_text("utf-8"), "en": paths[1].read_text("utf-8")}


def _body(html: str) -> str:
    return re.sub(r"<style>.*?</style>", "", html, flags=re.S)


SVG = "{http://www.w3.org/2000/svg}"
#: the sections with a chart, in the page's order
CHARTS = ("scores", "statuses", "questions", "tests", "metrics", "runtimes")


def _section(body: str, name: str) -> str:
    return re.search(rf'<section class="plot-section" id="{name}">(.*?)</section>', body, re.S).group(1)


def _charts(html: str) -> list[str]:
    return re.findall(r"<svg .*?</svg>", _body(html), re.S)


def _chart(html: str, section: str) -> ET.Element:
    """The section's one chart, parsed (each is well-formed SVG on its own)."""
    (svg,) = _charts(_section(_body(html), section))
    return ET.fromstring(svg)


def _bars(chart: ET.Element) -> list[dict[str, str]]:
    return [dict(r.attrib) for r in chart.iter(f"{SVG}rect")]


def test_class_stats_numbers():
    stats = dashboard.class_stats(cohort(), FakeAssignment())
    assert [q.id for q in stats.questions] == ["1", "2", "3"]
    assert stats.statuses == {"graded": 8, "execution_error": 1}
    assert stats.max_score == 12
    product = next(t for t in stats.tests if t.id == "product")
    # q1 passes unless i % 3 == 0 (i = 0, 3, 6 of the 8 graded) and the crashed one is not_run
    assert product.outcomes == {"passed": 5, "failed": 3, "not_run": 1}
    assert product.share("other") == pytest.approx(1 / 9)
    accuracy = next(t for t in stats.tests if t.id == "accuracy")
    assert accuracy.hidden and accuracy.outcomes == {"passed": 5, "partial": 2, "failed": 2}
    (metric,) = stats.metrics
    assert metric.key == "model_accuracy" and metric.percent and metric.thresholds == {0.9}
    assert sorted(metric.measured) == sorted([0.9234, 0.95, 0.88, 0.72, 0.91, 0.85, 0.99, 0.93, 0.5])
    assert metric.above == 5
    q3 = stats.questions[2]
    assert q3.awaiting == 5 and len(q3.fractions) == 4  # i odd: TA-graded 1.5 of 2; the rest await a TA
    assert q3.mean == pytest.approx(0.75)
    assert sorted(stats.runtimes["HW3.ipynb"]) == sorted([10.0 + 3 * i for i in range(8)] + [2.0])
    assert len(stats.runtimes["Q7.ipynb"]) == 9


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_pages_direction_and_digits(pages, lang):
    html = pages[lang]
    assert f'<html lang="{lang}" dir="{report.DIRECTION[lang]}">' in html
    text = _body(html)
    if lang == "fa":
        assert "تمرین سوم" in text and "داشبورد کلاس" in text
        assert ">۹</bdi>" in text  # nine submissions
        assert "۱۲</bdi>" in text  # max score
        assert not re.search(r'<bdi class="num">[^<]*[0-9]', text)  # every number in Persian digits
    else:
        assert "Homework 3" in text and not any(d in text for d in PERSIAN_DIGITS)
        assert ">9</bdi>" in text


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_plots_are_inline_svg_charts_in_their_sections(pages, lang):
    body = _body(pages[lang])
    assert len(_charts(pages[lang])) == 6  # scores, statuses, questions, tests, one metric, runtimes
    assert "<img" not in body and "data:image/png" not in body
    names = {s: report.label_text(f"dashboard.{s}", lang) for s in CHARTS}
    names["metrics"] = "دقت" if lang == "fa" else "accuracy"  # the metric's test
    for section in CHARTS:
        chart = _chart(pages[lang], section)
        # the old <img>'s alt text: the chart's accessible name
        assert chart.get("role") == "img" and chart.get("aria-label") == names[section], section
        assert chart.find(f"{SVG}title").text == names[section], section
        assert chart.get("direction") == "ltr" and chart.get("width") == "100%", section
        assert re.fullmatch(r"0 0 640 \d+", chart.get("viewBox")), section
        assert not [e for e in chart.iter() if e.tag in (f"{SVG}script", f"{SVG}style", f"{SVG}image")], section
        bars = _bars(chart)  # something drawn, not an empty frame
        assert bars and all(float(b["width"]) > 0 and float(b["height"]) > 0 for b in bars), section
        lines = list(chart.iter(f"{SVG}line"))
        assert any(line.get("stroke") == "#eaeef2" for line in lines), section  # the grid
        assert any(line.get("x1") != line.get("x2") or line.get("y1") != line.get("y2") for line in lines), section
    viewboxes = {s: int(_chart(pages[lang], s).get("viewBox").split()[3]) for s in CHARTS}
    # the old figures' heights: 300 px, the status bar 110, a metric 240, a share bar 0.38 in a row + 0.9 in
    assert viewboxes == {"scores": 300, "statuses": 110, "questions": 204, "tests": 242, "metrics": 240,
                         "runtimes": 300}


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_charts_are_drawn_to_the_numbers(pages, lang):
    # the status bar: 8 graded, 1 execution error, widths in that proportion, in the statuses' colours
    graded, error = _bars(_chart(pages[lang], "statuses"))
    assert (graded["fill"], error["fill"]) == (dashboard.STATUS_COLOURS["graded"],
                                               dashboard.STATUS_COLOURS["execution_error"])
    assert float(graded["width"]) / float(error["width"]) == pytest.approx(8, rel=0.01)
    assert float(error["x"]) == pytest.approx(float(graded["x"]) + float(graded["width"]), abs=0.02)
    # the score histogram: numpy's counts of the final scores over 10 bins from 0 to the maximum score
    import numpy as np

    counts = np.histogram([r.final_score for r in cohort()], bins=np.linspace(0, 12, 11))[0].tolist()
    bars = _bars(_chart(pages[lang], "scores"))
    width = float(bars[0]["width"])
    origin = float(bars[0]["x"]) - width * counts.index(next(c for c in counts if c))
    drawn = [0] * 10
    unit = min(float(b["height"]) for b in bars) / min(c for c in counts if c)
    for b in bars:
        drawn[round((float(b["x"]) - origin) / width)] = round(float(b["height"]) / unit, 2)
    assert drawn == counts
    # the per-test bars: product passed by 5 of 9, failed by 3, not run by 1
    product = _bars(_chart(pages[lang], "tests"))[:3]
    assert [b["fill"] for b in product] == [dashboard.OUTCOME_COLOURS[k] for k in ("passed", "failed", "other")]
    assert [float(b["width"]) / float(product[0]["width"]) for b in product] == pytest.approx([1, 3 / 5, 1 / 5],
                                                                                              abs=0.01)


def test_rendering_is_deterministic(tmp_path: Path, pages):
    again = dashboard.render_dashboard(cohort(), FakeAssignment(), tmp_path)
    assert again[0].read_text("utf-8") == pages["fa"] and again[1].read_text("utf-8") == pages["en"]


def test_plot_ticks_use_the_page_digits(pages):
    fa, en = (_charts(pages[lang]) for lang in ("fa", "en"))
    for i, chart in enumerate(fa):
        labels = re.findall(r"<text [^>]*>([^<]*)</text>", chart)
        if CHARTS[i] == "questions":  # its rows: the question ids, as written
            labels, ids = labels[:-3], labels[-3:]
            assert ids == ["1", "2", "3"]
        assert labels and all(re.fullmatch("[۰-۹٫٬٪]+", label) for label in labels), labels
    for chart in en:
        labels = re.findall(r"<text [^>]*>([^<]*)</text>", chart)
        assert labels and all(re.fullmatch("[0-9.,%]+", label) for label in labels), labels
    # same data, same geometry: only the tick labels' digits differ (the accessible names are the languages')
    assert [re.sub(r"<text ([^>]*)>[^<]*</text>", r"<text \1/>", c.split("</title>")[1]) for c in fa] == [
        re.sub(r"<text ([^>]*)>[^<]*</text>", r"<text \1/>", c.split("</title>")[1]) for c in en]


def test_a_hostile_row_label_is_text_in_the_chart():
    results = [dataclasses.replace(r, questions=(r.questions[0], dataclasses.replace(r.questions[1], id=EVIL),
                                                 r.questions[2])) for r in cohort()]
    html = dashboard.render_dashboard_page(results, FakeAssignment(), "en")
    assert "<script>" not in _body(html)
    chart = _chart(html, "questions")  # still well-formed: the id is text in it, not markup
    assert EVIL in [t.text for t in chart.iter(f"{SVG}text")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in ET.tostring(chart, encoding="unicode")


def test_no_matplotlib_in_rendering_the_dashboard(tmp_path: Path):
    """matplotlib stays installed (student notebooks use it); rendering the dashboard imports none of it."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import test_dashboard as t; "
            "t.dashboard.render_dashboard(t.cohort(), t.FakeAssignment(), sys.argv[2]); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))")
    done = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(tmp_path)],
                          capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "[]" and (tmp_path / "index.html").exists()


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_student_table_links_and_escaping(pages, lang):
    body = _body(pages[lang])
    rows = re.findall(r'<tr class="student-row">(.*?)</tr>', body, re.S)
    assert len(rows) == 9
    assert any(f'<a href="40100000/report.{lang}.html">' in row for row in rows)
    assert "<script>alert(1)</script>" not in body
    assert "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';" in pages[lang]
    evil_link = dashboard.report_link(EVIL, lang)
    assert "/" not in evil_link.split("/report.")[0] and "<" not in evil_link and '"' not in evil_link
    assert f'<a href="{evil_link}">' in body
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;/../x" in body  # the id itself, shown as text


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_metric_against_threshold(pages, lang):
    body = _body(pages[lang])
    section = re.search(r'<section class="plot-section" id="metrics">(.*?)</section>', body, re.S).group(1)
    summary = report.label("dashboard.metric_summary", lang, count=report._num(9, lang), above=report._num(5, lang),
                           threshold=report.Markup('<bdi class="num">{}</bdi>').format(
                               report.format_percent_short(0.9, lang)),
                           median=report.Markup('<bdi class="num">{}</bdi>').format(
                               report.format_percent_short(0.91, lang)))
    assert str(summary) in section
    assert ("دقت" if lang == "fa" else "accuracy") in section


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_pass_rates_and_status_counts(pages, lang):
    body = _body(pages[lang])
    tests = re.findall(r'<tr class="test-row">(.*?)</tr>', body, re.S)
    assert len(tests) == 4  # product, shape, accuracy (hidden: shown to staff, tagged), ta
    assert str(report.label("hidden_tag", lang)) in tests[2]
    pct = report.format_percent_short
    assert f'<bdi class="num">{pct(5 / 9, lang)}</bdi>' in tests[0]  # product passed by 5 of 9
    status = re.search(r'<tr class="status-row-execution_error">(.*?)</tr>', body, re.S).group(1)
    assert f">{report.format_number(1, lang)}</bdi>" in status
    question = re.search(r'<tr class="question-row" id="question-3">(.*?)</tr>', body, re.S).group(1)
    assert str(report.label("dashboard.awaiting", lang, count=report._num(5, lang))) in question


def test_empty_class(tmp_path: Path):
    paths = dashboard.render_dashboard([], FakeAssignment(), tmp_path)
    body = _body(paths[1].read_text("utf-8"))
    assert str(report.label("dashboard.empty", "en")) in body
    assert "<svg" not in body and "<img" not in body


def test_unknown_language_rejected():
    with pytest.raises(ValueError):
        dashboard.render_dashboard_page(cohort(), FakeAssignment(), "de")


def test_plot_tick_formatters():
    assert dashboard._percent("fa")(0.9) == "۹۰٪"
    assert dashboard._number("fa")(2.5) == "۲٫۵"
    assert dashboard._percent("en")(0.925) == "92.5%"
    assert dashboard._number("en")(12.0) == "12"


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_dashboard_says_how_many_were_graded_on_the_standin(lang):
    from davar.results import DataRecord

    results = cohort()
    standin = DataRecord(profile="standin", digest="d", standin=True)
    marked = [dataclasses.replace(r, data=standin) if i < 2 else r for i, r in enumerate(results)]
    body = _body(dashboard.render_dashboard_page(marked, FakeAssignment(), lang))
    assert "standin-banner" in body and report.label("standin_tag", lang) in body
    count = '<bdi class="num">۲</bdi> ارسال' if lang == "fa" else '<bdi class="num">2</bdi> submission(s) were graded'
    assert count in body and '<bdi class="mono" dir="ltr">standin</bdi>' in body
    real = [dataclasses.replace(r, data=DataRecord(profile="real", digest="d", standin=False)) for r in results]
    for plain in (real, results):
        assert "standin-banner" not in _body(dashboard.render_dashboard_page(plain, FakeAssignment(), lang))


# ---- one set of numbers: hidden points, one time zone, the time's source, names, bidi titles -----


def _rows(body: str) -> list[str]:
    return re.findall(r'<tr class="student-row">(.*?)</tr>', body, re.S)


def _cells(row: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_scores_include_withheld_hidden_points_and_say_how_many(lang):
    """Student 1 (accuracy 0.95): 4 + 2 + 4 (the hidden test) + 1.5 = 11.5, 4 of it from the hidden test,
    the same score as grades.csv and Moodle, and as the headline of the student's own report."""
    body = _body(dashboard.render_dashboard_page(cohort(), FakeAssignment(), lang))
    assert "hidden-note" in body
    row = next(r for r in _rows(body) if ">40100001<" in r)
    score = _cells(row)[3]
    assert f">{report.format_number(11.5, lang)}</bdi>" in score
    assert str(report.label("dashboard.hidden_points", lang, points=report._num(4, lang))) in score
    failed = next(r for r in _rows(body) if ">40100003<" in r)  # accuracy 0.72: the hidden test earned 0
    assert str(report.label("dashboard.hidden_points", lang, points=report._num(0, lang))) in _cells(failed)[3]
    for released in (dashboard.render_dashboard_page(cohort(), FakeAssignment(), lang, release_hidden=True),
                     dashboard.render_dashboard_page(cohort(), Released(), lang)):
        assert "hidden-note" not in _body(released) and "hidden-points" not in _body(released)


class Released(FakeAssignment):
    visibility = dataclasses.make_dataclass("V", [("release_hidden", bool)])(release_hidden=True)


class Berlin(FakeAssignment):
    timezone = "Europe/Berlin"


def _timed() -> list[SubmissionResult]:
    first, second = cohort()[:2]
    return [dataclasses.replace(first, graded_at="2026-12-01T20:00:00+00:00", submitted_at="2026-12-01T19:00:00+00:00",
                                time_source="export", display_name="علی رضایی"),
            # later as text, earlier as a moment (18:30 UTC): not the last graded
            dataclasses.replace(second, graded_at="2026-12-01T22:00:00+03:30", submitted_at="",
                                time_source="file_copied")]


def test_times_are_in_the_assignments_zone_with_their_source():
    body = _body(dashboard.render_dashboard_page(_timed(), FakeAssignment(), "en"))
    last = re.search(r'<td class="graded">(.*?)</td>', body, re.S).group(1)
    assert "1 December 2026, 23:30" in last and "UTC+03:30" in last  # 20:00 UTC, in Tehran
    assert '<bdi class="mono" dir="ltr">Asia/Tehran</bdi>' in body  # the zone, named once
    first, second = (re.search(r'<td class="submitted">(.*?)</td>', r, re.S).group(1) for r in _rows(body))
    assert "1 December 2026, 22:30" in first and str(report.label("time_source_name.export", "en")) in first
    assert str(report.label("dash", "en")) in second
    assert str(report.label("time_source_name.file_copied", "en")) in second
    fa = _body(dashboard.render_dashboard_page(_timed(), FakeAssignment(), "fa"))
    assert "۱۰ آذر ۱۴۰۵، ۲۲:۳۰" in fa and "۱۰ آذر ۱۴۰۵، ۲۳:۳۰" in fa
    berlin = _body(dashboard.render_dashboard_page(_timed(), Berlin(), "en"))
    assert "1 December 2026, 21:00" in berlin and "Europe/Berlin" in berlin


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_the_student_table_has_the_names_from_the_export(lang):
    results = _timed()
    results[1] = dataclasses.replace(results[1], display_name="<script>x</script>")
    body = _body(dashboard.render_dashboard_page(results + cohort()[2:3], FakeAssignment(), lang))
    assert f"<th>{report.label('name', lang)}</th>" in body
    names = [re.search(r'<td class="name">(.*?)</td>', r, re.S).group(1) for r in _rows(body)]
    assert names == ['<bdi dir="auto">علی رضایی</bdi>', '<bdi dir="auto">&lt;script&gt;x&lt;/script&gt;</bdi>',
                     str(report.label("dash", lang))]


class MixedTitle(FakeAssignment):
    title = {"fa": "تمرین ۳: q1.ipynb, q2.ipynb", "en": "HW3 — تمرین سوم"}


def test_a_persian_title_with_an_ltr_list_keeps_its_order():
    html = dashboard.render_dashboard_page(cohort(), MixedTitle(), "fa")
    assert '<h1>داشبورد کلاس — تمرین ۳: <bdi dir="ltr">q1.ipynb, q2.ipynb</bdi></h1>' in html
    assert "<title>داشبورد کلاس — تمرین ۳: \u2066q1.ipynb, q2.ipynb\u2069</title>" in html
    en = dashboard.render_dashboard_page(cohort(), MixedTitle(), "en")
    assert '<h1>Class dashboard — HW3 — <bdi dir="rtl">تمرین سوم</bdi></h1>' in en
    assert "<title>Class dashboard — HW3 — \u2067تمرین سوم\u2069</title>" in en


def test_a_tas_overrides_count_in_the_class_numbers_and_are_flagged_per_student():
    from davar.book.overrides import Override, apply

    before = cohort()
    # student 0 failed `product` (0 / 4); the TA gave 4 when it had passed: the outcome changed since
    made = Override(student=before[0].student, question="1", test="product", points=4.0, reason="r", by="Sara",
                    made_at="2025-04-08T10:00:00+00:00", outcome="passed", auto_points=4.0, max_points=4.0)
    after = [apply(r, [made]) for r in before]
    assert dashboard.class_stats(after).questions[0].full == dashboard.class_stats(before).questions[0].full + 1
    body = _body(dashboard.render_dashboard_page(after, FakeAssignment(), "en"))
    row = next(r for r in re.findall(r'<tr class="student-row">(.*?)</tr>', body, re.S) if before[0].student in r)
    assert "1</bdi> TA override(s)" in row and "automatic result changed since the decision" in row
    assert body.count('class="tag ta-override"') == 1


def test_a_test_the_grader_flags_for_the_ta_is_counted_on_the_students_row():
    before = cohort()
    first = before[0]
    q = first.questions[0]
    flagged = dataclasses.replace(first, questions=(dataclasses.replace(q, tests=(
        dataclasses.replace(q.tests[0], flagged=True), *q.tests[1:])), *first.questions[1:]))
    body = _body(dashboard.render_dashboard_page([flagged, *before[1:]], FakeAssignment(), "en"))
    rows = re.findall(r'<tr class="student-row">(.*?)</tr>', body, re.S)
    assert [first.student in r for r in rows if "for the TA to look at: <bdi" in r] == [True]
