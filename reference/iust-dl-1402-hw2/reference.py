"""Reference implementations for iust-dl-1402-hw2 (Fundamentals of DL, Dr. Davoodabadi, IUST, fall 1402).

Trusted course code, loaded by the `reference` fixture (and by `davar audit-key` for `key_values()`).
The graders compare submissions with what is computed here, never with the official answer key in
assignment.toml's `[key]` table: that key is audited against `key_values()` instead.

This slice needs numpy only (no framework is imported).
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Question 1c of the handout: a layer's output (table 1) and its dropout mask (table 2).
Q1C_OUTPUT = [[1.6, -0.7, -0.2, 1.9],
              [-2.3, 2.5, 2.5, -0.9],
              [-0.5, 3.2, 3.7, -0.4],
              [1.3, -0.4, -2.6, 1.2]]
Q1C_MASK = [[1, 0, 0, 1],
            [0, 1, 1, 0],
            [0, 1, 1, 0],
            [1, 0, 0, 1]]

# The four tables of 1c: (dropout kind, phase) in the order the handout's key gives them.
Q1C_TABLES = (("standard", "train"), ("standard", "test"), ("inverted", "train"), ("inverted", "test"))

# Question 2c: the weights found by the four experiments, and what each choice can be.
Q2C_WEIGHTS = {"W_exp1": [0.26, 0.25, 0.25, 0.25],
               "W_exp2": [1.0, 0.0, 0.0, 0.0],
               "W_exp3": [13.3, 23.5, 53.2, 5.1],
               "W_exp4": [0.5, 1.2, 8.5, 0.0]}
Q2C_CHOICES = ("none", "L1", "L2")
Q2C_ANSWERS = {"W_exp1": "L2", "W_exp2": "L1", "W_exp3": "none", "W_exp4": "L1"}


def keep_probability(mask: Any) -> float:
    """p = (cells kept, i.e. equal to 1) / (all cells), as the key computes it: 8/16 = 0.5."""
    m = np.asarray(mask, dtype=float)
    return float(np.count_nonzero(m) / m.size)


def dropout(output: Any, mask: Any, p: float, *, inverted: bool, train: bool) -> np.ndarray:
    """A layer's values after dropout with keep-probability `p`.

    standard: train = output × mask, test = output × p;
    inverted: train = output × mask / p, test = output (unchanged).
    """
    out = np.asarray(output, dtype=float)
    m = np.asarray(mask, dtype=float)
    if out.shape != m.shape:
        raise ValueError(f"output has shape {out.shape}, the mask {m.shape}")
    if not 0 < p <= 1:
        raise ValueError(f"keep-probability must be in (0, 1], got {p}")
    if train:
        kept = out * m / p if inverted else out * m
        return kept + 0.0  # dropped cells as 0.0, not -0.0
    return out.copy() if inverted else out * p


def q1c_tables() -> dict[tuple[str, str], np.ndarray]:
    """{(kind, phase): 4×4 table} for kind in (standard, inverted) and phase in (train, test)."""
    p = keep_probability(Q1C_MASK)
    return {(kind, phase): dropout(Q1C_OUTPUT, Q1C_MASK, p, inverted=kind == "inverted", train=phase == "train")
            for kind, phase in Q1C_TABLES}


def q2c_choices() -> dict[str, str]:
    """The regularisation behind each experiment's weights (a judgement, written out, not computed).

    The key only says that of experiments 3 and 4 the fourth is regularised, with L1, because it has a
    weight that is exactly 0.  The rest follows the same reasoning: L1 drives weights exactly to zero
    (W_exp2 = [1, 0, 0, 0] is as sparse as it gets); L2 shrinks every weight towards small, similar
    values without zeroing any (W_exp1 = [0.26, 0.25, 0.25, 0.25]); W_exp3's large weights, none of
    them zero, show no regularisation.  The graders read assignment.toml's `answers`, not this.
    """
    return dict(Q2C_ANSWERS)


def key_values() -> dict[str, Any]:
    """What the reference computes for every entry of assignment.toml's `[key]` (and a few more)."""
    values: dict[str, Any] = {"1c.p": keep_probability(Q1C_MASK)}
    for (kind, phase), table in q1c_tables().items():
        values[f"1c.{kind}.{phase}"] = table.tolist()
    for name, choice in q2c_choices().items():
        values[f"2c.{name}"] = choice
    return values
