"""Reference implementations for iust-dl-theory (Fundamentals of DL, Dr. Davoodabadi, IUST: the theory
answer sheet whose handwritten key is shared/seeds/003).

Trusted course code, loaded by the `reference` fixture (and by `davar audit-key` for `key_values()` and
`key_sums()`).  Every number the graders compare with is computed here with torch (shapes and parameter
counts from real modules on the `meta` device, which hold no storage, so the 822-million-parameter layer
of question 1d costs nothing; receptive fields by autograd; convolution matrices from conv2d and
conv_transpose2d applied to basis images), never copied from the key.  The key in assignment.toml is
audited against `key_values()` instead; it is wrong in places (ASSIGNMENTS.md, "iust-dl-theory").

Shapes are written as the key and the handout write them: height × width × channels, no batch axis.
"Convolution" is the key's: the kernel flipped (y[i, j] = Σ x[i + a, j + b] · W[kh-1-a, kw-1-b]), so the
first row of the 4×9 matrix starts W11, W10 as the key's does; the graders also accept the
cross-correlation (the kernel not flipped, what torch's conv2d computes) when a whole answer uses it.

torch is imported inside the functions so that importing this module stays fast.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

import numpy as np

Kind = Literal["valid", "full"]

# Question 1a: a neuron of layer 4 in a stack of 3×3 convolutions (stride 1); layer 0 is the input.
Q1A_LAYERS = 4
Q1A_KERNEL = 3

# Question 1c: a 35×35×16 input, 32 filters of 3×3, stride 1, "same" padding.
Q1C_INPUT = (35, 35, 16)
Q1C_FILTERS = 32
Q1C_KERNEL = 3

# Question 1d: the 227×227×3 network, and the variant with the two convolutions swapped (and, as the
# key's variant does, a 7×7 max pool of stride 5).  Each layer: (name, kind, size arguments).  The
# names follow the layers: in the swapped network "conv2" (128 filters) comes first.
Q1D_INPUT = (227, 227, 3)
Q1D_NETWORKS: dict[str, tuple[tuple[Any, ...], ...]] = {
    "original": (("conv1", "conv", 256, 5), ("conv2", "conv", 128, 5), ("pool", "maxpool", 5, 2),
                 ("flatten", "flatten"), ("fc1", "dense", 512), ("fc2", "dense", 100)),
    "swapped": (("conv2", "conv", 128, 5), ("conv1", "conv", 256, 5), ("pool", "maxpool", 7, 5),
                ("flatten", "flatten"), ("fc1", "dense", 512), ("fc2", "dense", 100)),
}
Q1D_VARIANTS = tuple(Q1D_NETWORKS)

# Question 4a: a 3×3 input and the 2×2 kernel W = [[W00, W01], [W10, W11]].
Q4A_INPUT = (3, 3)
Q4A_KERNEL_NAMES = (("W00", "W01"), ("W10", "W11"))


# ---------------------------------------------------------------- 1a: receptive field


@cache
def receptive_field_sides() -> dict[str, int]:
    """{"layer3": 3, "layer2": 5, "layer1": 7, "layer0": 9}: the side of the square of layer k that one
    neuron of the last layer depends on, measured by autograd through a stack of 3×3 convolutions (all
    weights one, so no contribution cancels): the rows of layer k's gradient that are not zero."""
    import torch

    size = 2 * Q1A_LAYERS * Q1A_KERNEL + 1
    convs = [torch.nn.Conv2d(1, 1, Q1A_KERNEL, bias=False, dtype=torch.float64) for _ in range(Q1A_LAYERS)]
    for conv in convs:
        torch.nn.init.ones_(conv.weight)
    sides = {}
    for start in range(Q1A_LAYERS):  # the map of layer `start`, then the rest of the stack
        x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
        y = x
        for conv in convs[start:]:
            y = conv(y)
        centre = y.shape[-1] // 2
        y[0, 0, centre, centre].backward()
        assert x.grad is not None
        rows = int((x.grad[0, 0].abs().sum(dim=1) > 0).sum())
        sides[f"layer{start}"] = rows
    return dict(sorted(sides.items(), reverse=True))


def receptive_field_pixels() -> int:
    """How many input pixels (layer 0) one neuron of layer 4 sees: 9 × 9 = 81."""
    return receptive_field_sides()["layer0"] ** 2


# ---------------------------------------------------------------- 1c and 1d: shapes and parameters


def _hwc(shape: Any) -> list[int]:
    """torch's (batch, channels, height, width) as [height, width, channels]; (batch, n) as [n]."""
    dims = [int(d) for d in shape[1:]]
    return dims[1:] + dims[:1] if len(dims) == 3 else dims


def _count(module: Any) -> int:
    return int(sum(p.numel() for p in module.parameters()))


@cache
def q1c_facts() -> dict[str, Any]:
    """{"output_shape": [35, 35, 32], "params": 4640, "expression": "3 × 3 × 16 × 32 + 32"}, from a torch
    Conv2d with "same" padding; the expression is read from its weight and bias shapes."""
    import torch

    h, w, c = Q1C_INPUT
    conv = torch.nn.Conv2d(c, Q1C_FILTERS, Q1C_KERNEL, stride=1, padding="same", device="meta")
    out = conv(torch.empty(1, c, h, w, device="meta"))
    f_out, f_in, kh, kw = conv.weight.shape
    assert conv.bias is not None
    return {"output_shape": _hwc(out.shape), "params": _count(conv),
            "expression": f"{kh} × {kw} × {f_in} × {f_out} + {conv.bias.shape[0]}"}


