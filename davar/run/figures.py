"""The images a notebook displayed, made safe to keep and show.

Read from the executed notebook (JSON; nothing of the student's runs here), through `davar.files`: a
regular file of at most the caller's `limit` bytes, else `UnsafeFile`.  PNG and JPEG outputs are
decoded by Pillow and re-encoded as PNG, shrunk to at most `MAX_SIDE` pixels, so a report embeds
pixels davar wrote, never the student's bytes; SVG (which can carry scripts) and undecodable images
are listed without data.  At most `MAX_FIGURES` per notebook keep their data.  Nothing here waits on the
student's process, and its time is bounded by sizes: the notebook's (the caller's limit) and at most
`MAX_FIGURES` images of at most `MAX_PIXELS` each (Pillow decodes nothing before the size is checked).
"""

from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path

import nbformat

from davar import files
from davar.results import Figure

IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")
MAX_FIGURES = 12
MAX_SIDE = 1200
MAX_PIXELS = 40_000_000  # refuse decompression bombs
# Cells that are not the student's: davar's in front of theirs, and papermill's notes before the cell that raised.
OURS = {"davar-setup", "injected-parameters", "papermill-error-cell-tag"}


def from_notebook(path: Path, notebook: str, *, limit: int) -> tuple[Figure, ...]:
    """Every image output of the executed notebook at `path` (read only if it is a regular file of at most
    `limit` bytes: `UnsafeFile` otherwise), numbered by the student's cells; none when it is missing or
    is no notebook."""
    try:
        nb = nbformat.reads(files.read_bytes(path, limit=limit).decode("utf-8"), as_version=4)
    except (OSError, ValueError, RecursionError):  # missing, not UTF-8 (a ValueError), not a notebook
        return ()
    student_cells = [c for c in nb.cells if not OURS & set(c.get("metadata", {}).get("tags", []))]
    found = []
    for i, cell in enumerate(student_cells):
        for out in cell.get("outputs", []):
            data = out.get("data") if isinstance(out.get("data"), dict) else {}
            mime = next((m for m in IMAGE_TYPES if m in data), None)  # one figure per output, PNG first
            if mime:
                found.append((i, mime, data[mime]))
    return tuple(Figure(notebook=notebook, cell=i, mime=mime, data=_safe_png(raw) if k < MAX_FIGURES else "")
                 for k, (i, mime, raw) in enumerate(found))


def _safe_png(raw) -> str:
    """Base64 of a PNG Pillow re-encoded from a base64 PNG/JPEG output; "" when that is not possible."""
    from PIL import Image

    if not isinstance(raw, str):
        return ""
    try:
        with Image.open(io.BytesIO(base64.b64decode(raw, validate=False))) as im:
            if im.format not in ("PNG", "JPEG") or im.width * im.height > MAX_PIXELS:
                return ""
            converted = im.convert("RGBA" if "A" in im.getbands() else "RGB")
            converted.thumbnail((MAX_SIDE, MAX_SIDE))
            out = io.BytesIO()
            converted.save(out, format="PNG", optimize=True)
    except (OSError, ValueError, binascii.Error, Image.DecompressionBombError):
        return ""
    return base64.b64encode(out.getvalue()).decode("ascii")
