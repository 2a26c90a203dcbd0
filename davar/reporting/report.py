"""Student/TA reports: one self-contained HTML page per language (fa right-to-left, en left-to-right).

``render_report(result, lang)`` returns the HTML of one page; ``render_pdf(result, lang, path)`` turns
the same page into a PDF with WeasyPrint; ``render_reports(result, out_dir, formats=("html", "pdf"))``
writes ``report.<lang>.html`` / ``.pdf`` for both languages; ``pdf_writer()`` makes a class's PDFs in processes, one
per core.  The class dashboard is davar/reporting/dashboard.py.

Layout lives in ``templates/report.html`` + ``report.css``; every UI word lives in
``templates/labels.toml`` (fa and en side by side, for a translator); sentences about a test or a
submission are rendered from their stored key and values when the page is made (``catalogue.render``,
the assignment's ``messages`` first), so a wording fix shows without a regrade.  The result given is
a view (``davar.book.view``): TA scores merged, TA overrides applied and lateness computed there,
only shown here.  A test a TA overrode (``davar.book.overrides``) shows the decision beside it: the
automatic outcome and points, the TA's points, reason, who and when (`DecisionView`), and a warning
when the automatic outcome has changed since; a withheld test shows none of it.

Security: a report shows text a student controls (tracebacks, error values, messages quoting their
output, blocked targets, ids, file names).  The jinja2 environment autoescapes everything; the only
markup marked safe is what this module builds itself (the stylesheet with its font data URIs, and
``<bdi>`` wrappers around numbers and around the runs of titles (`isolate`), whose content is escaped
first) and figures' ``data:image/png``
URIs, built only from PNG bytes davar re-encoded itself (davar/run/figures.py; checked again here).
Templates get a view model of plain values, never the result object, so a hidden test's title or
message cannot leak by accident.  The PDF renderer may fetch nothing but ``data:`` URIs.

One set of numbers (this page, the dashboard, grades.csv/xlsx and the Moodle worksheet agree):

* A test is *withheld* while it is hidden and the assignment's ``[visibility] release_hidden`` is
  false (`withheld`); with ``release_hidden`` nothing is withheld and none of the labels below appear.
* The score and the final score are the same everywhere: every earned point, withheld tests'
  included, less the late penalty (`SubmissionResult.score` / ``final_score``).
* What a student does not see of a withheld test is its detail: its title, outcome, messages and own
  points; a question's points on this page (and in the Moodle comment) are those of its other tests
  (`shown_points`).  What they do see is one number, `hidden_points`: the points earned on withheld
  tests, 0 included.  Whenever a test is withheld, the page labels the total with it ("12 shown on
  this page + 3 from hidden tests not yet released", `score_hidden_note`), the dashboard notes it
  per student, grades.csv/xlsx has it in its ``hidden_points`` column (empty when nothing is
  withheld), and the Moodle comment says the grade includes it.

Times: every time a person reads (graded, submitted, the deadline) is shown in one zone, the
assignment's (``timezone``, its ``[late]`` zone; Asia/Tehran by default), with its UTC offset, in the
Jalali calendar first on the fa page.  Where the submission time comes from (``time_source``) is
said beside it (``time_source_name.*``).

Direction: text of the other direction inside a heading or title (an English notebook list in a
Persian title, a Persian phrase in an English one) is isolated run by run (`isolate`: ``<bdi>`` in
HTML, LRI/RLI … PDI in ``<title>``), so it keeps its order on a right-to-left page.
"""

from __future__ import annotations

import base64
import binascii
import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jdatetime
from babel.dates import format_datetime
from babel.numbers import format_percent
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from davar import catalogue, late
from davar.late import LatePolicy
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
# The messages `davar.book.overrides` puts first on a test a TA overrode: shown as the TA's decision,
# not in the test's list of messages.
DECISION_KEYS = ("ta_override", "ta_override_changed")

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


def label_text(key: str, lang: str, **values: Any) -> str:
    """One UI label as plain text, for an output that escapes on its own (the Moodle comment)."""
    return labels()[key][lang].format(**values)


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


