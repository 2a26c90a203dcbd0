"""Shapes the image stand-ins draw (CIFAR-10's and CIFAR-100's): a class is a shape, so a small network can
learn it while no pixel of the real data is needed."""

from __future__ import annotations

import numpy as np

#: The shapes `mask` draws, by number: disc, square, triangle (point up), ring, cross.
KINDS = 5


def mask(kind: int, yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float) -> np.ndarray:
    """The pixels (of the grid `yy`, `xx`) inside shape `kind` of radius `r` centred at (`cy`, `cx`)."""
    dy, dx = yy - cy, xx - cx
    if kind == 0:                                                   # disc
        return dy ** 2 + dx ** 2 <= r ** 2
    if kind == 1:                                                   # square
        return (np.abs(dy) <= r * 0.85) & (np.abs(dx) <= r * 0.85)
    if kind == 2:                                                   # triangle, point up
        return (dy <= r * 0.8) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6)
    if kind == 3:                                                   # ring
        d = np.sqrt(dy ** 2 + dx ** 2)
        return (d <= r) & (d >= r * 0.55)
    return (np.abs(dy) <= r * 0.3) & (np.abs(dx) <= r) | (np.abs(dx) <= r * 0.3) & (np.abs(dy) <= r)   # cross
