"""The fa/en message catalogue: every sentence a student or TA reads that is not in a template.

A result stores a message as its key and values (`message`); its words are rendered when a person
reads them (`render`), so a wording fix here or in an assignment's messages.toml needs no regrade.

Messages are looked up by key in the assignment's own ``graders/<id>/messages.toml`` (course text,
passed as ``course``), then in the engine's generic ``catalogue.toml``, and formatted per language
with Babel, so Persian gets Persian digits and separators (۰٫۹۲ ، ۹۲٫۳۴٪).  Placeholders name a kind after the colon:
``{measured:percent}``, ``{count:number}``, ``{split:term}`` (the value is itself a catalogue key,
``term_<value>``, shown in the page's language), ``{name}`` (text, e.g. an identifier).  In Persian every
substituted value is wrapped in Unicode first-strong isolates (FSI … PDI), the plain-text form of
``<bdi>``, so ``conv2d_2`` or ``0.9234`` never reorders inside right-to-left text.

Why a TOML catalogue and not gettext .po files: messages are keyed (graders raise ``accuracy`` with
values, not English sentences), both languages are authored together by the course staff, and one
file per assignment is easier for a TA to review than two compiled catalogues.  Babel still does the
locale work (numbers, percentages).
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from babel.numbers import format_decimal, format_percent

from davar.results import Message

LANGS = ("fa", "en")
FSI, PDI = "\u2068", "\u2069"
# Babel gives fa's separators (٫ ٬) with numbering_system="default" but Latin digits; CLDR's fa
# default is Persian digits, so they are substituted here.
_PERSIAN = str.maketrans("0123456789%", "۰۱۲۳۴۵۶۷۸۹٪")
_FORMATS = {"percent": "#,##0.00%", "number": "#,##0.####", "count": "#,##0", "points": "#,##0.##"}


def format_number(value: float, lang: str, kind: str = "number") -> str:
    """A number in the language's digits: format_number(0.9234, "fa", "percent") == "۹۲٫۳۴٪"."""
    fmt = format_percent if kind == "percent" else format_decimal
    text = fmt(value, format=_FORMATS[kind], locale=lang, numbering_system="default")
    return text.translate(_PERSIAN) if lang == "fa" else text


@cache
def _entries() -> dict[str, Any]:
    return tomllib.loads(resources.files("davar").joinpath("catalogue.toml").read_text("utf-8"))


def _entry(key: str, lang: str, course: Mapping[str, Any] | None) -> str | dict[str, str]:
    return ((course or {}).get(key) or _entries()[key])[lang]


def template(key: str, lang: str, variant: str | None = None, *, course: Mapping[str, Any] | None = None) -> str:
    """The text of `key` in `lang`: from the assignment's own messages (`course`, its messages.toml)
    when it has the key, else from the engine's catalogue."""
    entry = _entry(key, lang, course)
    if isinstance(entry, dict):
        return entry[variant or "fail"]
    return entry


class _Formatter(string.Formatter):
    def __init__(self, lang: str, course: Mapping[str, Any] | None):
        self.lang, self.course = lang, course

    def format_field(self, value: Any, spec: str) -> str:
        if spec == "term":
            return template(f"term_{value}", self.lang, course=self.course)
        text = format_number(value, self.lang, spec) if spec in _FORMATS else str(value)
        return FSI + text + PDI if self.lang == "fa" else text


def text(key: str, lang: str, values: Mapping[str, Any] | None = None, variant: str | None = None, *,
         course: Mapping[str, Any] | None = None) -> str:
    """One message in one language.  A value given per language, ``{"fa": …, "en": …}`` (a TA's
    comment written in both), is that language's."""
    values = {k: v[lang] if isinstance(v, Mapping) and lang in v else v for k, v in (values or {}).items()}
    return _Formatter(lang, course).format(template(key, lang, variant, course=course), **values)


def message(key: str, values: Mapping[str, Any] | None = None, variant: str | None = None, *,
            course: Mapping[str, Any] | None = None) -> Message:
    """A message to store in a result: its key, variant and values (JSON-able), never its text, which
    `render` makes when a person reads it.  It is rendered here once and dropped, so an unknown key or a
    missing value fails the grader that asked for it, not a report later."""
    values = dict(values or {})
    for lang in LANGS:
        text(key, lang, values, variant, course=course)
    return Message(key=key, values=values, variant=variant or "")


def render(message: Message, lang: str, course: Mapping[str, Any] | None = None) -> str:
    """The text of a stored message in `lang`, rendered now from its key and values: the assignment's
    own messages (`course`, its messages.toml) first, then the engine's catalogue, so a wording fix
    shows without a regrade.  The one way a report, the dashboard, an export or the CLI gets a
    message's words.

    A record older than schema 3 also carries the text it was graded with: that is shown when the key
    is no longer known or its text can no longer be filled from the stored values, and when the key
    has pass and fail texts but the old record does not say which it was."""
    stored = getattr(message, lang) or message.en or message.fa
    try:
        if stored and not message.variant and isinstance(_entry(message.key, lang, course), dict):
            return stored
        return text(message.key, lang, message.values, message.variant or None, course=course)
    except (KeyError, IndexError, ValueError, TypeError):
        return stored or message.key
