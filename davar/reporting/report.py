"""Student/TA reports: one self-contained HTML page per language (fa right-to-left, en left-to-right).

``render_report(result, lang)`` returns the HTML of one page; ``render_pdf(result, lang, path)`` turns
the same page into a PDF with WeasyPrint; ``render_reports(result, out_dir, formats=("html", "pdf"))``
writes ``report.<lang>.html`` / ``.pdf`` for both languages.  The class dashboard is davar/reporting/dashboard.py.

Layout lives in ``templates/report.html`` + ``report.css``; every UI word lives in
``templates/labels.toml`` (fa and en side by side, for a translator); sentences about a test or a
submission are rendered from their stored key and values when the page is made (``catalogue.render``,
the assignment's ``messages`` first), so a wording fix shows without a regrade.  The result given is
a view (``davar.book.view``): TA scores merged and lateness computed there, only shown here.

Security: a report shows text a student controls (tracebacks, error values, messages quoting their
output, blocked targets, ids, file names).  The jinja2 environment autoescapes everything; the only
markup marked safe is what this module builds itself (the stylesheet with its font data URIs, and
``<bdi>`` wrappers around numbers whose content is escaped first) and figures' ``data:image/png``
URIs, built only from PNG bytes davar re-encoded itself (davar/run/figures.py; checked again here).
Templates get a view model of plain values, never the result object, so a hidden test's title or
message cannot leak by accident.  The PDF renderer may fetch nothing but ``data:`` URIs.
"""

from __future__ import annotations

import base64
import binascii
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jdatetime
from babel.dates import format_datetime
from babel.numbers import format_percent
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from davar import catalogue
from davar.results import (
    ExecutionRecord,
    Figure,
    Lateness,
    Message,
    QuestionResult,
    SubmissionResult,
    TestResult,
)

LANGS = ("fa", "en")
DIRECTION = {"fa": "rtl", "en": "ltr"}

#: How much student-controlled text a report shows at most (a notebook can print megabytes).
TRACEBACK_LINES = 40
MAX_LINE_CHARS = 1000
MAX_ERROR_VALUE_CHARS = 2000
MAX_BLOCKED_SHOWN = 50
MAX_FIGURES_SHOWN = 24  # per report (davar.run.figures already keeps at most 12 per notebook)

_FONTS = {"Vazirmatn-Regular.woff2", "Vazirmatn-Bold.woff2"}
_FONT_URL = re.compile(r"""url\(\s*["']?fonts/([A-Za-z0-9._-]+\.woff2)["']?\s*\)""")
# CSI (colours, cursor moves) and OSC (titles, hyperlinks) escape sequences, then other C0 controls.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")
_ISOLATED = re.compile(f"{catalogue.FSI}([^{catalogue.FSI}{catalogue.PDI}]*){catalogue.PDI}")
_PERSIAN_DIGITS = str.maketrans("0123456789%", "۰۱۲۳۴۵۶۷۸۹٪")
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _templates():
    return resources.files("davar.reporting").joinpath("templates")


# ---- labels -------------------------------------------------------------------------------------


@cache
def labels() -> dict[str, dict[str, str]]:
    """All UI labels, flattened to dotted keys (``outcome_name.passed``) → {"fa": …, "en": …}."""
    data = tomllib.loads(_templates().joinpath("labels.toml").read_text("utf-8"))
    flat: dict[str, dict[str, str]] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        if set(LANGS) <= node.keys() and all(isinstance(node[lang], str) for lang in LANGS):
            flat[prefix] = {lang: node[lang] for lang in LANGS}
            return
        for key, value in node.items():
            if not isinstance(value, dict):
                raise ValueError(f"labels.toml: {prefix + '.' if prefix else ''}{key} needs both fa and en")
            walk(f"{prefix}.{key}" if prefix else key, value)

    walk("", data)
    return flat