def _parse_time(value: str, tz: tzinfo | None = None) -> datetime | None:
    """An ISO timestamp moved into ``tz``; one without an offset is wall-clock time in ``tz`` (as
    `davar.late.parse_time` reads it); None when unreadable."""
    try:
        dt = datetime.fromisoformat(value.strip()) if value else None
    except ValueError:
        return None
    if dt is not None and tz is not None:
        dt = dt.astimezone(tz) if dt.tzinfo is not None else dt.replace(tzinfo=tz)
    return dt


DEFAULT_TIMEZONE = "Asia/Tehran"  # `Assignment.timezone`'s default


@dataclass(frozen=True)
class _Zoned:
    """What `davar.late.zone` reads of an assignment, for a page given only its zone's name."""

    id: str
    timezone: str
    deadline: str = ""
    late: LatePolicy = LatePolicy()


def time_zone(name: str | None, *, assignment: str = "", lateness: Lateness | None = None) -> tzinfo:
    """The zone every time on a page is shown in: the assignment's ``timezone`` (`davar.late.zone`,
    an unknown name is an AssignmentError); without one, the zone of the lateness's deadline (the
    assignment's, as an offset), else Asia/Tehran, `Assignment.timezone`'s default."""
    if name:
        return late.zone(_Zoned(id=assignment, timezone=name))
    due = _parse_time(lateness.deadline) if lateness else None
    if due is not None and due.tzinfo is not None:
        return due.tzinfo
    return ZoneInfo(DEFAULT_TIMEZONE)


def local_iso(value: str, tz: tzinfo) -> str:
    """An ISO 8601 time as the same moment in ``tz``, with its offset (a machine format a person
    also reads: grades.csv, Moodle, Gradescope, JUnit); "" for "", the value itself when unreadable."""
    dt = _parse_time(value, tz)
    return dt.isoformat(timespec="seconds") if dt is not None else value


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


def format_timestamp(value: str, lang: str, tz: tzinfo | None = None) -> str:
    """ISO timestamp → Jalali on the fa page ('۱۰ فروردین ۱۴۰۴، ۱۴:۳۰'), Gregorian on the en page;
    ``tz`` (the assignment's zone) moves it there first."""
    dt = _parse_time(value, tz)
    if dt is None:
        return value
    return _jalali(dt, lang) if lang == "fa" else _gregorian(dt, lang)


def format_both_calendars(value: str, lang: str, tz: tzinfo | None = None) -> Markup:
    """A moment in both calendars, the page's own first: Jalali (Gregorian) on fa, Gregorian (Jalali)
    on en, with its UTC offset; ``tz`` (the assignment's zone) moves it there first, so times compare."""
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


_CELL_IN = re.compile(r"\bCell In\[(\d+)\]")
_ARROW = re.compile(r"^-+> *(\d+) (.*)$")


def student_traceback(ex: ExecutionRecord) -> str:
    """The run's traceback cleaned (`clean_terminal_text`), each IPython "Cell In[n]" (n: the execution count,
    which davar's own setup cell shifts) renamed "Cell N", the number every message, report and figure gives
    the cell: its place in the student's notebook, counted from 1 over all cells, markdown included."""
    number = {c.execution_count: c.index + 1 for c in ex.cells if c.execution_count is not None}

    def renumber(match: re.Match[str]) -> str:
        count = int(match.group(1))
        return f"Cell {number[count]}" if count in number else match.group(0)

    return _CELL_IN.sub(renumber, clean_terminal_text(ex.traceback))


def failing_line(ex: ExecutionRecord) -> tuple[int, str] | None:
    """The line of the failing cell that raised, as (line number in the cell, its code), from the first frame
    of the traceback (the cell's own, even when the error came from a function it called); None without one."""
    lines = clean_terminal_text(ex.traceback).split("\n")
    start = next((i for i, line in enumerate(lines) if _CELL_IN.match(line.strip())), None)
    if start is None:
        return None
    for line in lines[start + 1:]:
        if not line.strip():  # the frame ended without an arrow
            return None
        if found := _ARROW.match(line.strip()):
            return int(found.group(1)), _clip(found.group(2).strip(), 300)
    return None


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


