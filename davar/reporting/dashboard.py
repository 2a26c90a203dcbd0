"""The class dashboard: one page per language (``index.html`` in Persian, ``index.en.html``) over every
student's latest result, for the course staff.

``render_dashboard(results, assignment, out_dir)`` writes both pages, from views (``davar.book.view``:
TA scores merged, lateness computed there).  It shows the score histogram,
per-question and per-test pass rates, the distribution of every measured metric (accuracy, Dice, …:
a message whose values have ``measured`` and ``threshold``) against its threshold, notebook run
times, status counts and a table of students linking to their reports (``<student>/report.fa.html``).
It shows hidden tests too: it is the staff's view, not a student's.

The numbers are those of the student's report, grades.csv and Moodle (the rule is in
davar/reporting/report.py's docstring): a score includes the points of hidden tests not yet released
to students (``[visibility] release_hidden`` false), and while any test is withheld the page says so
(a note above the student table) and each student's score says how many of its points come from
those tests (`report.hidden_points`, ``hidden_points`` in grades.csv).  Every time is in the
assignment's zone (``timezone``), named in the header; each submission time says where it comes from
(``time_source``).  A student's name from the LMS export (``display_name``) is in the student table.

Plots are inline SVG drawn by `davar.reporting.charts` (why not matplotlib: its docstring), so a page is
one file and the browser (or WeasyPrint) shapes their text in the page's font; tick labels are in the
page's digits, Persian digits on the fa page.  The words about a plot (titles, legends, which bar is
which test) are HTML around it, from ``templates/labels.toml``, and its accessible name (``<title>``)
is the section's heading (a metric's: its test's title).  The same results give byte-identical pages.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any, TypeGuard
from urllib.parse import quote

from markupsafe import Markup

from davar import catalogue
from davar.reporting import charts
from davar.reporting.report import (
    DIRECTION,
    LANGS,
    _environment,
    _named,
    _num,
    _parse_time,
    _pick,
    format_both_calendars,
    format_number,
    format_percent_short,
    format_timestamp,
    hidden_points,
    isolate,
    isolate_plain,
    label,
    label_text,
    stylesheet,
    time_source_label,
    time_zone,
)
from davar.results import STATUSES, SubmissionResult

#: Colours shared by the plots and the page's legends (report.css has the same ones).
OUTCOME_COLOURS = {"passed": "#1a7f37", "partial": "#d4a72c", "failed": "#cf222e", "other": "#8c959f"}
STATUS_COLOURS = {"graded": "#1a7f37", "execution_error": "#bc4c00", "timeout": "#d4a72c",
                  "invalid_submission": "#cf222e", "missing": "#6e7781",
                  "sandbox_violation": "#8250df"}
SERIES_COLOURS = ("#0969da", "#bc4c00", "#1a7f37", "#8250df", "#cf222e", "#57606a", "#d4a72c", "#1b7c83")


# ---- numbers, language-independent ---------------------------------------------------------------


def _decided(result: SubmissionResult, key: str) -> list[str]:
    """The ids of the result's tests that carry a TA decision's message `key` (`report.DECISION_KEYS`)."""
    return [t.id for q in result.questions for t in q.tests if any(m.key == key for m in t.messages)]


@dataclass
class TestStats:
    __test__ = False  # not a pytest test class

    question: str
    id: str
    title: dict[str, str]
    hidden: bool
    outcomes: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    def share(self, kind: str) -> float:
        """Share of students whose outcome is ``kind`` ("other": anything but passed/partial/failed)."""
        if not self.total:
            return 0.0
        n = (self.total - sum(self.outcomes[k] for k in ("passed", "partial", "failed")) if kind == "other"
             else self.outcomes[kind])
        return n / self.total


@dataclass
class QuestionStats:
    id: str
    title: dict[str, str]
    max_points: float
    manual: bool
    fractions: list[float] = field(default_factory=list)  # each student's points / max_points
    awaiting: int = 0  # students whose manual question a TA has yet to mark

    @property
    def mean(self) -> float:
        return statistics.fmean(self.fractions) if self.fractions else 0.0

    @property
    def full(self) -> int:
        return sum(1 for f in self.fractions if f >= 1 - 1e-9)


@dataclass
class MetricStats:
    """The measured values of one message of one test, e.g. test accuracy of question 3."""

    question: str
    test: str
    title: dict[str, str]
    key: str
    percent: bool  # the message shows the value as a percentage
    measured: list[float] = field(default_factory=list)
    thresholds: set[float] = field(default_factory=set)

    @property
    def above(self) -> int:
        threshold = min(self.thresholds)
        return sum(1 for m in self.measured if m > threshold)


@dataclass
class ClassStats:
    results: list[SubmissionResult]
    max_score: float
    statuses: Counter
    questions: list[QuestionStats]
    tests: list[TestStats]
    metrics: list[MetricStats]
    runtimes: dict[str, list[float]]  # notebook -> wall seconds of each run that started


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _shows_percent(key: str, course: Any) -> bool:
    try:
        return all("{measured:percent}" in catalogue.template(key, "en", variant, course=course)
                   for variant in ("pass", "fail"))
    except (KeyError, TypeError):
        return False


def class_stats(results: Iterable[SubmissionResult], assignment: Any = None) -> ClassStats:
    """Everything the dashboard plots, from the results alone (``assignment`` only orders questions
    and supplies titles for ones no result has)."""
    results = sorted(results, key=lambda r: r.student)
    questions: dict[str, QuestionStats] = {}
    for q in getattr(assignment, "questions", ()):
        questions[q.id] = QuestionStats(id=q.id, title=q.title, max_points=q.points, manual=q.manual)
    tests: dict[tuple[str, str], TestStats] = {}
    metrics: dict[tuple[str, str, str], MetricStats] = {}
    runtimes: dict[str, list[float]] = {}
    for r in results:
        for q in r.questions:
            qs = questions.setdefault(q.id, QuestionStats(id=q.id, title=q.title, max_points=q.max_points,
                                                           manual=q.manual))
            if q.awaiting_ta:
                qs.awaiting += 1
            elif q.max_points > 0:
                qs.fractions.append(q.points / q.max_points)
            for t in q.tests:
                ts = tests.setdefault((q.id, t.id), TestStats(question=q.id, id=t.id, title=t.title, hidden=t.hidden))
                ts.outcomes[t.outcome] += 1
                for m in t.messages:
                    measured, threshold = m.values.get("measured"), m.values.get("threshold")
                    if _is_number(measured) and _is_number(threshold):
                        percent = _shows_percent(m.key, getattr(assignment, "messages", None))
                        ms = metrics.setdefault((q.id, t.id, m.key), MetricStats(
                            question=q.id, test=t.id, title=t.title, key=m.key, percent=percent))
                        ms.measured.append(float(measured))
                        ms.thresholds.add(float(threshold))
        for ex in r.executions:
            if ex.status != "not_run":
                runtimes.setdefault(ex.notebook, []).append(ex.wall_s)
    order = {q.id: i for i, q in enumerate(getattr(assignment, "questions", ()))}

    def by_question(key: tuple[str, ...]) -> tuple[int, str]:  # the assignment's order, then unknown ids
        return order.get(key[0], len(order)), key[0]

    return ClassStats(
        results=results,
        max_score=max((r.max_score for r in results), default=0.0),
        statuses=Counter(r.status for r in results),
        questions=sorted(questions.values(), key=lambda q: by_question((q.id,))),
        tests=[tests[k] for k in sorted(tests, key=by_question)],
        metrics=[metrics[k] for k in sorted(metrics, key=lambda k: (*by_question(k), k[2]))],
        runtimes=dict(sorted(runtimes.items())),
    )


# ---- plots ---------------------------------------------------------------------------------------


def _number(lang: str) -> charts.Format:
    return lambda value: format_number(value, lang)


def _percent(lang: str) -> charts.Format:
    return lambda value: format_percent_short(value, lang)


def _score_histogram(stats: ClassStats, lang: str) -> Markup:
    top = stats.max_score or 1.0
    scores = [min(max(r.final_score, 0.0), top) for r in stats.results]
    return charts.histogram([(scores, SERIES_COLOURS[0])], charts.bin_edges(0.0, top, 10),
                            title=label_text("dashboard.scores", lang), x_format=_number(lang),
                            count_format=_number(lang))


def _horizontal_shares(lang: str, rows: Sequence[Sequence[float]], colours: Sequence[str],
                       labels: Sequence[str], title: str) -> Markup:
    """Stacked horizontal bars (one row per item, top to bottom), x from 0 to 100 %."""
    return charts.share_bars(rows, colours, labels, title=title, x_format=_percent(lang))


def _metric_plot(metric: MetricStats, lang: str, title: str) -> Markup:
    values = metric.measured
    low = min(values + list(metric.thresholds))
    high = max(values + list(metric.thresholds))
    span = (high - low) or max(abs(high), 1.0) * 0.1
    lo, hi = low - 0.05 * span, high + 0.05 * span
    return charts.histogram([(values, SERIES_COLOURS[0])], charts.bin_edges(lo, hi, 20), title=title,
                            x_format=_percent(lang) if metric.percent else _number(lang),
                            count_format=_number(lang), height=240,
                            lines=sorted(metric.thresholds), line_colour=OUTCOME_COLOURS["failed"])


def _runtime_plot(stats: ClassStats, lang: str) -> Markup:
    series = list(stats.runtimes.values())
    top = max((max(s) for s in series if s), default=1.0) or 1.0
    return charts.histogram([(s, SERIES_COLOURS[i % len(SERIES_COLOURS)]) for i, s in enumerate(series)],
                            charts.bin_edges(0.0, top, 15), title=label_text("dashboard.runtimes", lang),
                            x_format=_number(lang), count_format=_number(lang))


def _status_plot(stats: ClassStats, lang: str) -> Markup:
    n = len(stats.results) or 1
    return charts.share_bars([[stats.statuses[s] / n for s in STATUSES]], [STATUS_COLOURS[s] for s in STATUSES],
                             title=label_text("dashboard.statuses", lang), x_format=_percent(lang),
                             height=110, thickness=0.8)


# ---- page ----------------------------------------------------------------------------------------


def report_link(student: str, lang: str) -> str:
    """The relative link to a student's report: ``<student>/report.<lang>.html``, the id percent-encoded
    (so ``/``, ``..`` pieces, quotes and ``<`` cannot leave the folder or the attribute)."""
    return f"{quote(student, safe='')}/report.{lang}.html"


def _shares_view(stats: ClassStats, lang: str) -> list[dict[str, Any]]:
    return [
        {
            "number": _num(i, lang),
            "question": t.question,
            "title": isolate(_pick(t.title, lang, t.id), lang),
            "hidden": t.hidden,
            "passed": format_percent_short(t.share("passed"), lang),
            "partial": format_percent_short(t.share("partial"), lang),
            "failed": format_percent_short(t.share("failed"), lang),
            "other": format_percent_short(t.share("other"), lang),
            "total": _num(t.total, lang),
        }
        for i, t in enumerate(stats.tests, 1)
    ]


def _release_hidden(assignment: Any, release_hidden: bool | None) -> bool:
    """The assignment's ``[visibility] release_hidden``, unless the caller overrides it."""
    if release_hidden is not None:
        return release_hidden
    return bool(getattr(getattr(assignment, "visibility", None), "release_hidden", False))


