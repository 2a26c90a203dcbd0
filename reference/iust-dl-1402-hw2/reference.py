"""Reference implementations for iust-dl-1402-hw2 (Fundamentals of DL, Dr. Davoodabadi, IUST, fall 1402).

Trusted course code, loaded by the `reference` fixture (and by `davar audit-key` for `key_values()`).
The graders compare submissions with what is computed here, never with the official answer key in
assignment.toml's `[key]` table: that key is audited against `key_values()` instead.

Questions 1c and 2c: the dropout tables and the regularisation choices.  Questions 4 and 5: what
their graders measure — which layers an MLP may have, a model's accuracy from its logits, and the
train–test gap (the grader predicts with each model itself: the student's printed numbers are never
read).  numpy only: no framework is imported here.
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


# ---------------------------------------------------------------- question 4: optimizer comparison
# The notebook (HW2_Q4.ipynb) trains the same small network with each optimizer at each learning rate
# and keeps every run's loss per step in LOSSES[optimizer][str(lr)].
Q4_OPTIMIZERS = ("SGD", "Momentum", "RMSprop", "Adam")
Q4_LEARNING_RATES = (0.001, 0.01, 0.1, 1.0)

# ---------------------------------------------------------------- question 5: FashionMNIST MLP
# An MLP is made of fully connected layers and activations only.  The leaves of a torch model (the
# modules without children, as ModelProbe.layers() lists them) may come from these torch.nn modules:
# Linear (torch.nn.modules.linear: Linear, Identity, ...), every activation (…activation: ReLU,
# Sigmoid, Tanh, Softmax, LogSoftmax, ...), Flatten/Unflatten, and Dropout (part e of the handout
# adds it).  Anything else — a convolution, pooling, normalisation, recurrence, or a custom leaf
# module holding its own parameters — is not an MLP.
MLP_LAYER_MODULES = ("torch.nn.modules.linear", "torch.nn.modules.activation", "torch.nn.modules.flatten",
                     "torch.nn.modules.dropout")
#: An MLP has a hidden layer: at least two fully connected layers.
MLP_MIN_LINEAR = 2


def mlp_violations(layers: Any) -> list[str]:
    """Types of the leaf layers that have no place in an MLP (ModelProbe.layers(): .type, .module)."""
    return [l.type for l in layers if l.module not in MLP_LAYER_MODULES]


def linear_count(layers: Any) -> int:
    return sum(1 for l in layers if l.type in ("Linear", "LazyLinear"))


def architecture(layers: Any) -> list[tuple[str, int]]:
    """(type, parameter count) of every leaf layer, in order: two models with the same list are the
    same network (what parts c and d change is the training, not the network)."""
    return [(l.type, int(l.params)) for l in layers]


def accuracy(logits: Any, labels: Any) -> float:
    """Share of rows whose largest logit is the label (logits: N×classes, labels: N)."""
    logits, labels = np.asarray(logits), np.asarray(labels)
    if logits.ndim != 2 or len(logits) != len(labels):
        raise ValueError(f"logits of shape {logits.shape} for {len(labels)} labels")
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def gap(train_accuracy: float, test_accuracy: float) -> float:
    """The train–test gap of question 5: accuracy on the images the model was trained on (the first
    `small_train` public training images, for the models of parts b–e) minus accuracy on the hidden
    test images.  Large for a model that memorised its training images."""
    return float(train_accuracy) - float(test_accuracy)


def weight_norms(weights: Any) -> dict[str, float]:
    """The L2 (Frobenius, over all of them) and L1 norms of a model's weight matrices."""
    arrays = [np.asarray(w, dtype=np.float64) for w in weights]
    return {"l2": float(np.sqrt(sum(float(np.sum(w * w)) for w in arrays))),
            "l1": float(sum(float(np.sum(np.abs(w))) for w in arrays))}


def init_norms(shapes: Any) -> dict[str, float]:
    """The expected L2 and L1 norms of freshly initialised weight matrices of these (out, in) shapes under
    PyTorch's default nn.Linear initialisation, uniform on ±1/√in: E[w²] = 1/(3·in), E|w| = 1/(2√in), so
    E‖W‖² = out/3 and E Σ|w| = out·√in/2 (784→256→256→10: L2 ≈ 13.2, L1 ≈ 5,712; measured on a fresh
    network: 13.2 and 5,728).  A network trained without a penalty ends above these (training adds to the
    weights, stopping early leaves them near), one trained with an L1/L2 penalty or weight decay below."""
    shapes = [tuple(int(d) for d in s) for s in shapes]
    return {"l2": float(np.sqrt(sum(out / 3 for out, _ in shapes))),
            "l1": float(sum(out * np.sqrt(fan_in) / 2 for out, fan_in in shapes))}


def key_values() -> dict[str, Any]:
    """What the reference computes for every entry of assignment.toml's `[key]` (and a few more)."""
    values: dict[str, Any] = {"1c.p": keep_probability(Q1C_MASK)}
    for (kind, phase), table in q1c_tables().items():
        values[f"1c.{kind}.{phase}"] = table.tolist()
    for name, choice in q2c_choices().items():
        values[f"2c.{name}"] = choice
    return values