_STRONG = {"ltr": ("L",), "rtl": ("R", "AL")}
_RTL_PUNCTUATION = "،؛؟"  # Arabic-script comma, semicolon and question mark belong to the Persian text
# What a run may end in: letters, digits, a percent sign, combining marks; not spaces or punctuation.
_RUN_END = {"L", "R", "AL", "EN", "AN", "ET", "NSM"}
_PAIRS = {")": "(", "]": "[", "}": "{"}
LRI, RLI = "\u2066", "\u2067"


def _runs(text: str, page_dir: str) -> list[tuple[str, str | None]]:
    """``text`` cut into pieces, each with the direction to isolate it in (None: the page's own).

    A foreign run starts at a strong character against the page's direction (a Latin letter on the
    rtl page, a Persian one on the ltr page) and goes on up to the next strong character of the
    page's direction (or an Arabic-script comma, on the rtl page), less trailing spaces and
    punctuation, so "تمرین ۲: q1.ipynb, q2.ipynb" isolates "q1.ipynb, q2.ipynb" as one left-to-right
    run, and "q1.ipynb، q2.ipynb" (a Persian list) two.  A closing bracket stays with its opening one.
    """
    foreign = "rtl" if page_dir == "ltr" else "ltr"
    pieces: list[tuple[str, str | None]] = []
    i = start = 0
    while i < len(text):
        if unicodedata.bidirectional(text[i]) not in _STRONG[foreign]:
            i += 1
            continue
        j = i
        while j < len(text) and unicodedata.bidirectional(text[j]) not in _STRONG[page_dir] and not (
                page_dir == "rtl" and text[j] in _RTL_PUNCTUATION):
            j += 1
        end = j
        while end > i:
            char = text[end - 1]
            opener = _PAIRS.get(char)
            if unicodedata.bidirectional(char) in _RUN_END or (
                    opener and text.count(opener, i, end) > text.count(char, i, end - 1)):
                break
            end -= 1
        if start < i:
            pieces.append((text[start:i], None))
        pieces.append((text[i:end], foreign))
        i = start = end
    if start < len(text):
        pieces.append((text[start:], None))
    return pieces


def isolate(text: str, lang: str) -> Markup:
    """A heading's or a title's text for the ``lang`` page, escaped, its runs of the other direction
    in ``<bdi dir>`` elements (explicit, since WeasyPrint does not implement ``dir="auto"``)."""
    return Markup("").join(
        Markup('<bdi dir="{}">{}</bdi>').format(d, piece) if d else escape(piece)
        for piece, d in _runs(text, DIRECTION[lang]))


def isolate_plain(text: str, lang: str) -> str:
    """The same as plain text for ``<title>`` (which holds no markup): LRI or RLI … PDI."""
    return "".join(f"{LRI if d == 'ltr' else RLI}{piece}{catalogue.PDI}" if d else piece
                   for piece, d in _runs(text, DIRECTION[lang]))


def first_strong(text: str) -> str:
    """``text`` in a first-strong isolate (FSI … PDI): a student id or name in a ``<title>``."""
    return f"{catalogue.FSI}{text}{catalogue.PDI}" if text else ""


# ---- one set of numbers: hidden tests not yet released, the time zone, the time's source ---------


def withheld(test: TestResult, release_hidden: bool) -> bool:
    """A hidden test before its results are released: a student sees only that it exists, its worth,
    and (in the total) the points earned on it, never its title, outcome, messages or own points."""
    return test.hidden and not release_hidden


def hidden_points(result: SubmissionResult, release_hidden: bool) -> float | None:
    """The points earned on withheld tests (in the score, not in a question's shown points); None
    when nothing is withheld: then no output labels anything."""
    tests = [t for q in result.questions for t in q.tests if withheld(t, release_hidden)]
    return round(sum(t.points for t in tests), 6) if tests else None


