"""Write the damaged-notebook fixtures in tests/notebooks/damaged/, one per kind of damage.

    python tests/notebooks/make_damaged.py

Each file is named after what it reproduces; tests/intake/test_repair.py says what davar does with each.
All of them (when readable) hold the same small program: `answer = 42` and `double(x)`; the
fixtures for files too large to keep in the repository (hundreds of MB of outputs, over the size
cap) are made by the tests in a temporary folder with `huge_outputs` and `oversize` below.
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

HERE = Path(__file__).parent / "damaged"
CODE = ["import math\n", "answer = int(math.sqrt(42 * 42))"]
DOUBLE = ["def double(x):\n", "    return 2 * x"]


def cell(kind: str, source: list[str], *, count=None, outputs=None, cell_id: str | None = "", **extra) -> dict:
    """A cell as Jupyter writes it (keys sorted); `cell_id=None` leaves the id out."""
    c: dict = {"cell_type": kind, "metadata": {}, "source": source, **extra}
    if cell_id is not None:
        c["id"] = cell_id or f"{kind}-{zlib.crc32(''.join(source).encode()):08x}"
    if kind == "code":
        c["execution_count"] = count
        c["outputs"] = outputs if outputs is not None else []
    return dict(sorted(c.items()))


def stream(text: str) -> dict:
    return {"name": "stdout", "output_type": "stream", "text": [text]}


def notebook(cells: list[dict], minor: int = 5) -> dict:
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": minor}


def good_cells(**kw) -> list[dict]:
    return [cell("markdown", ["# HW\n", "The answer."], cell_id="intro"),
            cell("code", CODE, cell_id="answer", count=kw.get("counts", (1, 2))[0],
                 outputs=[stream("42\n")] if kw.get("outputs") else []),
            cell("code", DOUBLE, cell_id="double", count=kw.get("counts", (1, 2))[1])]


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def v3() -> dict:
    """nbformat 3: worksheets, `input` and `prompt_number`, a heading cell."""
    return {"metadata": {"name": "HW"}, "nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": [
        {"cell_type": "heading", "level": 1, "metadata": {}, "source": ["HW"]},
        {"cell_type": "code", "collapsed": False, "input": CODE, "language": "python", "metadata": {},
         "outputs": [{"output_type": "stream", "stream": "stdout", "text": ["42\n"]}], "prompt_number": 3},
        {"cell_type": "code", "collapsed": False, "input": DOUBLE, "language": "python", "metadata": {},
         "outputs": [], "prompt_number": 1}], "metadata": {}}]}


def source_first(nb: dict) -> str:
    """As some editors write it: each cell's source before its outputs."""
    for c in nb["cells"]:
        order = ["cell_type", "id", "metadata", "source", "execution_count", "outputs"]
        c_sorted = {k: c[k] for k in order if k in c}
        c.clear()
        c.update(c_sorted)
    return dumps(nb)


