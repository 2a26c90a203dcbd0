"""Q4 (HW2_TM.ipynb): the template-matching notebook runs to the end, draws its figures, and its
`match_template` finds templates in search images the grader makes; the report is manual ("4-explanation").

- q4_runs: the notebook's kernel ran every cell without an error or a timeout.
- q4_figures: it displayed at least `min_figures` images (sub.figures(): read from the executed
  notebook's outputs, nothing from the kernel).
- q4_match: `match_template(search, template)` on `searches` canvases the grader draws from hidden digits
  (q7_model.py's images, which never enter the sandbox), the template one of the canvas's digits: the
  returned (row, column) must be that digit's top-left corner within `max_offset` pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest
import q7_model

from davar import award, expect, expect_figures, expect_ran_through
from davar.checks import integral, plain

Q = "4"
pytestmark = pytest.mark.davar(question=Q)


@dataclass(frozen=True)
class Params:
    min_figures: int
    searches: int
    max_offset: int


@pytest.mark.davar(points=1)
def test_q4_runs(sub):
    expect_ran_through(sub)


@pytest.mark.davar(points=2)
def test_q4_figures(sub, assignment):
    expect_figures(sub, assignment.question(Q).params(Params).min_figures)


@cache
def _digits(folder: str) -> np.ndarray:
    return q7_model.load_images(folder)[0][:, 0]


def _canvas(digits: np.ndarray, rng: np.random.Generator, size: int = 96, count: int = 5):
    """A noisy canvas with `count` non-overlapping digits; returns it and their top-left corners."""
    canvas = rng.uniform(0, 0.15, size=(size, size)).astype(np.float32)
    side, corners = digits.shape[-1], []
    chosen = rng.choice(len(digits), size=count, replace=False)
    while len(corners) < count:
        r, c = (int(v) for v in rng.integers(0, size - side, size=2))
        if all(abs(r - r0) >= side or abs(c - c0) >= side for r0, c0 in corners):
            region = canvas[r:r + side, c:c + side]
            canvas[r:r + side, c:c + side] = np.maximum(region, digits[chosen[len(corners)]])
            corners.append((r, c))
    return canvas, corners, chosen


@pytest.mark.davar(points=2, hidden=True, timeout=120)
def test_q4_match(sub, assignment, hidden, rng):
    params = assignment.question(Q).params(Params)
    digits = _digits(str(hidden / "q7"))
    found = 0
    for _ in range(params.searches):
        canvas, corners, chosen = _canvas(digits, rng)
        which = int(rng.integers(len(corners)))
        answer = plain(sub.call("match_template", canvas, digits[chosen[which]], timeout=60))
        corner = answer[0] if isinstance(answer, list) and len(answer) == 2 and isinstance(answer[0], list) else answer
        got = [integral(v) for v in corner] if isinstance(corner, list) and len(corner) == 2 else None
        want = corners[which]
        if got is not None and None not in got and max(abs(g - w) for g, w in zip(got, want, strict=True)) \
                <= params.max_offset:
            found += 1
        else:
            expect(False, "answer_value", soft=True, name="match_template(…)[0]", expected=str(list(want)),
                   submitted=str(corner)[:100])
    award(found / params.searches, "q4_matches", name="match_template", found=found, count=params.searches)
