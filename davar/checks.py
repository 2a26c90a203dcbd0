"""What graders share when they compare a submitted answer with the reference: a tolerance check, an
answer read as plain Python or as a count, a short, language-neutral text of a value for the fa/en messages
("expected …, submitted …"), and the partial-credit scale below a threshold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def close(submitted: Any, expected: Any, tol: float) -> bool:
    """Same shape and equal within `tol` (absolute and relative); anything non-numeric is not close."""
    try:
        a, b = np.asarray(submitted, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol))


def plain(value: Any) -> Any:
    """An answer as plain Python: an array as (nested) lists, a numpy scalar as its number, a tuple as a list."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return list(value) if isinstance(value, tuple) else value


def integral(value: Any) -> int | None:
    """An integral number as int (498, 498.0, np.int64(498)); anything else (None, text, 3.5, True) as None."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        return None
    return int(value)


def show(value: Any, *, limit: int = 2000) -> str:
    """[[2.5, 1.75], [1.25, -1]]: numbers with up to 4 decimals, no -0; other values by repr."""
    if value is None:
        return "None"
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return repr(value)[:200]

    def fmt(x: Any) -> str:
        if isinstance(x, list):
            return "[" + ", ".join(fmt(v) for v in x) + "]"
        return np.format_float_positional(x + 0.0, precision=4, trim="-")

    return fmt(array.tolist())[:limit]


def partial_credit(measured: float, threshold: float, partial: Sequence[Sequence[float]] = ()) -> float:
    """1 above `threshold`; below it, the fraction of the first `[floor, fraction]` of `partial` (highest
    floor first, as assignment.toml writes it) that `measured` reaches; else 0."""
    if measured > threshold:
        return 1.0
    for floor, fraction in sorted(partial, key=lambda pair: -pair[0]):
        if measured >= floor:
            return float(fraction)
    return 0.0