def label(key: str, lang: str, **values: Any) -> Markup:
    """One UI label, escaped; ``values`` fill its ``{placeholders}`` and are escaped too (unless Markup)."""
    return escape(labels()[key][lang]).format(**values)


def has_label(key: str) -> bool:
    return key in labels()


# ---- formatting ---------------------------------------------------------------------------------


def format_number(value: float | int, lang: str) -> str:
    """Up to two decimals, locale digits: 13.5 → '۱۳٫۵' (fa), '13.5' (en)."""
    return catalogue.format_number(value, lang, "points")


def _num(value: float | int, lang: str) -> Markup:
    return Markup('<bdi class="num">{}</bdi>').format(format_number(value, lang))


def format_percent_short(value: float, lang: str) -> str:
    """A fraction as a percentage with up to two decimals: 0.1 → '۱۰٪' (fa), '10%' (en)."""
    text = format_percent(value, format="#,##0.##%", locale=lang, numbering_system="default")
    return text.translate(_PERSIAN_DIGITS) if lang == "fa" else text


def _parse_time(value: str, tz: Any = None) -> datetime | None:
    """An ISO timestamp, moved into ``tz`` (when both carry an offset); None when unreadable."""
    try:
        dt = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None
    if dt is not None and tz is not None and dt.tzinfo is not None:
        dt = dt.astimezone(tz)
    return dt


def _jalali(dt: datetime, lang: str) -> str:
    jdt = jdatetime.datetime.fromgregorian(datetime=dt, locale="fa_IR" if lang == "fa" else "en_US")
    if lang == "fa":
        return f"{jdt.day} {jdt.strftime('%B')} {jdt.year}، {dt:%H:%M}".translate(_PERSIAN_DIGITS)
    return f"{jdt.day} {jdt.strftime('%B')} {jdt.year}, {dt:%H:%M}"


def _gregorian(dt: datetime, lang: str) -> str:
    if lang == "fa":  # Babel's Persian month names ("آوریل"), Persian digits
        return format_datetime(dt.replace(tzinfo=None), "d MMMM y، HH:mm", locale="fa").translate(_PERSIAN_DIGITS)
    return f"{dt.day} {dt:%B %Y}, {dt:%H:%M}"


def _utc_offset(dt: datetime) -> str:
    offset = dt.utcoffset()
    if offset is None:
        return ""
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def format_timestamp(value: str, lang: str) -> str:
    """ISO timestamp → Jalali on the fa page ('۱۰ فروردین ۱۴۰۴، ۱۴:۳۰'), Gregorian on the en page."""
    dt = _parse_time(value)
    if dt is None:
        return value
    return _jalali(dt, lang) if lang == "fa" else _gregorian(dt, lang)


def format_both_calendars(value: str, lang: str, tz: Any = None) -> Markup:
    """A moment in both calendars, the page's own first: Jalali (Gregorian) on fa, Gregorian (Jalali)
    on en, with its UTC offset; ``tz`` moves it into the deadline's zone first, so times compare."""
    dt = _parse_time(value, tz)
    if dt is None:
        return escape(value)
    if lang == "fa":
        first, second = _jalali(dt, lang), _gregorian(dt, lang)
    else:
        first, second = _gregorian(dt, lang), _jalali(dt, lang)
    offset = _utc_offset(dt)
    return Markup('<bdi class="date">{}</bdi> <span class="muted">(<bdi>{}</bdi>)</span>{}').format(
        first, second, Markup(' <bdi class="mono offset" dir="ltr">{}</bdi>').format(offset) if offset else "")


