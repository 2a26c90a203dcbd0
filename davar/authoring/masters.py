"""`davar assign`: an assignment's notebooks, written from its master notebooks.

Each notebook an assignment names (`notebooks = ["HW2.ipynb"]`) has one master,
`reference/<id>/HW2.py`: a jupytext percent-format file that opens and runs in Jupyter or VS Code
as the reference solution.  Cells are named by `id="..."` in their `# %%` line (a cell without one gets
an id from its position).  From the masters `davar assign` writes

    reference/<id>/HW2.template.ipynb      what students start from (solutions replaced by prompts)
    reference/<id>/HW2.ipynb               the reference solution (`davar audit-key` grades it)
    submissions/<id>/<sample>/HW2.ipynb    each labelled sample: the reference + its mutations.toml
    PUBLIC/HW2.ipynb                       with `--public PUBLIC`: the student bundle's notebooks

Markers, as otter-assign and nbgrader spell them (in markdown cells as `<!-- BEGIN SOLUTION -->`):

    # BEGIN SOLUTION / # END SOLUTION   lines only in the reference
    # BEGIN PROMPT / # END PROMPT       lines only in the template, written commented out in the
                                        master (the first "# " of each line is removed; a
                                        lone "#" is an empty line)
    x = 42  # SOLUTION                  the template gets `x = ...` (a line that assigns nothing is
                                        left out); the reference gets `x = 42`
    from M import f, g  # INCLUDE       both get the source of M.f and M.g (course code the graders
                                        use too, kept in one place: graders/<id>/M.py); in Jupyter
                                        it is a plain import (PYTHONPATH=graders/<id>)

A sample's `mutations.toml` lists `[[edit]]`s of the reference, each naming a cell (and the notebook
when there are several): `old` + `new` (`old` must occur exactly once), `source` (the whole cell),
`template = true` (the template's version of the cell), or `insert_after` + `type` + `source` (a new
cell with id `cell`).  `notebooks = [...]` limits the sample to some notebooks.

Output is deterministic: the same masters give byte-identical notebooks (`--check` compares).
"""

from __future__ import annotations

import importlib
import inspect
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import sha1
from pathlib import Path
from typing import Any

import jupytext
import nbformat

from davar.assignment import Assignment, course_imports
from davar.errors import AuthoringError

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
MUTATIONS = "mutations.toml"
SOLUTION_SUFFIX = re.compile(r"\s*#\s*SOLUTION\s*$")
INCLUDE = re.compile(r"^(\s*)from\s+([\w.]+)\s+import\s+([\w\s,]+?)\s*#\s*INCLUDE\s*$")
ASSIGNS = re.compile(r"^(\s*[\w.\[\]\"', ]+?)\s*=(?!=)")


@dataclass(frozen=True, slots=True, kw_only=True)
class Written:
    """One notebook `davar assign` produced; `changed` when it differs from what was on disk."""

    path: Path
    changed: bool


def assign(a: Assignment, *, public: Path | None = None, check: bool = False) -> list[Written]:
    """Write (or with `check`, only compare) every notebook of `a` generated from its masters."""
    references, templates = {}, {}
    for name in a.notebooks:
        master = a.reference_dir / (Path(name).stem + ".py")
        if not master.is_file():
            raise AuthoringError("master_missing", assignment=a.id, master=str(master), notebook=name)
        cells = read_master(master)
        with course_imports(a):
            references[name] = _notebook(_version(cells, solution=True, master=master))
            templates[name] = _notebook(_version(cells, solution=False, master=master))
    outputs: dict[Path, nbformat.NotebookNode] = {}
    for name in a.notebooks:
        stem = Path(name).stem
        outputs[a.reference_dir / f"{stem}.template.ipynb"] = templates[name]
        outputs[a.reference_dir / name] = references[name]
        if public is not None:
            outputs[public / name] = templates[name]
    samples = a.reference_dir.parent.parent / "submissions" / a.id
    for mutations in sorted(samples.glob(f"*/{MUTATIONS}")):
        for name, nb in mutate(references, templates, mutations).items():
            outputs[mutations.parent / name] = nb
    return [_write(path, nb, check=check) for path, nb in outputs.items()]


def read_master(path: Path) -> list[nbformat.NotebookNode]:
    """The master's cells, each with its id and the line of its `# %%` in the master."""
    text = path.read_text("utf-8")
    cells = jupytext.reads(text, fmt="py:percent").cells
    starts = [i + 1 for i, line in enumerate(text.splitlines()) if line.startswith("# %%")]
    if len(starts) != len(cells):
        raise AuthoringError("master_cell_marker", master=str(path))
    ids: set[str] = set()
    for index, (cell, line) in enumerate(zip(cells, starts, strict=True)):
        cell.id = str(cell.metadata.pop("id", "")) or sha1(f"{path.stem}:{index}".encode()).hexdigest()[:8]
        cell.metadata.pop("lines_to_next_cell", None)
        cell["line"] = line
        if cell.id in ids:
            raise AuthoringError("master_duplicate_cell", master=str(path), line=str(line), cell=cell.id)
        ids.add(cell.id)
    return cells


