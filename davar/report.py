"""Student/TA reports: one self-contained HTML page per language (fa right-to-left, en left-to-right).

``render_report(result, lang)`` returns the HTML of one page; ``render_reports(result, out_dir)``
writes ``report.fa.html`` and ``report.en.html``.  The same HTML feeds the PDF renderer later.

Layout lives in ``templates/report.html`` + ``report.css``; every UI word lives in
``templates/labels.toml`` (fa and en side by side, for a translator); sentences about a test or a
submission are already rendered in both languages inside the result (``Message.fa`` / ``.en``).

Security: a report shows text a student controls (tracebacks, error values, messages quoting their
output, blocked targets, ids, file names).  The jinja2 environment autoescapes everything; the only
markup marked safe is what this module builds itself (the stylesheet with its font data URIs, and
``<bdi>`` wrappers around numbers whose content is escaped first).  Templates get a view model of
plain values, never the result object, so a hidden test's title or message cannot leak by accident.
"""

from __future__ import annotations

import base64
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import jdatetime
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from . import catalogue
from .results import ExecutionRecord, Message, QuestionResult, SubmissionResult, TestResult

LANGS = ("fa", "en")
DIRECTION = {"fa": "rtl", "en": "ltr"}

#: How much student-controlled text a report shows at most (a notebook can print megabytes).
TRACEBACK_LINES = 40
MAX_LINE_CHARS = 1000
MAX_ERROR_VALUE_CHARS = 2000
MAX_BLOCKED_SHOWN = 50

_FONTS = {"Vazirmatn-Regular.woff2", "Vazirmatn-Bold.woff2"}
_FONT_URL = re.compile(r"""url\(\s*["']?fonts/([A-Za-z0-9._-]+\.woff2)["']?\s*\)""")
# CSI (colours, cursor moves) and OSC (titles, hyperlinks) escape sequences, then other C0 controls.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")
_ISOLATED = re.compile(f"{catalogue.FSI}([^{catalogue.FSI}{catalogue.PDI}]*){catalogue.PDI}")
_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _templates():
    return resources.files("davar").joinpath("templates")


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


def format_timestamp(value: str, lang: str) -> str:
    """ISO timestamp → Jalali on the fa page ('۱۰ فروردین ۱۴۰۴، ۱۴:۳۰'), Gregorian on the en page."""
    if not value:
        return ""
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return value
    if lang == "fa":
        jdt = jdatetime.datetime.fromgregorian(datetime=dt, locale="fa_IR")
        return f"{jdt.day} {jdt.strftime('%B')} {jdt.year}، {dt:%H:%M}".translate(_PERSIAN_DIGITS)
    return f"{dt.day} {dt:%B %Y}, {dt:%H:%M}"


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


def _message_text(message: Message, lang: str) -> Markup:
    """A message with its isolated values (FSI … PDI from the catalogue) as `<bdi>` elements, so a
    value that wraps over lines keeps its own left-to-right order; the text itself is escaped."""
    text = str(escape(getattr(message, lang) or message.en or message.fa or message.key))
    return Markup(_ISOLATED.sub(r'<bdi dir="ltr" class="value">\1</bdi>', text))


# ---- view model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestView:
    hidden: bool
    max_points: Markup
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


def _test_view(test: TestResult, lang: str) -> TestView:
    if test.hidden:  # only that it exists and what it is worth: no title, outcome, points or message
        return TestView(hidden=True, max_points=_num(test.max_points, lang))
    return TestView(
        hidden=False,
        max_points=_num(test.max_points, lang),
        title=_pick(test.title, lang, test.id),
        outcome=test.outcome,
        outcome_label=label(f"outcome_name.{test.outcome}", lang)
        if has_label(f"outcome_name.{test.outcome}")
        else escape(test.outcome),
        points=label("score_fraction", lang, score=_num(test.points, lang), max=_num(test.max_points, lang)),
        messages=tuple(_message_text(m, lang) for m in test.messages),
    )


