"""How the theory sheet's written answers are read: numbers, shapes and symbolic matrices as students
write them (course code the graders share; tested in tests/courses/test_theory.py).

Nothing here decides points: each reader returns the answer in one canonical form, or None when it
cannot be read, and the graders compare that with the reference.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import numpy as np

Order = Literal["hwc", "chw"]


def plain(value: Any) -> Any:
    """numpy arrays and scalars, and tuples, as plain lists and numbers."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return [plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def count(value: Any) -> int | None:
    """An integral number as int (4640, 4640.0); anything else (None, text, 3.5, True) as None."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value != int(value):
        return None
    return int(value)


def side(value: Any) -> int | None:
    """The side of a square region: 9, or [9, 9] / (9, 9); a rectangle or anything else is None."""
    value = plain(value)
    if isinstance(value, list) and len(value) == 2 and count(value[0]) is not None and value[0] == value[1]:
        return count(value[0])
    return count(value)


def shape(value: Any, rank: int) -> tuple[int, ...] | None:
    """A shape of `rank` axes without the batch axis: [35, 35, 32], (None, 35, 35, 32) and (1, 35, 35, 32)
    all read as (35, 35, 32); for one axis, 512 and [512] both read."""
    value = plain(value)
    if count(value) is not None:
        value = [value]
    if not isinstance(value, list):
        return None
    if len(value) == rank + 1 and (value[0] is None or count(value[0]) == 1):
        value = value[1:]
    dims = [count(v) for v in value]
    return tuple(d for d in dims if d is not None) if len(dims) == rank and None not in dims else None


def shape_order(value: Any, expected: list[int]) -> Order | None:
    """"hwc" when `value` is the shape `expected` (height, width, channels, as the handout writes it),
    "chw" when it is the same shape channels first (as PyTorch writes it), else None."""
    got = shape(value, len(expected))
    if got == tuple(expected):
        return "hwc"
    if len(expected) == 3 and got == (expected[2], expected[0], expected[1]):
        return "chw"
    return None


_NOT_A_NAME = re.compile(r"[\s_{}\[\](),.*]")


def symbol(cell: Any) -> str | None:
    """One cell of a symbolic matrix in one form: "w00" … for the kernel's entries (W00, w_00, W_{00},
    W[0][0], w(0,0) all read so), "0" for zero (0, 0.0, "0", "" and None); anything else as written,
    lower-cased, so that it can be shown and never matches."""
    cell = plain(cell)
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return "0"
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return "0" if cell == 0 else str(cell)
    if not isinstance(cell, str):
        return None
    text = _NOT_A_NAME.sub("", cell).lower()
    return "0" if text in ("0", "0.0") else text


def symbolic(matrix: Any) -> list[list[str | None]] | None:
    """A matrix written as a list of rows, each cell read by `symbol`; None when it is not a list of lists
    of equal length."""
    matrix = plain(matrix)
    if not isinstance(matrix, list) or not matrix or not all(isinstance(r, list) for r in matrix):
        return None
    if len({len(r) for r in matrix}) != 1 or not matrix[0]:
        return None
    return [[symbol(c) for c in row] for row in matrix]


def dims(matrix: Any) -> str:
    """"4×9" for a rectangular list of rows, else a short description of what it is."""
    rows = symbolic(matrix)
    if rows is not None:
        return f"{len(rows)}×{len(rows[0])}"
    value = plain(matrix)
    return "None" if value is None else type(value).__name__


def cells(submitted: list[list[str | None]], expected: list[list[str]]) -> tuple[int, int, tuple[int, int] | None]:
    """(right, counted, first wrong cell) over the cells where the expected or the submitted matrix holds
    something other than 0: a matrix of zeros earns nothing, and a stray entry costs as a missing one."""
    right = counted = 0
    first = None
    for i, (got_row, want_row) in enumerate(zip(submitted, expected, strict=True)):
        for j, (got, want) in enumerate(zip(got_row, want_row, strict=True)):
            if got == want == "0":
                continue
            counted += 1
            if got == want:
                right += 1
            elif first is None:
                first = (i, j)
    return right, counted, first


def show(value: Any, limit: int = 200) -> str:
    """A value as the messages show it: 822974180, [35, 35, 32], 'W11'; long ones cut."""
    text = str(plain(value))
    return text if len(text) <= limit else text[:limit - 1] + "…"
