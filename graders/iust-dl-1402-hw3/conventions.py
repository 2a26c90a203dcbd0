"""How a student's Keras model wants its inputs and gives its outputs, read from the model, not assumed
(test_q4.py and test_q7.py; pure numpy, no frameworks).

Inputs.  The templates' loaders give images in [0, 1].  A model that scales its input itself (a Keras
`Rescaling` layer ahead of every layer with weights, whose scale brings 255 down to at most 2.5: 1/255
to [0, 1], 1/127.5 with offset -1 to [-1, 1]) was trained on raw pixels in [0, 255], and is given them:
the grader detects the layer in the model (ModelProbe.layers()) rather than trying both scales on
labelled data and keeping the better one, so the choice never depends on the labels, and the test's
messages say which layer decided it.

Outputs.  Several class scores (probabilities after a softmax, or logits): the class is the argmax,
the same for both.  One unit (or a flat vector): values all within [0, 1] are read as the probability
of class 1 (> 0.5); any value outside [0, 1] means logits, and class 1 is a logit > 0.  A logit model
whose every output on the graded images falls inside [0, 1] would be read as probabilities; a trained
model's logits do not stay there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PIXEL_MAX = 255.0
MAX_RESCALED = 2.5  # the largest value a raw pixel may be scaled to by a layer counted as "rescales raw pixels"


@dataclass(frozen=True)
class Rescaling:
    layer: str  # the layer's name in the model
    scale: float


def input_rescaling(layers: list[Any]) -> Rescaling | None:
    """The model's own rescaling of raw pixels: a `Rescaling` layer met before the first layer with
    weights whose scale maps 255 to at most `MAX_RESCALED`; None when the model has none."""
    for layer in layers:
        if layer.type == "Rescaling":
            scale = layer.config.get("scale")
            if isinstance(scale, (int, float)) and not isinstance(scale, bool) and \
                    0 < abs(scale) * PIXEL_MAX <= MAX_RESCALED:
                return Rescaling(layer=layer.name, scale=float(scale))
        if layer.params > 0:
            break
    return None


def fed(images01: np.ndarray, rescaling: Rescaling | None) -> np.ndarray:
    """`images01` (float, [0, 1]) as the model wants them: raw [0, 255] pixels when it rescales itself."""
    images = np.asarray(images01, dtype=np.float32)
    return np.round(images * PIXEL_MAX).astype(np.float32) if rescaling else images


def output_kind(outputs: np.ndarray) -> str:
    """"scores" (several units: argmax), "probabilities" or "logits" (one unit) for a model's outputs."""
    out = np.asarray(outputs, dtype=np.float64)
    if out.ndim == 2 and out.shape[1] > 1:
        return "scores"
    return "probabilities" if out.size == 0 or (out.min() >= 0.0 and out.max() <= 1.0) else "logits"


def predicted_classes(outputs: np.ndarray, classes: int) -> np.ndarray:
    """Class indices from a model's outputs for `classes` classes: ``(N, classes)`` scores (argmax), or,
    for two classes, ``(N,)`` / ``(N, 1)`` probabilities or logits of class 1.  Anything else raises
    ValueError."""
    out = np.asarray(outputs, dtype=np.float64)
    if out.ndim == 2 and out.shape[1] == classes:
        return out.argmax(axis=1)
    if classes == 2 and (out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1)):
        flat = out.reshape(-1)
        cut = 0.5 if output_kind(flat) == "probabilities" else 0.0
        return (flat > cut).astype(np.int64)
    raise ValueError(f"outputs of shape {out.shape}: expected (N, {classes})" + (" or (N, 1)" if classes == 2 else ""))