def fixtures() -> dict[str, bytes]:
    good = dumps(notebook(good_cells()))
    with_output = notebook(good_cells(outputs=True))
    dup = notebook(good_cells())
    dup["cells"][2]["id"] = "answer"
    missing = notebook(good_cells())
    del missing["cells"][1]["id"]
    bad_id = notebook(good_cells())
    bad_id["cells"][0]["id"] = "has spaces and ünïcode"
    truncated_outputs = source_first(notebook([*good_cells()[:2], cell("code", DOUBLE, cell_id="double", count=2,
                                                                       outputs=[stream("x" * 5000 + "\n")])]))
    cut = truncated_outputs.index("x" * 100) + 1000
    broken = good.replace('"cell_type": "code",\n', '"cell_type": "code"\n', 1)
    cp1256 = dumps(notebook([cell("markdown", ["سلام"], cell_id="salam"), *good_cells()[1:]]))
    odd = notebook(good_cells())
    odd["cells"][1]["metadata"] = {"tags": "not-a-list", "collapsed": "maybe"}
    odd["cells"][1]["colab_type"] = "code"  # keys the format does not have, here and at the top
    odd["metadata"]["kernelspec"] = "python3"
    odd["saved_by"] = "an editor"
    return {
        "unknown_keys_and_bad_metadata.ipynb": dumps(odd).encode(),
        "null_execution_counts.ipynb": dumps(notebook(good_cells(counts=(None, None)))).encode(),
        "out_of_order_execution_counts.ipynb": dumps(notebook(good_cells(counts=(7, 3)))).encode(),
        "duplicate_cell_ids.ipynb": dumps(dup).encode(),
        "missing_cell_id.ipynb": dumps(missing).encode(),
        "invalid_cell_id.ipynb": dumps(bad_id).encode(),
        "nbformat_v3.ipynb": dumps(v3()).encode(),
        "nbformat_v4_0.ipynb": dumps(notebook([{k: v for k, v in c.items() if k != "id"} for c in good_cells()],
                                              minor=0)).encode(),
        "nbformat_v4_4.ipynb": dumps(notebook([{k: v for k, v in c.items() if k != "id"} for c in good_cells()],
                                              minor=4)).encode(),
        "utf8_bom.ipynb": b"\xef\xbb\xbf" + good.encode(),
        "utf16.ipynb": good.encode("utf-16"),
        "trailing_garbage.ipynb": (good + '{"cells": [\n<<<<<<< conflict\n').encode(),
        "stale_outputs.ipynb": dumps(with_output).encode(),
        "truncated_in_outputs.ipynb": truncated_outputs[:cut].encode(),
        "truncated_in_source.ipynb": good[:good.index("sqrt")].encode(),
        "invalid_json.ipynb": broken.encode(),
        "not_utf8.ipynb": cp1256.encode("utf-8").replace("سلام".encode(), "سلام".encode("cp1256")),
        "html_page.ipynb": b"<!DOCTYPE html><html><head><title>Google Drive - Virus scan warning</title></head></html>\n",
        "not_a_notebook.ipynb": b'{"name": "HW", "answer": 42}\n',
        "nbformat_v2.ipynb": b'{"nbformat": 2, "worksheets": []}\n',
        "empty_file.ipynb": b"",
        "no_code_cells.ipynb": dumps(notebook([good_cells()[0]])).encode(),
        "unknown_cell_type.ipynb": dumps(notebook([*good_cells(), cell("heading", ["old"], cell_id="h")])).encode(),
        "missing_graded_name.ipynb": dumps(notebook([cell("code", ["answr = 42"], cell_id="typo", count=1),
                                                     cell("code", DOUBLE, cell_id="double", count=2)])).encode(),
    }


def huge_outputs(path: Path, megabytes: int) -> Path:
    """A good notebook whose first code cell carries one image output of about `megabytes` MB,
    written in pieces (the test that reads it measures memory)."""
    nb = notebook(good_cells())
    head, tail = dumps(nb).split('"outputs": []', 1)
    chunk = "iVBORw0KGgo" * 100_000  # ~1.1 MB of base64-looking text
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + '"outputs": [{"data": {"image/png": "')
        for _ in range(max(1, int(megabytes / 1.1))):
            f.write(chunk)
        f.write('"}, "metadata": {}, "output_type": "display_data"}]' + tail)
    return path


def oversize(path: Path, size: int) -> Path:
    """A sparse file of `size` bytes that starts like a notebook (never read: refused by its size)."""
    path.write_bytes(b'{"cells": [')
    os.truncate(path, size)
    return path


def main() -> None:
    HERE.mkdir(exist_ok=True)
    for old in HERE.glob("*.ipynb"):
        old.unlink()
    for name, data in fixtures().items():
        (HERE / name).write_bytes(data)
    print(f"{len(fixtures())} fixtures in {HERE}")


if __name__ == "__main__":
    main()