def mutate(references: Mapping[str, nbformat.NotebookNode], templates: Mapping[str, nbformat.NotebookNode],
           path: Path) -> dict[str, nbformat.NotebookNode]:
    """A sample's notebooks: the reference with the edits of its `mutations.toml` applied in order."""
    sample = f"{path.parent.parent.name}/{path.parent.name}"
    try:
        spec = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise AuthoringError("toml_unreadable", path=str(path), error=str(e)) from None
    names = spec.get("notebooks", list(references))
    if unknown := [n for n in names if n not in references]:
        raise AuthoringError("sample_unknown_notebook", sample=sample, notebook=str(unknown[0]),
                             notebooks=", ".join(references))
    notebooks = {name: nbformat.from_dict(_copy(references[name])) for name in names}
    for edit in spec.get("edit", []):
        name = edit.get("notebook") or (names[0] if len(names) == 1 else "")
        where = {"sample": sample, "notebook": name or "?", "cell": str(edit.get("cell"))}
        if name not in notebooks:
            raise AuthoringError("sample_edit_which_notebook", notebooks=", ".join(names), **where)
        _apply(notebooks[name], templates[name], edit, where)
    return notebooks


def _apply(nb: nbformat.NotebookNode, template: nbformat.NotebookNode, edit: dict[str, Any],
           where: dict[str, str]) -> None:
    """Apply one edit of a sample's mutations; `where` (sample, notebook, cell) names it in an error."""
    kinds = [k for k in ("old", "source", "template") if k in edit]
    if len(kinds) != 1 or ("old" in edit) != ("new" in edit) or ("insert_after" in edit and kinds != ["source"]):
        raise AuthoringError("sample_edit_kind", **where)
    cells = {c.id: c for c in nb.cells}
    if "insert_after" in edit:
        if edit["cell"] in cells or edit["insert_after"] not in cells:
            raise AuthoringError("sample_edit_insert", **where)
        new = (nbformat.v4.new_markdown_cell if edit.get("type") == "markdown" else nbformat.v4.new_code_cell)(
            edit["source"], id=edit["cell"])
        nb.cells.insert(nb.cells.index(cells[edit["insert_after"]]) + 1, new)
        return
    if edit["cell"] not in cells:
        raise AuthoringError("sample_edit_no_cell", **where)
    cell = cells[edit["cell"]]
    if "template" in edit:
        cell.source = next(c.source for c in template.cells if c.id == cell.id)
    elif "source" in edit:
        cell.source = edit["source"]
    elif (count := cell.source.count(edit["old"])) != 1:
        raise AuthoringError("sample_edit_old_count", count=count, old=edit["old"], **where)
    else:
        cell.source = cell.source.replace(edit["old"], edit["new"])


def _version(cells: list[nbformat.NotebookNode], *, solution: bool, master: Path) -> list[nbformat.NotebookNode]:
    out = []
    for cell in cells:
        source = _split(cell, solution=solution, where={"master": str(master), "line": str(cell["line"]),
                                                        "cell": cell.id})
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(_include(source), id=cell.id, metadata=dict(cell.metadata))
        else:
            new = nbformat.v4.new_markdown_cell(source, id=cell.id, metadata=dict(cell.metadata))
        out.append(new)
    return out


def _split(cell: nbformat.NotebookNode, *, solution: bool, where: dict[str, str]) -> str:
    """The cell's source for the reference (`solution`) or the template, markers resolved; `where`
    (master, line, cell) names the cell in an error."""
    code = cell.cell_type == "code"
    marker = "# {} {}" if code else "<!-- {} {} -->"
    markers = {marker.format(edge, kind): (edge, kind) for edge in ("BEGIN", "END") for kind in ("SOLUTION", "PROMPT")}
    block, lines = None, []
    for number, line in enumerate(cell.source.split("\n")):
        if (found := markers.get(line.strip())) is not None:
            edge, kind = found
            if (edge == "BEGIN") == (block is not None) or (edge == "END" and block != kind):
                raise AuthoringError("master_unbalanced_marker", row=number + 1, marker=line.strip(), **where)
            block = kind if edge == "BEGIN" else None
        elif block == "SOLUTION":
            if solution:
                lines.append(line)
        elif block == "PROMPT":
            if not solution:
                lines.append(_uncomment(line, where, number) if code else line)
        elif code and SOLUTION_SUFFIX.search(line):
            kept = SOLUTION_SUFFIX.sub("", line)
            if solution:
                lines.append(kept)
            elif m := ASSIGNS.match(kept):
                lines.append(f"{m.group(1)} = ...")
        else:
            lines.append(line)
    if block is not None:
        raise AuthoringError("master_block_unclosed", block=block, **where)
    return "\n".join(lines)


def _uncomment(line: str, where: dict[str, str], number: int) -> str:
    indent, rest = line[: len(line) - len(line.lstrip())], line.lstrip()
    if rest == "#":
        return ""
    if not rest.startswith("# "):
        raise AuthoringError("master_prompt_uncommented", row=number + 1, **where)
    return indent + rest[2:]


def _include(source: str) -> str:
    lines: list[str] = []
    for line in source.split("\n"):
        if m := INCLUDE.match(line):
            indent, module, names = m.groups()
            try:
                found = importlib.import_module(module)
                objects = [getattr(found, n.strip()) for n in names.split(",")]
                text = "\n\n\n".join(inspect.getsource(o).rstrip() for o in objects)
            except (ImportError, AttributeError, TypeError, OSError) as e:
                raise AuthoringError("master_include_failed", names=names, module=module, error=str(e)) from None
            lines.extend(indent + t if t else t for t in text.split("\n"))
        else:
            lines.append(line)
    return "\n".join(lines)


def _notebook(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    nbformat.validate(nb)
    return nb


def _copy(nb: nbformat.NotebookNode) -> dict[str, Any]:
    return nbformat.reads(nbformat.writes(nb), as_version=4)


def _write(path: Path, nb: nbformat.NotebookNode, *, check: bool) -> Written:
    text = nbformat.writes(nb) + "\n"  # as nbformat.write ends a file
    changed = not path.is_file() or path.read_text("utf-8") != text
    if changed and not check:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Written(path=path, changed=changed)