def format_duration(seconds: float, lang: str) -> Markup:
    """A lateness: '۱ روز و ۳ ساعت و ۵ دقیقه' (fa), '1 d 3 h 5 min' (en); seconds only under a minute."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return label("seconds", lang, value=_num(seconds, lang))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [label(f"duration_{unit}", lang, value=_num(n, lang))
             for unit, n in (("days", days), ("hours", hours), ("minutes", minutes)) if n]
    return label("duration_join", lang).join(parts)


def clean_terminal_text(text: str) -> str:
    """Strip ANSI escape sequences and stray control characters (keeps newlines and tabs)."""
    return _CONTROL.sub("", _ANSI.sub("", text.replace("\r\n", "\n")))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def trim_traceback(text: str, lines: int = TRACEBACK_LINES) -> tuple[str, int]:
    """The last ``lines`` lines of a cleaned traceback, and how many earlier lines were dropped."""
    all_lines = clean_terminal_text(text).rstrip("\n").split("\n") if text.strip() else []
    kept = [_clip(line, MAX_LINE_CHARS) for line in all_lines[-lines:]]
    return "\n".join(kept), max(0, len(all_lines) - lines)


def _pick(texts: dict[str, str] | None, lang: str, fallback: str = "") -> str:
    texts = texts or {}
    other = "en" if lang == "fa" else "fa"
    return texts.get(lang) or texts.get(other) or fallback


def _first_strong_direction(text: str) -> str:
    """The direction of the first strong character (what FSI, and ``dir="auto"``, would pick); "ltr"
    for a value with none (numbers: Persian digits are not strong).  Computed here because WeasyPrint
    does not implement ``dir="auto"``."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return "ltr"


def _message_text(message: Message, lang: str, messages: Mapping[str, Any] | None) -> Markup:
    """A message rendered now (`messages`: the assignment's messages.toml), with its isolated values
    (FSI … PDI from the catalogue) as `<bdi>` elements, so a value that wraps over lines keeps its own
    order (a number or an identifier left to right, a Persian TA comment right to left); all text is
    escaped."""
    text = catalogue.render(message, lang, messages)
    parts, last = [], 0
    for match in _ISOLATED.finditer(text):
        value = match.group(1)
        parts += [escape(text[last:match.start()]),
                  Markup('<bdi dir="{}" class="value">{}</bdi>').format(_first_strong_direction(value), value)]
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("").join(parts)


# ---- view model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestView:
    withheld: bool  # a hidden test before its results are released: only that it exists and its worth
    max_points: Markup
    hidden: bool = False  # a hidden test (released: shown in full, marked as hidden)
    title: str = ""
    outcome: str = ""
    outcome_label: Markup = Markup("")
    points: Markup = Markup("")
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuestionView:
    id: str
    title: str
    points: Markup
    awaiting: bool
    tests: tuple[TestView, ...]


def _test_view(test: TestResult, lang: str, release_hidden: bool, messages: Mapping[str, Any] | None) -> TestView:
    if test.hidden and not release_hidden:  # no title, outcome, points or message
        return TestView(withheld=True, hidden=True, max_points=_num(test.max_points, lang))
    return TestView(
        withheld=False,
        hidden=test.hidden,
        max_points=_num(test.max_points, lang),
        title=_pick(test.title, lang, test.id),
        outcome=test.outcome,
        outcome_label=label(f"outcome_name.{test.outcome}", lang)
        if has_label(f"outcome_name.{test.outcome}")
        else escape(test.outcome),
        points=label("score_fraction", lang, score=_num(test.points, lang), max=_num(test.max_points, lang)),
        messages=tuple(_message_text(m, lang, messages) for m in test.messages),
    )


def _shown(test: TestResult, release_hidden: bool) -> bool:
    return release_hidden or not test.hidden


def shown_points(question: QuestionResult, release_hidden: bool) -> float:
    """The points a report may show for a question: a withheld hidden test's earned points are not
    added in (a total would otherwise give its outcome away)."""
    return round(sum(t.points for t in question.tests if _shown(t, release_hidden)), 6)


