"""Writing an assignment's notebooks from cell sources: the template students start from, the
reference solution and the labelled samples all come from one `make_notebooks.py` per assignment
(see `reference/<id>/make_notebooks.py`), so they cannot drift apart.

    nb = notebook(md(INTRO, "intro"), parameters(), code(ANSWERS, "answers"), ...)
    write({HERE / "HW3.template.ipynb": nb, ...}, base=REPO)

Cell ids are given, not random, so regenerating a notebook changes nothing that did not change.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import nbformat

#: The parameters cell every template has; papermill injects the real values after it.
PARAMETERS = """\
# Parameters: the grader replaces these values when it runs the notebook.
# پارامترها: داور هنگام اجرای نوت‌بوک این مقادیر را جایگزین می‌کند.
DATA_DIR = "data"
SEED = 42
OUTPUT_DIR = "output"
PROFILE = "standin\""""


def code(source: str, cell_id: str, **kw) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source, id=cell_id, **kw)


def md(source: str, cell_id: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(source, id=cell_id)


def parameters(source: str = PARAMETERS) -> nbformat.NotebookNode:
    return code(source, "parameters", metadata={"tags": ["parameters"]})


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=list(cells), metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return nb


def write(notebooks: Mapping[Path, nbformat.NotebookNode], *, base: Path) -> None:
    """Write each notebook (folders created) and print its path relative to `base`."""
    for path, nb in notebooks.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        print(path.relative_to(base))
