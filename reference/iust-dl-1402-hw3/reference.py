"""Reference implementations for iust-dl-1402-hw3 (Fundamentals of DL, Dr. Davoodabadi, IUST, fall 1402).

Trusted course code, loaded by the `reference` fixture (and by `davar audit-key` for `key_values()`).
The graders compare submissions with what is computed here, never with the official answer key in
assignment.toml's `[key]` table: that key is audited against `key_values()` instead.

torch and keras are imported inside the functions so that importing this module stays fast.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

# Question 2 of the handout: the 3×3 input and the 2×2 filter.
Q2_X = [[3.0, 4.0, 5.0], [2.0, 1.0, -3.0], [4.0, -2.0, 0.0]]
Q2_F = [[2.0, 0.0], [-3.0, 1.0]]

# Question 3a: the handout's Conv1D network.  Layers are named as Keras names them in a fresh
# session, which is how the key, the template's ANSWERS and the reports refer to them.
Q3A_INPUT_SHAPE = (500, 7)
Q3A_LAYER_NAMES = ("conv1d", "max_pooling1d", "conv1d_1", "max_pooling1d_1", "conv1d_2", "max_pooling1d_2",
                   "flatten", "dense", "dense_1")


def _tensor(a: Any, *, grad: bool = True):
    import torch

    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64, requires_grad=grad)


def _correlate(x, f):
    """Single-channel 2-D valid cross-correlation (what deep-learning "convolution" layers compute)."""
    import torch.nn.functional as tf

    return tf.conv2d(x[None, None], f[None, None])[0, 0]


def conv2d_backward(X: Any, F: Any, dO: Any) -> tuple[np.ndarray, np.ndarray]:
    """(dL/dF, dL/dX) of O = valid_cross_correlation(X, F) given dL/dO, by torch autograd (float64)."""
    x, f = _tensor(X), _tensor(F)
    out = _correlate(x, f)
    d_out = _tensor(dO, grad=False)
    if tuple(d_out.shape) != tuple(out.shape):
        raise ValueError(f"dO has shape {tuple(d_out.shape)}, the output has {tuple(out.shape)}")
    out.backward(d_out)
    return f.grad.numpy().copy(), x.grad.numpy().copy()


def conv_gap_gradients(X: Any, F: Any) -> tuple[np.ndarray, np.ndarray]:
    """(dL/dF, dL/dX) for L = global_average_pool(valid_cross_correlation(X, F)) with dL/dL = 1."""
    x, f = _tensor(X), _tensor(F)
    loss = _correlate(x, f).mean()
    loss.backward()
    return f.grad.numpy().copy(), x.grad.numpy().copy()


def q3a_model():
    """The handout's Keras model of question 3a (built, not trained)."""
    import keras
    from keras import layers

    n = iter(Q3A_LAYER_NAMES)
    return keras.Sequential([
        keras.Input(shape=Q3A_INPUT_SHAPE),
        layers.Conv1D(filters=16, kernel_size=3, activation="relu", name=next(n)),
        layers.MaxPool1D(name=next(n)),
        layers.Conv1D(filters=32, kernel_size=5, activation="relu", name=next(n)),
        layers.MaxPool1D(name=next(n)),
        layers.Conv1D(filters=64, kernel_size=5, activation="relu", name=next(n)),
        layers.MaxPool1D(name=next(n)),
        layers.Flatten(name=next(n)),
        layers.Dense(units=128, activation="relu", name=next(n)),
        layers.Dense(units=5, activation="softmax", name=next(n)),
    ], name="q3a")


@cache
def _q3a_facts() -> tuple[tuple[tuple[str, str, tuple[int, ...], int, str | None], ...], int]:
    model = q3a_model()
    rows = tuple((layer.name, type(layer).__name__, tuple(int(d) for d in layer.output.shape[1:]),
                  int(layer.count_params()), layer.get_config().get("activation")) for layer in model.layers)
    return rows, int(model.count_params())


def q3a_layers() -> tuple[list[dict[str, Any]], int]:
    """([{name, type, output_shape (no batch axis), params, activation}, ...], total parameters) of
    `q3a_model()`; `activation` is None for layers that have none (pooling, flatten)."""
    rows, total = _q3a_facts()
    return [{"name": n, "type": t, "output_shape": list(s), "params": p, "activation": a}
            for n, t, s, p, a in rows], total


def key_values() -> dict[str, Any]:
    """What the reference computes for every entry of assignment.toml's `[key]` (and a few more)."""
    dF, dX = conv_gap_gradients(Q2_X, Q2_F)
    values: dict[str, Any] = {"2.dL_dF": dF.tolist(), "2.dL_dX": dX.tolist(),
                              "3a.input.output_shape": list(Q3A_INPUT_SHAPE), "3a.input.params": 0}
    layers, total = q3a_layers()
    for layer in layers:
        values[f"3a.{layer['name']}.output_shape"] = layer["output_shape"]
        values[f"3a.{layer['name']}.params"] = layer["params"]
    values["3a.total_params"] = total
    return values