def _question_view(question: QuestionResult, lang: str, release_hidden: bool,
                   messages: Mapping[str, Any] | None) -> QuestionView:
    awaiting = question.awaiting_ta
    # nothing marked yet: "— / 5", not a misleading "0 / 5"
    unmarked = awaiting and all(t.outcome == "manual" for t in question.tests)
    score = label("dash", lang) if unmarked else _num(shown_points(question, release_hidden), lang)
    return QuestionView(
        id=question.id,
        title=_pick(question.title, lang, question.id),
        points=label("score_fraction", lang, score=score, max=_num(question.max_points, lang)),
        awaiting=awaiting,
        tests=tuple(_test_view(t, lang, release_hidden, messages) for t in question.tests),
    )


def _lateness_view(late: Lateness | None, lang: str) -> dict[str, Any] | None:
    if late is None:
        return None
    deadline = _parse_time(late.deadline)
    tz = deadline.tzinfo if deadline is not None else None
    return {
        "submitted": format_both_calendars(late.submitted_at, lang, tz),
        "deadline": format_both_calendars(late.deadline, lang, tz),
        "late": late.late_s > 0,
        "late_by": label("late_by", lang, duration=format_duration(late.late_s, lang), days=_num(late.days_late, lang))
        if late.late_s > 0 else label("on_time", lang),
        "penalty": Markup('<bdi class="num">{}</bdi>').format(format_percent_short(late.penalty, lang)),
        "policy": _named("late_policy_name", late.policy, lang),
    }


def figure_src(figure: Figure) -> str | None:
    """A ``data:image/png`` URI for a figure's data, which davar re-encoded as PNG whatever the
    notebook's image type (davar/run/figures.py); None when there is none or it is not strict base64 of a
    PNG.  Never SVG: it can carry script."""
    if not figure.data or not isinstance(figure.data, str) or "svg" in figure.mime:
        return None
    try:
        png = base64.b64decode(figure.data, validate=True)
    except (binascii.Error, ValueError):
        return None
    return "data:image/png;base64," + figure.data if png.startswith(_PNG_SIGNATURE) else None


def _figure_views(figures: Iterable[Figure], lang: str) -> tuple[list[dict[str, Any]], Markup | None]:
    figures = list(figures)
    views = [
        {
            "src": figure_src(f),
            "caption": label("figure_caption", lang,
                             notebook=Markup('<bdi class="mono" dir="ltr">{}</bdi>').format(f.notebook),
                             cell=_num(f.cell + 1, lang)),
            "mime": f.mime,
        }
        for f in figures[:MAX_FIGURES_SHOWN]
    ]
    more = len(figures) - MAX_FIGURES_SHOWN
    return views, (_num(more, lang) if more > 0 else None)


def _limit_value(key: str, value: Any, lang: str) -> Markup:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return escape(str(value))
    if key.endswith("_s"):
        return label("seconds", lang, value=_num(value, lang))
    if key.endswith("_mb"):
        return label("megabytes", lang, value=_num(value, lang))
    return _num(value, lang)


def _named(prefix: str, value: str, lang: str) -> Markup:
    key = f"{prefix}.{value}"
    return label(key, lang) if has_label(key) else Markup("<bdi>{}</bdi>").format(value)


def _execution_view(ex: ExecutionRecord, lang: str) -> dict[str, Any]:
    traceback, trimmed = trim_traceback(ex.traceback)
    cells_run = sum(1 for c in ex.cells if c.status != "not_run")
    return {
        "notebook": ex.notebook,
        "status": ex.status,
        "status_label": _named("execution_status_name", ex.status, lang),
        "wall": label("seconds", lang, value=_num(ex.wall_s, lang)),
        "memory": label("megabytes", lang, value=_num(ex.peak_memory_mb, lang))
        if ex.peak_memory_mb is not None else None,
        "cells": label("cells_fraction", lang, run=_num(cells_run, lang), total=_num(ex.cells_total, lang))
        if ex.cells_total else None,
        "failing_cell": label("failing_cell_value", lang, number=_num(ex.failing_cell + 1, lang))
        if ex.failing_cell is not None else None,
        "error_name": clean_terminal_text(ex.error_name),
        "error_value": _clip(clean_terminal_text(ex.error_value), MAX_ERROR_VALUE_CHARS),
        "traceback": traceback,
        "traceback_trimmed": _num(trimmed, lang) if trimmed else None,
    }


