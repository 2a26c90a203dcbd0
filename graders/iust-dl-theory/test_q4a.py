"""Q4a: convolution as a matrix product.  The 3×3 input x, read row by row as a 9-vector, convolved with
the 2×2 kernel W = [[W00, W01], [W10, W11]]: without padding the output has 4 values, y = A x with A 4×9;
zero-padded to the "full" convolution it has 16, with A 16×9.

ANSWERS["q4a"]["valid_matrix"] and ["full_matrix"] are the two matrices written with the names W00 … W11
and 0 (theory_answers.symbol reads W_00, w00, "W_{00}", …).  A wrong shape fails (the key's own full
matrix is drawn 17×10); otherwise the cells that hold, or should hold, a kernel entry are graded one by one.
The notebook's conv_matrix(input_size, kernel) and full_conv_matrix(input_size, kernel) are then called on
input sizes and kernels drawn from `rng` on every run, and A @ x for a random x is compared with torch's
conv2d / conv_transpose2d (reference.convolve), so a matrix copied from a book does not earn them.

The key flips the kernel (true convolution: the first row starts W11, W10); the cross-correlation that
deep-learning layers compute (the first row starts W00, W01) is accepted as well when a whole answer uses
it, and the message says which convention was read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import theory_answers as read

from davar import award, expect, note
from davar.checks import close, show

Q = "4a"
KINDS = {"valid": "conv_matrix", "full": "full_conv_matrix"}
CONVENTIONS = {True: "flipped", False: "not_flipped"}  # flipped kernel? -> the term the messages name
pytestmark = pytest.mark.davar(question=Q)


@dataclass(frozen=True)
class Params:
    probe_cases: int
    probe_tolerance: float


@pytest.mark.davar(points=5)
@pytest.mark.parametrize("kind", KINDS)
def test_q4a_matrix(sub, reference, kind):
    name = f'ANSWERS["q4a"]["{kind}_matrix"]'
    value = sub.answer("q4a", f"{kind}_matrix")
    options = {flipped: read.symbolic(reference.symbolic_matrix(kind, flipped=flipped)) for flipped in CONVENTIONS}
    want = options[True]
    assert want is not None
    submitted = read.symbolic(value)
    shape = f"{len(want)}×{len(want[0])}"
    expect(submitted is not None and read.dims(value) == shape, "matrix_shape", name=name, expected=shape,
           submitted=read.dims(value))
    assert submitted is not None
    scored = {flipped: read.cells(submitted, m) for flipped, m in options.items() if m is not None}
    flipped = max(scored, key=lambda f: (scored[f][0] / max(scored[f][1], 1), f))  # ties: the key's convention
    right, counted, first = scored[flipped]
    row, column = first if first is not None else (0, 0)
    award(right / max(counted, 1), "matrix_cells", name=name, right=right, count=counted,
          convention=CONVENTIONS[flipped], row=row + 1, column=column + 1,
          expected=read.show(options[flipped][row][column]),
          submitted=read.show(read.plain(value)[row][column] if first is not None else ""))


def _matrix(got):
    try:
        matrix = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None
    return matrix if matrix.ndim == 2 else None


@pytest.mark.davar(points=5, timeout=60)
@pytest.mark.parametrize("function", KINDS.values())
def test_q4a_function(sub, reference, assignment, rng, function):
    params = assignment.question(Q).params(Params)
    kind = next(k for k, f in KINDS.items() if f == function)
    matched = {flipped: 0 for flipped in CONVENTIONS}
    cases, failures = [], []
    for case in range(params.probe_cases):
        # one square input and kernel, one input and one kernel that are not square, the others of any shape
        # (so that rows and columns mixed up never pass by chance)
        h, w = (int(v) for v in rng.integers(3, 7, size=2))
        kh, kw = (int(v) for v in rng.integers(1, 4, size=2))
        if case == 0:
            w, kh, kw = h, max(kh, 2), max(kh, 2)
        elif case == 1:
            w = h + int(rng.integers(1, 3))
        elif case == 2:
            kh, kw = 2, 3
        kernel = rng.normal(size=(kh, kw)).round(3)
        x = rng.normal(size=(h, w)).round(3)
        want_shape = reference.conv_matrix((h, w), kernel, kind).shape
        inputs = f"input_size ({h}, {w}), kernel {kh}×{kw}"
        got = sub.call(function, [h, w], kernel)
        matrix = _matrix(got)
        if matrix is None or matrix.shape != want_shape:
            returned = f"a {matrix.shape[0]}×{matrix.shape[1]} matrix" if matrix is not None else read.show(got, 80)
            expect(False, "function_returns", name=function,
                   expected=f"a {want_shape[0]}×{want_shape[1]} matrix for {inputs}", submitted=returned)
        assert matrix is not None  # expect raised otherwise
        y = matrix @ x.ravel()
        for flipped in CONVENTIONS:
            want = reference.convolve(x, kernel, kind, flipped=flipped).ravel()
            if close(y, want, params.probe_tolerance):
                matched[flipped] += 1
            else:
                failures.append((flipped, inputs, want, y))
        cases.append(f"{h}×{w} * {kh}×{kw}")
    agreed = [flipped for flipped, n in matched.items() if n == len(cases)]
    if not agreed:  # the convention it matched more often (the key's on a tie) and its first failure
        flipped = max(matched, key=lambda f: (matched[f], f))
        _, inputs, want, y = next(f for f in failures if f[0] == flipped)
        expect(False, "function_probe", name=function, inputs=inputs, part=f"{function}(input_size, kernel) @ x",
               expected=show(want), submitted=show(y))
    if agreed[0] is False:
        note("function_convention", name=function, convention=CONVENTIONS[False])
    expect(True, "function_probe", name=function, cases=len(cases), shapes="; ".join(cases))
