"""The comparison helpers graders share."""

import numpy as np

from davar.checks import close, partial_credit, show


def test_close_needs_the_same_shape_and_numbers():
    assert close([[2.5, 1.75], [1.25, -1]], np.array([[2.5, 1.75], [1.25, -1.0]]), 1e-6)
    assert not close([[2.5, 1.75], [1.25, 1]], np.array([[2.5, 1.75], [1.25, -1.0]]), 1e-6)
    assert not close([2.5, 1.75, 1.25, -1], np.array([[2.5, 1.75], [1.25, -1.0]]), 1e-6)
    assert not close("abc", [2.5], 1e-6)
    assert not close(None, [1.0], 1e-6) and not close({"a": 1}, [1.0], 1e-6)


def test_show_is_short_and_language_neutral():
    assert show(np.array([[2.5, 1.75], [1.25, -1.0]])) == "[[2.5, 1.75], [1.25, -1]]"
    assert show(np.array([-0.0, 1 / 3])) == "[0, 0.3333]"
    assert show(None) == "None" and show("L1") == "'L1'"


def test_partial_credit_scale_below_the_threshold():
    scale = [[0.70, 0.25], [0.80, 0.5]]  # any order; the highest floor reached counts
    assert partial_credit(0.91, 0.90, scale) == 1.0
    assert partial_credit(0.90, 0.90, scale) == 0.5  # the threshold must be passed, not met
    assert partial_credit(0.80, 0.90, scale) == 0.5 and partial_credit(0.75, 0.90, scale) == 0.25
    assert partial_credit(0.5, 0.90, scale) == 0.0 and partial_credit(0.5, 0.90) == 0.0
