"""The names a notebook cell's code defines at the top level, read from its source (never run): what a
grader's missing name is looked up in when a cell raised before defining it.

IPython syntax (magics, `!shell`) is turned into Python by IPython's own transformer first; a cell that
still does not parse defines nothing we can tell."""

from __future__ import annotations

import ast

from IPython.core.inputtransformer2 import TransformerManager

_NAMED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SCOPES = (*_NAMED, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)  # bind their own names


def defined(source: str | list[str]) -> tuple[str, ...]:
    """The names the cell binds in the notebook's namespace: assignments (unpacking,
    `for` and `with` targets, walrus), `def`, `class` and imports, also under `if`/`try`/`for`/`with`, not
    inside functions or classes."""
    text = "".join(source) if isinstance(source, list) else source
    try:
        tree = ast.parse(TransformerManager().transform_cell(text))
    except (SyntaxError, ValueError, RecursionError):
        return ()
    names: dict[str, None] = {}
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop(0)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                names[child.id] = None
            elif isinstance(child, ast.alias):
                names[(child.asname or child.name).split(".")[0]] = None
            if isinstance(child, _NAMED):
                names[child.name] = None
            if not isinstance(child, _SCOPES):
                todo.append(child)
    return tuple(names)