def shown_score(result: SubmissionResult, release_hidden: bool) -> float:
    """The score a report shows: every earned point, less withheld hidden tests' (see shown_points)."""
    return round(sum(shown_points(q, release_hidden) for q in result.questions), 6)


def _context(
    result: SubmissionResult,
    lang: str,
    assignment_title: dict[str, str] | None,
    course: dict[str, str] | None,
    release_hidden: bool,
    messages: Mapping[str, Any] | None,
) -> dict[str, Any]:
    sb = result.sandbox
    questions = tuple(_question_view(q, lang, release_hidden, messages) for q in result.questions)
    awaiting = sum(q.awaiting_points for q in result.questions)
    withheld = [t for q in result.questions for t in q.tests if t.hidden and not release_hidden]
    score = shown_score(result, release_hidden)
    penalty = result.lateness.penalty if result.lateness else 0.0
    figures, figures_more = _figure_views(result.figures, lang)
    blocked = [
        {"kind": _named("blocked_kind_name", str(b.get("kind", "")), lang),
         "target": _clip(str(b.get("target", "")), 300)}
        for b in sb.blocked[:MAX_BLOCKED_SHOWN]
    ]

    def fraction(points: float) -> Markup:
        return label("score_fraction", lang, score=_num(points, lang), max=_num(result.max_score, lang))

    return {
        "lang": lang,
        "dir": DIRECTION[lang],
        "course": _pick(course, lang),
        "assignment_title": _pick(assignment_title, lang, result.assignment),
        "assignment_id": result.assignment,
        "student": result.student,
        "display_name": getattr(result, "display_name", ""),
        "notebooks": [ex.notebook for ex in result.executions],
        "graded_at": format_timestamp(result.graded_at, lang),
        "status": result.status,
        "status_label": _named("status_name", result.status, lang),
        "score": fraction(score),
        "lateness": _lateness_view(result.lateness, lang),
        "final_score": fraction(round(score * (1 - penalty), 6)),
        "awaiting_points": _num(awaiting, lang) if awaiting > 0 else None,
        "questions": questions,
        "withheld": label("hidden_withheld", lang, count=_num(len(withheld), lang),
                          points=_num(sum(t.max_points for t in withheld), lang)) if withheld else None,
        "messages": tuple(_message_text(m, lang, messages) for m in result.messages),
        "executions": [_execution_view(ex, lang) for ex in result.executions],
        "figures": figures,
        "figures_more": figures_more,
        "sandbox": {
            "level": sb.level,
            "level_label": _named("sandbox_level_name", sb.level, lang),
            "network": sb.network,
            "limits": [
                (_named("limit_name", str(k), lang), _limit_value(str(k), v, lang)) for k, v in sb.limits.items()
            ],
            "blocked": blocked,
            "blocked_more": _num(len(sb.blocked) - MAX_BLOCKED_SHOWN, lang)
            if len(sb.blocked) > MAX_BLOCKED_SHOWN
            else None,
        },
        "digest": result.digest,
        "versions": sorted(result.versions.items()),
        # what it was graded on; None for records from before davar kept it
        "data": {"profile": result.data.profile, "standin": result.data.standin} if result.data else None,
    }