def _last_graded(results: Sequence[SubmissionResult], tz: tzinfo) -> str:
    """The latest grading time, compared as moments (times with different offsets do not sort as text)."""
    timed = [(dt, r.graded_at) for r in results if (dt := _parse_time(r.graded_at, tz)) is not None]
    return max(timed)[1] if timed else ""


def _context(stats: ClassStats, assignment: Any, lang: str, release_hidden: bool | None = None) -> dict[str, Any]:
    n = len(stats.results)
    finals = [r.final_score for r in stats.results]
    release = _release_hidden(assignment, release_hidden)
    zone_name = getattr(assignment, "timezone", None) or None
    assignment_id = getattr(assignment, "id", "") or (stats.results[0].assignment if stats.results else "")
    tz = time_zone(zone_name, assignment=assignment_id)
    title = _pick(getattr(assignment, "title", None), lang, getattr(assignment, "id", ""))

    def fraction(points: float) -> Markup:
        return label("score_fraction", lang, score=_num(points, lang), max=_num(stats.max_score, lang))

    outcome_kinds = ("passed", "partial", "failed", "other")
    metrics = []
    for m in stats.metrics:
        fmt = (lambda v: format_percent_short(v, lang)) if m.percent else (lambda v: format_number(v, lang))
        metrics.append({
            "question": m.question,
            "title": isolate(_pick(m.title, lang, m.test), lang),
            "key": m.key,
            # the chart's accessible name (its <title>): plain text, runs of the other direction isolated
            "plot": _metric_plot(m, lang, isolate_plain(_pick(m.title, lang, m.test), lang)),
            "count": _num(len(m.measured), lang),
            "above": _num(m.above, lang),
            "median": Markup('<bdi class="num">{}</bdi>').format(fmt(statistics.median(m.measured))),
            "thresholds": Markup("، " if lang == "fa" else ", ").join(
                Markup('<bdi class="num">{}</bdi>').format(fmt(t)) for t in sorted(m.thresholds)),
        })
    runtimes = [
        {"notebook": name, "colour": SERIES_COLOURS[i % len(SERIES_COLOURS)], "count": _num(len(values), lang),
         "median": label("seconds", lang, value=_num(statistics.median(values), lang)),
         "max": label("seconds", lang, value=_num(max(values), lang))}
        for i, (name, values) in enumerate(stats.runtimes.items())
    ]
    students = []
    for r in stats.results:
        hidden = hidden_points(r, release)
        submitted = r.submitted_at or (r.lateness.submitted_at if r.lateness else "")
        students.append({
            "student": r.student,
            "name": r.display_name,
            "href": report_link(r.student, lang),
            "status": r.status,
            "status_label": _named("status_name", r.status, lang),
            "score": _num(r.score, lang),
            # the part of the score from tests the student's report does not detail yet
            "hidden": _num(hidden, lang) if hidden is not None else None,
            "submitted": format_timestamp(submitted, lang, tz) if submitted else None,
            "time_source": time_source_label(r.time_source, lang),
            "penalty": format_percent_short(r.lateness.penalty, lang) if r.lateness and r.lateness.penalty else None,
            "final": _num(r.final_score, lang),
            # a question awaiting its TA shows "—", as in the report and grades.csv, never 0
            "questions": {q.id: _num(q.points, lang) for q in r.questions if not q.awaiting_ta},
            "wall": _num(sum(ex.wall_s for ex in r.executions), lang),
            "standin": bool(r.data and r.data.standin),
            # a TA's overrides of automatic tests (davar.book.overrides), and those whose automatic
            # outcome has changed since the TA decided: the TA may revisit them
            "overrides": _num(len(decided), lang) if (decided := _decided(r, "ta_override")) else None,
            "revisit": _num(len(changed), lang) if (changed := _decided(r, "ta_override_changed")) else None,
            # tests whose grader asks the TA to look (`davar.flag`), hidden ones included: only their count shows
            "flagged": _num(len(flagged), lang) if (flagged := [t for q in r.questions for t in q.tests
                                                               if t.flagged]) else None,
        })
    standin = [r for r in stats.results if r.data and r.data.standin]
    profiles = Markup("، " if lang == "fa" else ", ").join(
        Markup('<bdi class="mono" dir="ltr">{}</bdi>').format(p)
        for p in sorted({r.data.profile for r in standin if r.data}))
    last_graded = _last_graded(stats.results, tz)
    return {
        "lang": lang,
        "dir": DIRECTION[lang],
        "other_lang": "en" if lang == "fa" else "fa",
        "other_page": "index.en.html" if lang == "fa" else "index.html",
        "course": isolate(_pick(getattr(assignment, "course", None), lang), lang),
        # <title>: plain text, the assignment's title with its runs of the other direction isolated
        "page_title": " — ".join((label_text("dashboard.title", lang), isolate_plain(title, lang))),
        "assignment_title": isolate(title, lang),
        "assignment_id": assignment_id,
        "timezone": str(zone_name or tz),
        "count": _num(n, lang),
        "mean": fraction(round(statistics.fmean(finals), 2)) if finals else None,
        "median": fraction(round(statistics.median(finals), 2)) if finals else None,
        "graded_at": format_both_calendars(last_graded, lang, tz) if last_graded else None,
        "score_plot": _score_histogram(stats, lang) if n else None,
        "statuses": [
            {"status": s, "label": _named("status_name", s, lang), "count": _num(stats.statuses[s], lang),
             "share": format_percent_short(stats.statuses[s] / n, lang) if n else "", "colour": STATUS_COLOURS[s]}
            for s in STATUSES
        ],
        "status_plot": _status_plot(stats, lang) if n else None,
        "questions": [
            {"id": q.id, "title": isolate(_pick(q.title, lang, q.id), lang), "max": _num(q.max_points, lang),
             "manual": q.manual,
             "mean": format_percent_short(q.mean, lang) if q.fractions else None,
             "full": _num(q.full, lang), "graded": _num(len(q.fractions), lang),
             "awaiting": _num(q.awaiting, lang) if q.awaiting else None}
            for q in stats.questions
        ],
        "question_plot": _horizontal_shares(lang, [(q.mean, 1 - q.mean) for q in stats.questions],  # ids as written
                                            (SERIES_COLOURS[0], "#eaeef2"), [q.id for q in stats.questions],
                                            label_text("dashboard.questions", lang))
        if stats.questions and n else None,
        "tests": _shares_view(stats, lang),
        "test_plot": _horizontal_shares(lang, [tuple(t.share(k) for k in outcome_kinds) for t in stats.tests],
                                        [OUTCOME_COLOURS[k] for k in outcome_kinds],
                                        [format_number(i, lang) for i in range(1, len(stats.tests) + 1)],
                                        label_text("dashboard.tests", lang))
        if stats.tests else None,
        "outcome_legend": [{"kind": k, "colour": OUTCOME_COLOURS[k],
                            "label": label(f"dashboard.outcome.{k}", lang)} for k in outcome_kinds],
        "metrics": metrics,
        "runtimes": runtimes,
        "runtime_plot": _runtime_plot(stats, lang) if stats.runtimes else None,
        "question_ids": [q.id for q in stats.questions],
        "students": students,
        # while any test is withheld from students: what the scores here include, said once
        "hidden_note": label("dashboard.hidden_note", lang,
                             file=Markup('<bdi class="mono" dir="ltr">grades.csv</bdi>'),
                             column=Markup('<bdi class="mono" dir="ltr">hidden_points</bdi>'))
        if any(s["hidden"] is not None for s in students) else None,
        # results graded on the synthetic stand-in (a result's `data`), and the profiles they were graded with
        "standin": label("dashboard.standin_banner", lang, count=_num(len(standin), lang),
                         profiles=profiles) if standin else None,
    }