def time_source_label(source: str, lang: str) -> Markup | None:
    """Where a submission time comes from, in words (``time_source_name.<source>``); None for ""
    (a record from before davar kept it); an unknown source is shown as it is."""
    return _named("time_source_name", source, lang) if source else None


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
    title: Markup = Markup("")
    outcome: str = ""
    outcome_label: Markup = Markup("")
    points: Markup = Markup("")
    messages: tuple[str, ...] = ()
    decision: DecisionView | None = None  # a TA's override of this test (davar.book.overrides)


@dataclass(frozen=True)
class DecisionView:
    """A TA's override of an automatic test, as the report shows it: the automatic outcome and points
    (now), the TA's points, reason, who and when, and what the automatic outcome was when the TA
    decided, when it has changed since."""

    automatic: Markup
    points: Markup
    reason: Markup
    by: Markup
    at: Markup
    changed: Markup | None = None


def _decision_view(decision: Message, changed: Message | None, lang: str, tz: tzinfo | None) -> DecisionView:
    """From the ``ta_override`` (and ``ta_override_changed``) message `davar.book.overrides` puts first."""
    v = decision.values

    def outcome(value: str, points: float, max_points: float) -> Markup:
        name = str(value).removeprefix("outcome_")
        return label("decision_outcome", lang, outcome=_named("outcome_name", name, lang),
                     points=label("score_fraction", lang, score=_num(points, lang), max=_num(max_points, lang)))

    def text(value: str) -> Markup:
        return Markup('<bdi dir="{}">{}</bdi>').format(_first_strong_direction(value), value)

    return DecisionView(
        automatic=outcome(v["outcome"], v["auto_points"], v["max"]),
        points=label("score_fraction", lang, score=_num(v["points"], lang), max=_num(v["max"], lang)),
        reason=text(str(v["reason"])), by=text(str(v["by"])), at=format_both_calendars(str(v["at"]), lang, tz),
        changed=label("decision_changed", lang, then=outcome(changed.values["outcome"], changed.values["points"],
                                                             changed.values["max"])) if changed else None)


@dataclass(frozen=True)
class QuestionView:
    id: str
    title: Markup
    points: Markup
    awaiting: bool
    tests: tuple[TestView, ...]


def _test_view(test: TestResult, lang: str, release_hidden: bool, messages: Mapping[str, Any] | None,
               tz: tzinfo | None = None) -> TestView:
    if withheld(test, release_hidden):  # no title, outcome, points or message
        return TestView(withheld=True, hidden=True, max_points=_num(test.max_points, lang))
    decision = {m.key: m for m in test.messages if m.key in DECISION_KEYS}
    return TestView(
        withheld=False,
        hidden=test.hidden,
        max_points=_num(test.max_points, lang),
        title=isolate(_pick(test.title, lang, test.id), lang),
        outcome=test.outcome,
        outcome_label=label(f"outcome_name.{test.outcome}", lang)
        if has_label(f"outcome_name.{test.outcome}")
        else escape(test.outcome),
        points=label("score_fraction", lang, score=_num(test.points, lang), max=_num(test.max_points, lang)),
        messages=tuple(_message_text(m, lang, messages) for m in test.messages if m.key not in DECISION_KEYS),
        decision=_decision_view(decision["ta_override"], decision.get("ta_override_changed"), lang, tz)
        if "ta_override" in decision else None,
    )


def shown_points(question: QuestionResult, release_hidden: bool) -> float:
    """The points a student is shown for a question (in the report and the Moodle comment): a withheld
    test's earned points are not added in, so a row gives no single test's outcome away; they are in
    the total, labelled (`hidden_points`)."""
    return round(sum(t.points for t in question.tests if not withheld(t, release_hidden)), 6)