@cache
def _q1d(variant: str) -> tuple[tuple[tuple[str, tuple[int, ...], int], ...], int]:
    import torch

    h, w, c = Q1D_INPUT
    x = torch.empty(1, c, h, w, device="meta")
    rows, total = [], 0
    for name, kind, *size in Q1D_NETWORKS[variant]:
        if kind == "conv":
            layer: Any = torch.nn.Conv2d(x.shape[1], size[0], size[1], padding="same", device="meta")
        elif kind == "maxpool":
            layer = torch.nn.MaxPool2d(size[0], stride=size[1])
        elif kind == "flatten":
            layer = torch.nn.Flatten()
        else:
            layer = torch.nn.Linear(x.shape[1], size[0], device="meta")
        # A dense layer's shape from its weight alone: adding its bias on `meta` goes through torch's Python
        # decompositions, whose first use imports torch._dynamo (0.8 s of every self-check), for a vector that
        # changes no shape; its parameters are still counted from the module.
        x = torch.nn.functional.linear(x, layer.weight) if kind == "dense" else layer(x)
        params = _count(layer)
        rows.append((name, tuple(_hwc(x.shape)), params))
        total += params
    return tuple(rows), total


def q1d_table(variant: str) -> tuple[dict[str, dict[str, Any]], int]:
    """({layer: {"output_shape": [h, w, c] or [n], "params": int}}, total parameters) of the 227×227×3
    network of question 1d, `variant` "original" or "swapped"."""
    rows, total = _q1d(variant)
    return {name: {"output_shape": list(shape), "params": params} for name, shape, params in rows}, total


# ---------------------------------------------------------------- 4a: convolution as a matrix


def _basis(input_size: tuple[int, int]):
    import torch

    h, w = input_size
    return torch.eye(h * w, dtype=torch.float64).reshape(h * w, 1, h, w)


def convolve(x: Any, kernel: Any, kind: Kind, *, flipped: bool = True) -> np.ndarray:
    """The 2-D convolution of `x` by `kernel` with torch: "valid" (no padding, conv2d) or "full" (zero padding
    of kernel-1 on every side, conv_transpose2d).  `flipped`: the kernel flipped, as the key and the
    handout define convolution; without it, cross-correlation (what conv2d computes)."""
    import torch
    import torch.nn.functional as tf

    xs = torch.as_tensor(np.asarray(x, dtype=np.float64))
    k = torch.as_tensor(np.asarray(kernel, dtype=np.float64))
    xs = xs.reshape(-1, 1, *xs.shape[-2:])
    if kind == "valid":
        out = tf.conv2d(xs, (k.flip(0, 1) if flipped else k)[None, None])
    else:  # conv_transpose2d scatters x[p, q] · k[a, b] onto y[p + a, q + b]: the full convolution
        out = tf.conv_transpose2d(xs, (k if flipped else k.flip(0, 1))[None, None])
    return out[:, 0].numpy()


def conv_matrix(input_size: tuple[int, int], kernel: Any, kind: Kind = "valid", *, flipped: bool = True) -> np.ndarray:
    """The matrix A with A @ x.ravel() == convolve(x, kernel, kind).ravel() for every x of `input_size`
    (row-major on both sides): column j is the convolution of the j-th basis image."""
    out = convolve(_basis(input_size).numpy(), kernel, kind, flipped=flipped)
    return out.reshape(out.shape[0], -1).T.copy()


def symbolic_matrix(kind: Kind, *, flipped: bool = True, input_size: tuple[int, int] = Q4A_INPUT) -> list[list[Any]]:
    """conv_matrix of the 3×3 input by the 2×2 kernel W, with the names W00 … W11 where the kernel's entries
    go and 0 elsewhere: conv_matrix is linear in the kernel, so each name sits where the matrix of its
    one-hot kernel has its 1."""
    names = np.array(Q4A_KERNEL_NAMES, dtype=object)
    out: np.ndarray | None = None
    for (a, b), name in np.ndenumerate(names):
        one_hot = np.zeros(names.shape)
        one_hot[a, b] = 1.0
        m = conv_matrix(input_size, one_hot, kind, flipped=flipped)
        if out is None:
            out = np.zeros(m.shape, dtype=object)
        assert not np.any((m != 0) & (out != 0)), "two kernel entries in one cell"
        out[m == 1] = name
    assert out is not None
    return out.tolist()


# ---------------------------------------------------------------- the official key


def key_values() -> dict[str, Any]:
    """What the reference computes for every entry of assignment.toml's `[key]` (and a few more)."""
    values: dict[str, Any] = {f"1a.side.{k}": v for k, v in receptive_field_sides().items()}
    values["1a.pixels"] = receptive_field_pixels()
    c = q1c_facts()
    values |= {"1c.output_shape": c["output_shape"], "1c.params": c["params"], "1c.params_expression": c["expression"]}
    for variant in Q1D_VARIANTS:
        table, total = q1d_table(variant)
        for name, row in table.items():
            values[f"1d.{variant}.{name}.output_shape"] = row["output_shape"]
            values[f"1d.{variant}.{name}.params"] = row["params"]
        values[f"1d.{variant}.total_params"] = total
    for kind in ("valid", "full"):
        matrix = symbolic_matrix(kind)
        values[f"4a.{kind}_matrix"] = matrix
        values[f"4a.{kind}_matrix.shape"] = [len(matrix), len(matrix[0])]
    return values


def key_sums() -> dict[str, tuple[str, ...]]:
    """The key's totals and the entries they are the sum of (the layers that have parameters): `davar
    audit-key` checks that the key's own parts add up to its total, whatever the reference says."""
    return {f"1d.{variant}.total_params": tuple(f"1d.{variant}.{name}.params" for name, kind, *_ in layers
                                                if kind in ("conv", "dense"))
            for variant, layers in Q1D_NETWORKS.items()}
