"""Reference implementations for iust-dl-1402-hw4 (Fundamentals of DL, Dr. Davoodabadi, IUST, fall 1402).

Trusted course code, loaded by the `reference` fixture.  Every number the graders compare with is computed
here with the frameworks (Keras layers' own output shapes and `count_params()`, a Keras Grad-CAM on a model
rebuilt from the student's layers and weights), never copied from an answer sheet.  Seed 001 is one
student's answers, not an official key, so this assignment has no `[key]` table.

keras and tensorflow are imported inside the functions so that importing this module stays fast.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

# ------------------------------------------------------------------------------------------ question 3


def rnn_windows(inputs: Any, labels: Any, look_back: int) -> tuple[np.ndarray, np.ndarray]:
    """`create_proper_dataset_for_rnn`: window i holds rows i … i+look_back-1 of `inputs` and is labelled with
    `labels[i + look_back]`, the step right after it; len(inputs) - look_back windows."""
    x, y = np.asarray(inputs), np.asarray(labels)
    count = len(x) - look_back
    if count <= 0:
        return np.empty((0, look_back, *x.shape[1:])), y[:0]
    windows = np.stack([x[i:i + look_back] for i in range(count)])
    return windows, y[look_back:look_back + count]


# ------------------------------------------------------------------------------------------ question 5

#: Question 5's nine layers on a 256×256×3 input: (kind, filters, kernel, stride, dilation, padding).
Q5_INPUT = (256, 256, 3)
Q5_LAYERS = (
    ("conv", 64, 3, 1, 1, "same"),
    ("conv", 32, 5, 2, 2, "valid"),
    ("pool", 0, 2, 2, 1, "valid"),
    ("conv", 128, 3, 1, 1, "same"),
    ("conv", 64, 5, 2, 4, "valid"),
    ("pool", 0, 2, 2, 1, "valid"),
    ("conv", 256, 3, 1, 1, "same"),
    ("conv", 128, 5, 2, 8, "valid"),
    ("pool", 0, 2, 2, 1, "valid"),
)
INVALID = "invalid"


@cache
def q5a_layers() -> tuple[tuple[str, tuple[int, ...] | None, int], ...]:
    """(name, output shape without the batch axis, channels last — None once a size would be zero or negative —,
    parameter count) of each of the nine layers, from torch: each layer (nn.Conv2d takes a stride and a dilation
    together, Keras does not) run on the previous layer's output (on the meta device: shapes only), its
    parameters counted with `numel()`.  A layer whose input is already invalid is invalid too; its parameters
    are what its weights need, which do not depend on the spatial size."""
    import torch

    out: list[tuple[str, tuple[int, ...] | None, int]] = []
    height, width, channels = Q5_INPUT
    x: Any = torch.empty(1, channels, height, width, device="meta")
    for index, (kind, filters, kernel, stride, dilation, padding) in enumerate(Q5_LAYERS, start=1):
        if kind == "conv":
            layer: Any = torch.nn.Conv2d(channels, filters, kernel, stride=stride, dilation=dilation,
                                         padding=padding, device="meta")
            channels = filters
        else:
            layer = torch.nn.MaxPool2d(kernel, stride=stride)
        params = sum(p.numel() for p in layer.parameters())
        shape: tuple[int, ...] | None = None
        if x is not None:
            try:
                x = layer(x)
                shape = (int(x.shape[2]), int(x.shape[3]), int(x.shape[1]))
            except RuntimeError:  # "Calculated output size ... Output size is too small"
                x = None
        out.append((f"layer{index}", shape, int(params)))
    return tuple(out)


def same_padding(f: int) -> int:
    """The padding on each side that keeps the size of a stride-1 convolution with an odd f×f filter."""
    return f // 2


# ------------------------------------------------------------------------------------------ question 6


def batchnorm_forward(X: Any, gamma: Any, beta: Any, eps: float, mode: str, running_mean: Any,
                      running_var: Any) -> np.ndarray:
    """Batch normalisation of X (N×D), per feature: "train" with the batch's mean and (biased) variance,
    "test" with the running statistics; then scaled by gamma and shifted by beta."""
    x = np.asarray(X, np.float64)
    if mode == "train":
        mean, var = x.mean(axis=0), x.var(axis=0)
    else:
        mean, var = np.asarray(running_mean, np.float64), np.asarray(running_var, np.float64)
    return np.asarray(gamma) * (x - mean) / np.sqrt(var + eps) + np.asarray(beta)


@cache
def bn_trainable_params() -> tuple[int, int, int]:
    """(Dense(10 → 20), BatchNormalization(20), their total) trainable parameters, counted by Keras."""
    import keras

    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(20), keras.layers.BatchNormalization()])
    dense, bn = (sum(int(np.prod(w.shape)) for w in layer.trainable_weights) for layer in model.layers)
    return dense, bn, dense + bn


# ------------------------------------------------------------------------------------------ question 7

#: The handout's MNIST CNN, layer by layer: (type, the config values that define it).  Every Conv2D is 3×3,
#: "same" padding, ReLU; every pooling 2×2.  The output layer's activation is not compared (the Grad-CAM
#: recipe removes its softmax after training).
Q7_INPUT = (28, 28, 1)
Q7_LAYERS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("Conv2D", {"filters": 32, "kernel_size": [3, 3], "padding": "same", "activation": "relu"}),
    ("MaxPooling2D", {"pool_size": [2, 2]}),
    ("Conv2D", {"filters": 64, "kernel_size": [3, 3], "padding": "same", "activation": "relu"}),
    ("MaxPooling2D", {"pool_size": [2, 2]}),
    ("Conv2D", {"filters": 64, "kernel_size": [3, 3], "padding": "same", "activation": "relu"}),
    ("MaxPooling2D", {"pool_size": [2, 2]}),
    ("Flatten", {}),
    ("Dense", {"units": 128, "activation": "relu"}),
    ("Dense", {"units": 10}),
)

# The layers a model is rebuilt from for the reference Grad-CAM, and the config keys each takes: only these,
# as plain values (no Lambda, no custom objects: nothing from the student's kernel is ever executed here).
_REBUILD = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "dilation_rate", "activation", "use_bias"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "Flatten": (),
    "Dense": ("units", "activation", "use_bias"),
    "Dropout": ("rate",),
    "Activation": ("activation",),
    "ReLU": (),
    "Rescaling": ("scale", "offset"),
}
#: The largest filters/units and kernel or pool size rebuilt: a layer built here allocates its weights before
#: they are compared with the student's, so a config (from the student's kernel) cannot ask for more.
_MAX_WIDTH, _MAX_WINDOW = 4096, 64
_ACTIVATIONS = {"relu", "softmax", "linear", "sigmoid", "tanh", "elu", "selu", "gelu", "swish", "silu", None}


class NotRebuildable(ValueError):
    """A model the reference Grad-CAM cannot rebuild (a layer outside `_REBUILD`, weights that do not fit)."""


def rebuild(layers: list[Any], weights: list[np.ndarray], input_shape: tuple[int, ...] = Q7_INPUT):
    """A Keras Sequential model with the student's layers (ModelProbe.layers(): type and config, read as plain
    values) and weights (`model.get_weights()`, arrays), for the reference Grad-CAM."""
    import keras

    built = []
    for layer in layers:
        if layer.type == "InputLayer":
            continue
        if layer.type not in _REBUILD:
            raise NotRebuildable(f"{layer.type} ({layer.name})")
        kwargs = {k: layer.config[k] for k in _REBUILD[layer.type] if k in layer.config}
        activation = kwargs.get("activation")
        if isinstance(activation, dict) or activation not in _ACTIVATIONS:
            raise NotRebuildable(f"{layer.type} ({layer.name}): activation {str(activation)[:40]}")
        for k, v in kwargs.items():
            if isinstance(v, list):
                kwargs[k] = v = tuple(v)
            sizes = v if isinstance(v, tuple) else (v,)
            limit = _MAX_WIDTH if k in ("filters", "units") else _MAX_WINDOW
            if k in ("filters", "units", "kernel_size", "pool_size", "strides", "dilation_rate") and not all(
                    isinstance(n, int) and not isinstance(n, bool) and 0 < n <= limit for n in sizes):
                raise NotRebuildable(f"{layer.type} ({layer.name}): {k} = {str(v)[:40]}")
        built.append(getattr(keras.layers, layer.type)(**kwargs, name=layer.name))
    model = keras.Sequential([keras.Input(input_shape), *built])
    shapes = [tuple(w.shape) for w in model.get_weights()]
    if shapes != [tuple(np.shape(w)) for w in weights]:
        raise NotRebuildable(f"weights {[tuple(np.shape(w)) for w in weights]} for {shapes}")
    model.set_weights([np.asarray(w, np.float32) for w in weights])
    return model


def gradcam(model, image: np.ndarray, layer_name: str) -> np.ndarray:
    """Grad-CAM (Selvaraju et al.) of the predicted class for one image: the ReLU of the layer's feature maps
    weighted by the spatial mean of the class score's gradient, divided by its maximum (all zeros stay zeros)."""
    import keras
    import tensorflow as tf

    grad_model = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.outputs[0]])
    x = tf.convert_to_tensor(np.asarray(image, np.float32)[None])
    with tf.GradientTape() as tape:
        maps, preds = grad_model(x)
        score = preds[:, int(tf.argmax(preds[0]))]
    grads = tape.gradient(score, maps)
    weights = tf.reduce_mean(grads, axis=(0, 1, 2))
    heatmap = tf.nn.relu(tf.reduce_sum(maps[0] * weights, axis=-1)).numpy().astype(np.float64)
    top = heatmap.max()
    return heatmap / top if top > 0 else heatmap