def _question_view(question: QuestionResult, lang: str, release_hidden: bool,
                   messages: Mapping[str, Any] | None, tz: tzinfo | None = None) -> QuestionView:
    awaiting = question.awaiting_ta
    # nothing marked yet: "— / 5", not a misleading "0 / 5"
    unmarked = awaiting and all(t.outcome == "manual" for t in question.tests)
    score = label("dash", lang) if unmarked else _num(shown_points(question, release_hidden), lang)
    return QuestionView(
        id=question.id,
        title=isolate(_pick(question.title, lang, question.id), lang),
        points=label("score_fraction", lang, score=score, max=_num(question.max_points, lang)),
        awaiting=awaiting,
        tests=tuple(_test_view(t, lang, release_hidden, messages, tz) for t in question.tests),
    )


def _submitted_view(result: SubmissionResult, lang: str, tz: tzinfo) -> dict[str, Any] | None:
    """The submission time in the assignment's zone and where it comes from; None when the result has
    neither (a result built by hand); "—" for a copy's file times (`time_source` "file_copied")."""
    when = result.submitted_at or (result.lateness.submitted_at if result.lateness else "")
    if not when and not result.time_source:
        return None
    return {"time": format_both_calendars(when, lang, tz) if when else label("dash", lang),
            "source": time_source_label(result.time_source, lang)}