# ---- rendering ----------------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("davar.reporting", "templates"),
        autoescape=True,  # everything, whatever the template's file name
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def stylesheet() -> Markup:
    """report.css with its font URLs replaced by base64 data URIs (our own bytes: safe to inline)."""
    css = _templates().joinpath("report.css").read_text("utf-8")

    def inline(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in _FONTS:
            raise ValueError(f"report.css refers to an unknown font {name!r}")
        data = base64.b64encode(_templates().joinpath("fonts", name).read_bytes()).decode("ascii")
        return f'url("data:font/woff2;base64,{data}")'

    css = _FONT_URL.sub(inline, css)
    if "</" in css:
        raise ValueError("report.css must not contain '</'")
    return Markup(css)


def render_report(
    result: SubmissionResult,
    lang: str,
    *,
    assignment_title: dict[str, str] | None = None,
    course: dict[str, str] | None = None,
    messages: Mapping[str, Any] | None = None,
    release_hidden: bool = False,
) -> str:
    """The HTML page of ``result`` in ``lang`` ("fa" or "en"), self-contained (fonts and figures inlined).

    ``release_hidden`` is the assignment's visibility policy (``[visibility] release_hidden``): until
    it is true a hidden test shows only that it exists and what it is worth, and its earned points
    stay out of every total on the page.  ``messages`` is the assignment's messages.toml, looked up
    before the engine's catalogue when the result's messages are rendered."""
    if lang not in LANGS:
        raise ValueError(f"unknown report language {lang!r}; expected one of {LANGS}")

    def t(key: str, **values: Any) -> Markup:
        return label(key, lang, **values)

    context = _context(result, lang, assignment_title, course, release_hidden, messages)
    return _environment().get_template("report.html").render(**context, t=t, stylesheet=stylesheet())


def _url_fetcher():
    """WeasyPrint may load nothing but the page's own data: URIs (fonts, figures): no file, no network."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # WeasyPrint < 66: a fetcher is a function
        from weasyprint import default_url_fetcher

        def fetch(url: str, *args: Any, **kwargs: Any):
            if not url.startswith("data:"):
                raise ValueError(f"report PDF: refusing to load {url[:80]!r}")
            return default_url_fetcher(url, *args, **kwargs)

        return fetch
    return URLFetcher(allowed_protocols=("data",))


def html_to_pdf(html: str, path: Path) -> Path:
    """Write the PDF of a report page (WeasyPrint; Vazirmatn from the page's @font-face, DejaVu from
    the system as fallback).  Needs the `weasyprint` package and Pango."""
    import weasyprint  # heavy, and needs system libraries: only when a PDF is asked for

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    weasyprint.HTML(string=html, url_fetcher=_url_fetcher()).write_pdf(path)
    return path


def render_pdf(
    result: SubmissionResult,
    lang: str,
    path: Path,
    *,
    assignment_title: dict[str, str] | None = None,
    course: dict[str, str] | None = None,
    messages: Mapping[str, Any] | None = None,
    release_hidden: bool = False,
) -> Path:
    """Write the report of ``result`` in ``lang`` as a PDF at ``path``; return the path."""
    html = render_report(result, lang, assignment_title=assignment_title, course=course, messages=messages,
                         release_hidden=release_hidden)
    return html_to_pdf(html, path)


FORMATS = ("html", "pdf")


def render_reports(
    result: SubmissionResult,
    out_dir: Path,
    *,
    assignment_title: dict[str, str] | None = None,
    course: dict[str, str] | None = None,
    messages: Mapping[str, Any] | None = None,
    langs: Iterable[str] = LANGS,
    formats: Iterable[str] = ("html",),
    release_hidden: bool = False,
) -> list[Path]:
    """Write ``report.<lang>.html`` and/or ``report.<lang>.pdf`` for each language into ``out_dir``;
    return the paths written."""
    formats = tuple(formats)
    if unknown := set(formats) - set(FORMATS):
        raise ValueError(f"unknown report format(s) {sorted(unknown)}; expected some of {FORMATS}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for lang in langs:
        html = render_report(result, lang, assignment_title=assignment_title, course=course, messages=messages,
                             release_hidden=release_hidden)
        if "html" in formats:
            path = out_dir / f"report.{lang}.html"
            path.write_text(html, encoding="utf-8")
            paths.append(path)
        if "pdf" in formats:
            paths.append(html_to_pdf(html, out_dir / f"report.{lang}.pdf"))
    return paths