def render_dashboard_page(results: Iterable[SubmissionResult], assignment: Any, lang: str, *,
                          release_hidden: bool | None = None) -> str:
    """The dashboard's HTML in ``lang``, self-contained (fonts and plots inlined).  ``release_hidden``
    overrides the assignment's ``[visibility] release_hidden`` (as `davar report --release-hidden`)."""
    if lang not in LANGS:
        raise ValueError(f"unknown dashboard language {lang!r}; expected one of {LANGS}")
    stats = class_stats(results, assignment)

    def t(key: str, **values: Any) -> Markup:
        return label(key, lang, **values)

    context = _context(stats, assignment, lang, release_hidden)
    return _environment().get_template("dashboard.html").render(**context, t=t, stylesheet=stylesheet())


PAGES = {"fa": "index.html", "en": "index.en.html"}


def render_dashboard(
    results: Iterable[SubmissionResult],
    assignment: Any,
    out_dir: Path,
    *,
    langs: Iterable[str] = LANGS,
    release_hidden: bool | None = None,
) -> list[Path]:
    """Write ``out_dir/index.html`` (fa) and ``out_dir/index.en.html`` (en); return the paths written.

    ``assignment`` is the `davar.assignment.Assignment` (title, course, question order and titles);
    ``results`` the latest result of each student (``gradebook.latest``); reports are expected at
    ``out_dir/<student>/report.<lang>.html``, as ``davar grade`` writes them."""
    results = list(results)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for lang in langs:
        path = out_dir / PAGES[lang]
        path.write_text(render_dashboard_page(results, assignment, lang, release_hidden=release_hidden),
                        encoding="utf-8")
        paths.append(path)
    return paths
