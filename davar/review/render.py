"""A student's answer cells as safe HTML for `davar review`: nothing a student wrote is trusted.

Markdown is rendered by markdown-it-py (LaTeX kept as the student wrote it, escaped text), code is
highlighted by Pygments (its output is escaped text in spans), and every piece of HTML a student
could have written (raw HTML in Markdown, an output's text/html) goes through nh3 (ammonia) with a
short allow-list: no script, no event handler, no style, no `javascript:` link, and no image but an
inline `data:image/...` one, so nothing external is loaded.  Outputs' images are base64 checked
before they are inlined.  The page's Content-Security-Policy (`davar.review.app`) is a second wall.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

MAX_NOTEBOOK_BYTES = 64 * 2**20
MAX_IMAGE_BYTES = 8 * 2**20
_IMAGES = ("image/png", "image/jpeg", "image/gif")
_TAGS = {"a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6",
         "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody",
         "td", "th", "thead", "tr", "u", "ul"}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "*": {"dir", "class"},
               "td": {"align"}, "th": {"align"}}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FORMATTER = HtmlFormatter(cssclass="code", nowrap=False)


def _keep(tag: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: images only from inline data, links never to data."""
    if tag == "img" and attribute == "src":
        return value if re.match(r"data:image/(png|jpeg|gif);base64,", value) else None
    if tag == "a" and attribute == "href" and value.strip().lower().startswith("data:"):
        return None
    return value


def sanitize(fragment: str) -> str:
    """Student HTML, made safe: the allow-list above, everything else stripped (script and style with their text)."""
    return nh3.clean(fragment, tags=_TAGS, attributes=_ATTRIBUTES, attribute_filter=_keep,
                     clean_content_tags={"script", "style"}, url_schemes={"http", "https", "mailto", "data"},
                     link_rel="noopener noreferrer nofollow")


_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable("table").use(dollarmath_plugin)


def markdown(text: str) -> str:
    return sanitize(_MARKDOWN.render(text))


def code(text: str) -> str:
    return highlight(text, PythonLexer(), _FORMATTER)


def code_css() -> str:
    return _FORMATTER.get_style_defs(".code")


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _image(kind: str, data: Any) -> str:
    raw = _text(data).replace("\n", "")
    try:
        if len(raw) > MAX_IMAGE_BYTES * 4 // 3 + 4:
            return ""
        base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return ""
    return f'<img class="figure" alt="" src="data:{kind};base64,{raw}">'


def output(out: dict[str, Any]) -> str:
    """One cell output as safe HTML."""
    kind = out.get("output_type")
    if kind == "stream":
        return f'<pre class="stream">{html.escape(_ANSI.sub("", _text(out.get("text"))))}</pre>'
    if kind == "error":
        text = f"{out.get('ename', '')}: {out.get('evalue', '')}"
        return f'<pre class="error">{html.escape(_ANSI.sub("", text))}</pre>'
    data = out.get("data") if isinstance(out.get("data"), dict) else {}
    assert isinstance(data, dict)
    for image in _IMAGES:
        if image in data:
            return _image(image, data[image])
    if "text/html" in data:
        return f'<div class="html-output">{sanitize(_text(data["text/html"]))}</div>'
    if "text/markdown" in data:
        return markdown(_text(data["text/markdown"]))
    if "text/plain" in data:
        return f'<pre class="plain">{html.escape(_text(data["text/plain"]))}</pre>'
    return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Cell:
    kind: str  # "markdown", "code", "raw"
    html: str  # safe: built here
    outputs: tuple[str, ...] = ()  # safe: built here


def cell(raw: dict[str, Any]) -> Cell:
    source = _text(raw.get("source"))
    kind = str(raw.get("cell_type", "raw"))
    if kind == "markdown":
        return Cell(kind=kind, html=markdown(source))
    if kind == "code":
        outputs = raw.get("outputs") if isinstance(raw.get("outputs"), list) else []
        return Cell(kind=kind, html=code(source),
                    outputs=tuple(o for o in (output(x) for x in outputs or () if isinstance(x, dict)) if o))
    return Cell(kind="raw", html=f"<pre>{html.escape(source)}</pre>")


def read_cells(path: Path) -> list[dict[str, Any]]:
    """A notebook's cells as plain JSON (never executed); [] when it cannot be read."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return []
        nb = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return []
    cells = nb.get("cells") if isinstance(nb, dict) else None
    return [c for c in cells if isinstance(c, dict)] if isinstance(cells, list) else []


def answer(cells: list[dict[str, Any]], wanted: tuple[str, ...], template_ids: set[str]) -> list[Cell]:
    """The cells of one answer: each cell whose id is in `wanted`, with the cells a student added after it
    (ids the template does not have) up to the template's next cell; every cell when `wanted` is empty or
    no cell matches (a student who lost the ids)."""
    if not wanted:
        return [cell(c) for c in cells]
    chosen, inside = [], False
    for c in cells:
        cid = str(c.get("id", ""))
        if cid in wanted:
            inside = True
        elif cid in template_ids:
            inside = False
        if inside:
            chosen.append(cell(c))
    return chosen or [cell(c) for c in cells]
