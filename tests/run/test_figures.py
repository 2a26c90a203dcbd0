"""davar.run.figures: a notebook's images, re-encoded by davar before any report shows them."""

import base64
import io
import os
import threading

import nbformat
import pytest
from PIL import Image

from davar.errors import UnsafeFile
from davar.run import figures

LIMIT = 64 * 2**20


def _png(width=40, height=30, fmt="PNG") -> str:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format=fmt)
    return base64.b64encode(out.getvalue()).decode()


def _notebook(tmp_path, *outputs):
    cells = [nbformat.v4.new_code_cell("setup", metadata={"tags": ["davar-setup"]}),
             nbformat.v4.new_markdown_cell("text"),
             nbformat.v4.new_code_cell("plots", outputs=[nbformat.v4.new_output("display_data", data=d) for d in outputs])]
    path = tmp_path / "executed.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_images_are_reencoded_and_numbered_by_the_students_cells(tmp_path):
    path = _notebook(tmp_path, {"image/png": _png()}, {"image/jpeg": _png(fmt="JPEG")},
                     {"image/svg+xml": "<svg><script>alert(1)</script></svg>"},
                     {"image/png": base64.b64encode(b"<script>not an image</script>").decode()},
                     {"text/plain": "no image"})
    found = figures.from_notebook(path, "HW.ipynb", limit=LIMIT)
    assert [(f.notebook, f.cell, f.mime) for f in found] == [("HW.ipynb", 1, "image/png"), ("HW.ipynb", 1, "image/jpeg"),
                                                             ("HW.ipynb", 1, "image/svg+xml"), ("HW.ipynb", 1, "image/png")]
    png, jpeg, svg, junk = found
    for f in (png, jpeg):
        with Image.open(io.BytesIO(base64.b64decode(f.data))) as im:
            assert im.format == "PNG" and im.size == (40, 30)
    assert svg.data == "" and junk.data == ""


def test_big_images_shrink_and_only_the_first_ones_keep_data(tmp_path):
    path = _notebook(tmp_path, *[{"image/png": _png(3000, 1500)}] * (figures.MAX_FIGURES + 2))
    found = figures.from_notebook(path, "HW.ipynb", limit=LIMIT)
    assert len(found) == figures.MAX_FIGURES + 2 and all(f.data for f in found[:figures.MAX_FIGURES])
    assert not any(f.data for f in found[figures.MAX_FIGURES:])
    with Image.open(io.BytesIO(base64.b64decode(found[0].data))) as im:
        assert im.size == (figures.MAX_SIDE, figures.MAX_SIDE // 2)


def test_a_missing_or_broken_notebook_has_no_figures(tmp_path):
    assert figures.from_notebook(tmp_path / "none.ipynb", "x", limit=LIMIT) == ()
    (tmp_path / "bad.ipynb").write_text("{not json")
    assert figures.from_notebook(tmp_path / "bad.ipynb", "x", limit=LIMIT) == ()


@pytest.mark.parametrize("plant, kind", [(os.mkfifo, "fifo"), (lambda p: os.symlink("/dev/zero", p), "symlink"),
                                         (lambda p: os.truncate(_touch(p), LIMIT + 1), "too_large")])
def test_an_executed_notebook_that_is_no_notebook_file_is_refused_at_once(tmp_path, plant, kind):
    path = tmp_path / "executed.ipynb"
    plant(path)
    out = {}

    def read():
        try:
            figures.from_notebook(path, "x", limit=LIMIT)
        except UnsafeFile as e:
            out["kind"] = e.kind

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(20)  # a regression blocks forever: fail, do not hang
    assert not reader.is_alive() and out == {"kind": kind}


def _touch(path):
    path.touch()
    return path
