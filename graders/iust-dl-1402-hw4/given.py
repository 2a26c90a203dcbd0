"""The template's "given" helpers (``iust-dl-1402-hw4``): `tuner_trials` (HW4.ipynb) and `gradcam_probe`
(Q7.ipynb) are what the graders call to read a tuner or run a Grad-CAM, so their points are only as good as
the helper.  Before calling one, a grader checks that the function the notebook holds under its name is the
template's: the bytecode and the names of the function compiled here from the template's cell, compared with
the kernel's (``__code__``, read as plain data, which a regrade's restored kernel keeps too).  A notebook that
edited the given cell, or defined the name again in a later cell, is told so and gets none of those points.

What this cannot stop is a notebook that forges its own interpreter (SECURITY.md, "In-process forgery"); it
stops the plain way, a helper rewritten to answer for work that was never done.
"""

from __future__ import annotations

import functools
import types
from pathlib import Path

import nbformat

from davar import expect


@functools.cache
def _code(template: Path, cell: str, name: str) -> types.CodeType:
    source = next(c.source for c in nbformat.read(template, as_version=4).cells if c.get("id") == cell)
    return next(c for c in compile(source, cell, "exec").co_consts
                if isinstance(c, types.CodeType) and c.co_name == name)


def is_given(sub, assignment, *, notebook: str, cell: str, name: str) -> bool:
    """Whether `name` in the notebook is the function of the template's cell `cell` of `notebook`."""
    code = _code(assignment.reference_dir / f"{Path(notebook).stem}.template.ipynb", cell, name)
    return sub.has(f"{name}.__code__.co_code") and sub.call(f"{name}.__code__.co_code.hex") == code.co_code.hex() \
        and list(sub.value(f"{name}.__code__.co_names")) == list(code.co_names)


def expect_given(sub, assignment, *, notebook: str, cell: str, name: str) -> None:
    """`expect` that `name` is the template's given function (`is_given`); the message names the notebook."""
    expect(is_given(sub, assignment, notebook=notebook, cell=cell, name=name), "given_changed", name=name,
           notebook=notebook)
