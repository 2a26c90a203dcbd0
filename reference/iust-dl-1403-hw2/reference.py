"""Reference implementations for iust-dl-1403-hw2 (Deep Learning, Dr. Mohammadi, IUST, HW2: shared/seeds/002).

Trusted course code, loaded by the `reference` fixture.  Every number the graders compare with is
computed here with torch, never copied from a key.

Question 3: the handout's 17 layers on a 256×256×3 image (the handout: "decimals floored", which is
what torch's output-size formula does).  Per layer:

- output shape: channels first, as PyTorch writes it, from a forward pass on the `meta` device (no
  storage: fc1's 44 million weights cost nothing);
- parameters: the sum of `numel` of the layer's parameters (BatchNorm: γ and β; its running mean and
  variance are buffers, not parameters);
- MACs (multiply-accumulates), counted from the layer and its output:
    convolution / linear   one per weight and output position (C_in/groups · k_h · k_w per output
                           element, in_features per output of a linear layer), plus one per output
                           element for the bias (an addition, counted as one MAC);
    BatchNorm              one per element: at inference it is a scale and a shift (γ/σ and β − μγ/σ
                           folded), one multiply-add per element;
    average pooling k×k    k·k per output element (each input of the window multiplied by 1/k² and
                           accumulated);
    dropout                none (identity at inference).
  The other common convention (`alternative_macs` in assignment.toml): BatchNorm and pooling 0 (BatchNorm
  fused into the previous convolution, pooling only additions) and convolutions and linear layers without
  the bias; `q3_table(alternative=True)`.
- receptive field: the side of the input region one output unit sees, by the standard recurrence
  r_l = r_{l-1} + (k_eff − 1)·j_{l-1}, j_l = j_{l-1}·s_l with k_eff = d·(k − 1) + 1 (dilation d),
  BatchNorm and dropout leaving both unchanged; a linear layer sees its whole input, so from fc1 on the
  receptive field is the whole image (its side, 256).

Cross-checks (tests/courses/test_hw2_1403.py): fc1's input, 256 × 13 × 13 = 43,264, is the handout's; the
parameters total 45,937,034.

torch is imported inside the functions so that importing this module stays fast.
"""

from __future__ import annotations

from functools import cache
from typing import Any

Q3_INPUT = (3, 256, 256)  # channels, height, width
Q3_COLUMNS = ("output_shape", "params", "macs", "receptive_field")


def q3_layers() -> tuple[tuple[str, Any], ...]:
    """The handout's 17 layers, by the handout's names, as torch modules on the meta device (fc1 is fed
    the flattened output of Layer8)."""
    import torch
    from torch import nn

    with torch.device("meta"):
        return (
            ("Layer1", nn.Conv2d(in_channels=3, out_channels=32, kernel_size=(7, 7), stride=1, padding="same")),
            ("bn1", nn.BatchNorm2d(32)),
            ("Layer2", nn.Conv2d(in_channels=32, out_channels=64, kernel_size=(5, 5), stride=2, padding="valid")),
            ("bn2", nn.BatchNorm2d(64)),
            ("Layer3", nn.AvgPool2d(kernel_size=(2, 2), stride=2)),
            ("Layer4", nn.Conv2d(in_channels=64, out_channels=128, kernel_size=(3, 3), stride=1, dilation=2,
                                 padding="valid")),
            ("bn3", nn.BatchNorm2d(128)),
            ("Layer5", nn.Conv2d(in_channels=128, out_channels=128, kernel_size=(3, 3), stride=1, dilation=1,
                                 padding="valid")),
            ("bn4", nn.BatchNorm2d(128)),
            ("Layer6", nn.AvgPool2d(kernel_size=(2, 2), stride=2)),
            ("Layer7", nn.Conv2d(in_channels=128, out_channels=256, kernel_size=(3, 3), stride=1, padding="valid")),
            ("bn5", nn.BatchNorm2d(256)),
            ("Layer8", nn.AvgPool2d(kernel_size=(2, 2), stride=2)),
            ("fc1", nn.Linear(in_features=43264, out_features=1024)),
            ("fc2", nn.Linear(in_features=1024, out_features=1024)),
            ("dropout", nn.Dropout(p=0.5)),
            ("fc3", nn.Linear(in_features=1024, out_features=10)),
        )


def _pair(value: Any) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _macs(module: Any, output: Any, *, alternative: bool) -> int:
    """The layer's MACs for one image (module docstring), from the module and its output."""
    from torch import nn

    out = output[0].numel()  # one image: the batch axis is 1
    if isinstance(module, nn.Conv2d):
        kh, kw = _pair(module.kernel_size)
        bias = 0 if alternative or module.bias is None else out
        return out * (module.in_channels // module.groups) * kh * kw + bias
    if isinstance(module, nn.Linear):
        bias = 0 if alternative or module.bias is None else out
        return out * module.in_features + bias
    if isinstance(module, nn.BatchNorm2d):
        return 0 if alternative else out
    if isinstance(module, nn.AvgPool2d):
        kh, kw = _pair(module.kernel_size)
        return 0 if alternative else out * kh * kw
    return 0


def _receptive_fields(layers: tuple[tuple[str, Any], ...]) -> list[int]:
    """Each layer's receptive field side on the input (module docstring)."""
    from torch import nn

    side, jump, whole, out = 1, 1, False, []
    for _, module in layers:
        if isinstance(module, nn.Linear):
            whole = True
        elif isinstance(module, (nn.Conv2d, nn.AvgPool2d)):
            k = _pair(module.kernel_size)[0]
            d = _pair(module.dilation)[0] if isinstance(module, nn.Conv2d) else 1
            side += (d * (k - 1) + 1 - 1) * jump
            jump *= _pair(module.stride)[0]
        out.append(Q3_INPUT[1] if whole else min(side, Q3_INPUT[1]))
    return out


@cache
def q3_table(alternative: bool = False) -> tuple[tuple[str, dict[str, Any]], ...]:
    """(layer name, {output_shape: (C, H, W) or (features,), params, macs, receptive_field}) for the 17
    layers, in order; MACs in the reference's convention, or the other one with `alternative`."""
    import torch
    from torch import nn

    layers = q3_layers()
    rows: list[tuple[str, dict[str, Any]]] = []
    x = torch.empty((1, *Q3_INPUT), device="meta")
    for (name, module), rf in zip(layers, _receptive_fields(layers), strict=True):
        if name == "fc1":
            x = x.flatten(1)
        # On the meta device a BatchNorm's forward and a linear layer's bias add import torch._dynamo (1 s);
        # neither changes the shape.
        if isinstance(module, nn.Linear):
            x = nn.functional.linear(x, module.weight)
        elif not isinstance(module, nn.BatchNorm2d):
            x = module.eval()(x)
        rows.append((name, {"output_shape": tuple(int(d) for d in x.shape[1:]),
                            "params": sum(p.numel() for p in module.parameters()),
                            "macs": _macs(module, x, alternative=alternative), "receptive_field": rf}))
    return tuple(rows)