def _lateness_view(late: Lateness | None, lang: str, tz: tzinfo) -> dict[str, Any] | None:
    if late is None:
        return None
    return {
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


def _limit_value(key: str, value: Any, lang: str, *, enforced: bool = True) -> Markup:
    if not enforced:  # the level did not enforce it (SandboxRecord.not_enforced): said next to the value
        return label("limit_not_enforced", lang, value=_limit_value(key, value, lang))
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
    traceback, trimmed = trim_traceback(student_traceback(ex))
    cells_run = sum(1 for c in ex.cells if c.status != "not_run")
    return {
        "notebook": ex.notebook,
        "status": ex.status,
        "status_label": _named("execution_status_name", ex.status, lang),
        "wall": label("seconds", lang, value=_num(ex.wall_s, lang)),
        "memory": label("megabytes", lang, value=_num(ex.peak_memory_mb, lang))
        if ex.peak_memory_mb is not None else None,
        "cpu": label("seconds", lang, value=_num(ex.cpu_s, lang)) if ex.cpu_s is not None else None,
        "disk": label("megabytes", lang, value=_num(ex.disk_used_mb, lang)) if ex.disk_used_mb is not None else None,
        "reason": label(f"execution_reason_name.{ex.reason}", lang)
        if has_label(f"execution_reason_name.{ex.reason}") else None,
        "cells": label("cells_fraction", lang, run=_num(cells_run, lang), total=_num(ex.cells_total, lang))
        if ex.cells_total else None,
        "failing_cell": label("failing_cell_value", lang, number=_num(ex.failing_cell + 1, lang))
        if ex.failing_cell is not None else None,
        "skipped_cell": label("skipped_cell_value", lang, number=_num(ex.skipped_cell + 1, lang),
                              reason=_named("execution_reason_name", ex.skipped_reason, lang))
        if ex.skipped_cell is not None else None,
        "error_name": clean_terminal_text(ex.error_name),
        "error_value": _clip(clean_terminal_text(ex.error_value), MAX_ERROR_VALUE_CHARS),
        "traceback": traceback,
        "traceback_trimmed": _num(trimmed, lang) if trimmed else None,
    }


def shown_score(result: SubmissionResult, release_hidden: bool) -> float:
    """The points the rows of a student's report add up to: the score less `hidden_points`."""
    return round(sum(shown_points(q, release_hidden) for q in result.questions), 6)


def _context(
    result: SubmissionResult,
    lang: str,
    assignment_title: dict[str, str] | None,
    course: dict[str, str] | None,
    release_hidden: bool,
    messages: Mapping[str, Any] | None,
    timezone: str | None = None,
) -> dict[str, Any]:
    sb = result.sandbox
    tz = time_zone(timezone, assignment=result.assignment, lateness=result.lateness)
    questions = tuple(_question_view(q, lang, release_hidden, messages, tz) for q in result.questions)
    awaiting = sum(q.awaiting_points for q in result.questions)
    held = [t for q in result.questions for t in q.tests if withheld(t, release_hidden)]
    hidden = hidden_points(result, release_hidden)
    figures, figures_more = _figure_views(result.figures, lang)
    attempts = sb.blocked or sb.not_blocked  # a level has one or the other (`none`: what it let through)
    blocked = [
        {"kind": _named("blocked_kind_name", str(b.get("kind", "")), lang),
         "target": _clip(str(b.get("target", "")), 300)}
        for b in attempts[:MAX_BLOCKED_SHOWN]
    ]

    def fraction(points: float) -> Markup:
        return label("score_fraction", lang, score=_num(points, lang), max=_num(result.max_score, lang))

    title = _pick(assignment_title, lang, result.assignment)
    return {
        "lang": lang,
        "dir": DIRECTION[lang],
        "course": isolate(_pick(course, lang), lang),
        # <title>: plain text, its runs of the other direction and the student id isolated
        "page_title": " — ".join(part for part in (label_text("page_title", lang), isolate_plain(title, lang),
                                                   first_strong(result.student)) if part),
        "assignment_title": isolate(title, lang),
        "assignment_id": result.assignment,
        "student": result.student,
        "display_name": result.display_name,  # from the LMS export: its direction is its own
        "display_name_dir": _first_strong_direction(result.display_name),
        "notebooks": [ex.notebook for ex in result.executions],
        "graded_at": format_both_calendars(result.graded_at, lang, tz) if result.graded_at else None,
        "submitted": _submitted_view(result, lang, tz),
        "status": result.status,
        "status_label": _named("status_name", result.status, lang),
        # the grade, as grades.csv, the dashboard and Moodle have it: withheld tests' points included ...
        "score": fraction(result.score),
        # ... and labelled: what the rows below show, and what comes from tests not yet released
        "score_hidden": label("score_hidden_note", lang, shown=_num(shown_score(result, release_hidden), lang),
                              hidden=_num(hidden, lang)) if hidden is not None else None,
        "lateness": _lateness_view(result.lateness, lang, tz),
        "final_score": fraction(result.final_score),
        "awaiting_points": _num(awaiting, lang) if awaiting > 0 else None,
        "questions": questions,
        "withheld": label("hidden_withheld", lang, count=_num(len(held), lang),
                          points=_num(sum(t.max_points for t in held), lang),
                          earned=_num(hidden, lang)) if hidden is not None else None,
        "messages": tuple(_message_text(m, lang, messages) for m in result.messages),
        "executions": [_execution_view(ex, lang) for ex in result.executions],
        "figures": figures,
        "figures_more": figures_more,
        "sandbox": {
            "level": sb.level,
            "level_label": _named("sandbox_level_name", sb.level, lang),
            "network": sb.network,
            "limits": [
                (_named("limit_name", str(k), lang), _limit_value(str(k), v, lang, enforced=k not in sb.not_enforced))
                for k, v in sb.limits.items()
            ],
            "blocked": blocked,
            "blocked_title": "blocked_title" if sb.blocked else "not_blocked_title",
            "blocked_more": _num(len(attempts) - MAX_BLOCKED_SHOWN, lang)
            if len(attempts) > MAX_BLOCKED_SHOWN
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
    timezone: str | None = None,
) -> str:
    """The HTML page of ``result`` in ``lang`` ("fa" or "en"), self-contained (fonts and figures inlined).

    ``release_hidden`` is the assignment's visibility policy (``[visibility] release_hidden``): until
    it is true a hidden test shows only that it exists and what it is worth, its earned points stay
    out of its question's row and the total is labelled with them (see the module's docstring).
    ``messages`` is the assignment's messages.toml, looked up before the engine's catalogue when the
    result's messages are rendered.  ``timezone`` is the assignment's (`Assignment.timezone`): every
    time on the page is shown there (without it, the deadline's zone, else Asia/Tehran)."""
    if lang not in LANGS:
        raise ValueError(f"unknown report language {lang!r}; expected one of {LANGS}")

    def t(key: str, **values: Any) -> Markup:
        return label(key, lang, **values)

    context = _context(result, lang, assignment_title, course, release_hidden, messages, timezone)
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


@cache
def _font_config():
    """One WeasyPrint font configuration per process: it keeps each @font-face it has decoded (by its
    descriptors, the data: URI included), so a process decompresses the two Vazirmatn WOFF2 fonts once,
    not for every page (measured: 2.3 s a page without it, 1.9 s with it)."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def html_to_pdf(html: str, path: Path) -> Path:
    """Write the PDF of a report page (WeasyPrint; Vazirmatn from the page's @font-face, DejaVu from
    the system as fallback).  Needs the `weasyprint` package and Pango."""
    import weasyprint  # heavy, and needs system libraries: only when a PDF is asked for

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    weasyprint.HTML(string=html, url_fetcher=_url_fetcher()).write_pdf(path, font_config=_font_config())
    return path


@contextlib.contextmanager
def pdf_writer(workers: int | None = None) -> Iterator[Callable[[str, Path], Path]]:
    """`write(html, path)` for many pages, as `render_reports` takes it: the pages are turned into PDFs in
    `workers` processes (by default one per core this process may use; a page takes WeasyPrint 1–5 s of one
    core), a few pages ahead of them at most; every PDF is written, or the first failure raised, when the block
    ends.  Where no process can start (a script without a `__main__` guard) the pages are made here."""
    workers = min(workers or len(os.sched_getaffinity(0)), 8)
    if workers < 2:
        yield html_to_pdf
        return
    pending: dict[cf.Future[Path], tuple[str, Path]] = {}

    def settle(futures: Iterable[cf.Future[Path]]) -> None:
        for future in futures:
            html, path = pending.pop(future)
            try:
                future.result()
            except BrokenProcessPool:
                html_to_pdf(html, path)

    with cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        def write(html: str, path: Path) -> Path:
            path = Path(path)
            if len(pending) >= 2 * workers:
                settle(cf.wait(pending, return_when=cf.FIRST_COMPLETED).done)
            try:
                pending[pool.submit(html_to_pdf, html, path)] = (html, path)
            except BrokenProcessPool:
                html_to_pdf(html, path)
            return path

        yield write
        settle(list(pending))


def render_pdf(
    result: SubmissionResult,
    lang: str,
    path: Path,
    *,
    assignment_title: dict[str, str] | None = None,
    course: dict[str, str] | None = None,
    messages: Mapping[str, Any] | None = None,
    release_hidden: bool = False,
    timezone: str | None = None,
) -> Path:
    """Write the report of ``result`` in ``lang`` as a PDF at ``path``; return the path."""
    html = render_report(result, lang, assignment_title=assignment_title, course=course, messages=messages,
                         release_hidden=release_hidden, timezone=timezone)
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
    timezone: str | None = None,
    write_pdf: Callable[[str, Path], Path] = html_to_pdf,
) -> list[Path]:
    """Write ``report.<lang>.html`` and/or ``report.<lang>.pdf`` for each language into ``out_dir``;
    return the paths written (a PDF by `write_pdf`: `pdf_writer`'s for many students)."""
    formats = tuple(formats)
    if unknown := set(formats) - set(FORMATS):
        raise ValueError(f"unknown report format(s) {sorted(unknown)}; expected some of {FORMATS}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for lang in langs:
        html = render_report(result, lang, assignment_title=assignment_title, course=course, messages=messages,
                             release_hidden=release_hidden, timezone=timezone)
        if "html" in formats:
            path = out_dir / f"report.{lang}.html"
            path.write_text(html, encoding="utf-8")
            paths.append(path)
        if "pdf" in formats:
            paths.append(write_pdf(html, out_dir / f"report.{lang}.pdf"))
    return paths