def _awaiting_points(question: QuestionResult) -> float:
    """Points of a question still waiting for a TA (a manual question with no or unmarked tests)."""
    if not question.manual:
        return 0.0
    if not question.tests:
        return question.max_points
    return sum(t.max_points for t in question.tests if t.outcome == "manual")


def _question_view(question: QuestionResult, lang: str) -> QuestionView:
    awaiting = question.manual and _awaiting_points(question) > 0
    # nothing marked yet: "— / 5", not a misleading "0 / 5"
    unmarked = awaiting and all(t.outcome == "manual" for t in question.tests)
    score = label("dash", lang) if unmarked else _num(question.points, lang)
    return QuestionView(
        id=question.id,
        title=_pick(question.title, lang, question.id),
        points=label("score_fraction", lang, score=score, max=_num(question.max_points, lang)),
        awaiting=awaiting,
        tests=tuple(_test_view(t, lang) for t in question.tests),
    )


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
        "memory": label("megabytes", lang, value=_num(ex.peak_memory_mb, lang)) if ex.peak_memory_mb is not None else None,
        "cells": label("cells_fraction", lang, run=_num(cells_run, lang), total=_num(ex.cells_total, lang))
        if ex.cells_total else None,
        "failing_cell": label("failing_cell_value", lang, number=_num(ex.failing_cell + 1, lang))
        if ex.failing_cell is not None else None,
        "error_name": clean_terminal_text(ex.error_name),
        "error_value": _clip(clean_terminal_text(ex.error_value), MAX_ERROR_VALUE_CHARS),
        "traceback": traceback,
        "traceback_trimmed": _num(trimmed, lang) if trimmed else None,
    }


def _context(
    result: SubmissionResult,
    lang: str,
    assignment_title: dict[str, str] | None,
    course: dict[str, str] | None,
) -> dict[str, Any]:
    sb = result.sandbox
    questions = tuple(_question_view(q, lang) for q in result.questions)
    awaiting = sum(_awaiting_points(q) for q in result.questions)
    blocked = [
        {"kind": _named("blocked_kind_name", str(b.get("kind", "")), lang), "target": _clip(str(b.get("target", "")), 300)}
        for b in sb.blocked[:MAX_BLOCKED_SHOWN]
    ]
    return {
        "lang": lang,
        "dir": DIRECTION[lang],
        "course": _pick(course, lang),
        "assignment_title": _pick(assignment_title, lang, result.assignment),
        "assignment_id": result.assignment,
        "student": result.student,
        "notebooks": [ex.notebook for ex in result.executions],
        "graded_at": format_timestamp(result.graded_at, lang),
        "status": result.status,
        "status_label": _named("status_name", result.status, lang),
        "score": label("score_fraction", lang, score=_num(result.score, lang), max=_num(result.max_score, lang)),
        "awaiting_points": _num(awaiting, lang) if awaiting > 0 else None,
        "questions": questions,
        "has_hidden": any(t.hidden for q in questions for t in q.tests),
        "messages": tuple(_message_text(m, lang) for m in result.messages),
        "executions": [_execution_view(ex, lang) for ex in result.executions],
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
    }


# ---- rendering ----------------------------------------------------------------------------------


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("davar", "templates"),
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
) -> str:
    """The HTML page of ``result`` in ``lang`` ("fa" or "en"), self-contained (fonts inlined)."""
    if lang not in LANGS:
        raise ValueError(f"unknown report language {lang!r}; expected one of {LANGS}")

    def t(key: str, **values: Any) -> Markup:
        return label(key, lang, **values)

    context = _context(result, lang, assignment_title, course)
    return _environment().get_template("report.html").render(**context, t=t, stylesheet=stylesheet())


def render_reports(
    result: SubmissionResult,
    out_dir: Path,
    *,
    assignment_title: dict[str, str] | None = None,
    course: dict[str, str] | None = None,
    langs: Iterable[str] = LANGS,
) -> list[Path]:
    """Write ``report.<lang>.html`` for each language into ``out_dir``; return the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for lang in langs:
        html = render_report(result, lang, assignment_title=assignment_title, course=course)
        path = out_dir / f"report.{lang}.html"
        path.write_text(html, encoding="utf-8")
        paths.append(path)
    return paths
