"""Q8, bonus (HW2_SS.ipynb): a ResUNet for dental caries; Dice above 40 % on train AND test.

- q8_residual_encoder: the MODEL GRAPH (davar.probe.graph) has residual additions (`residual_adds`: a path
  with a convolution added to its shortcut) in the encoder, the part of the graph before its first
  upsampling (a transposed convolution, `Upsample` or `interpolate`).  A U-Net whose encoder is a plain
  stack of convolutions is not a ResUNet.
- q8_loss: the grader calls `loss_fn(logits, target)` on its own tensors (random logits and small blob
  targets, three draws) and compares it with plain BCE on the same tensors (mean, and sum, on logits; on
  probabilities when the model ends in a sigmoid).  Equal on every draw: plain BCE, not awarded.  It must be
  a loss too: lower for a right prediction than for a wrong one.
- q8_dice_train / q8_dice_test: the grader sends the images to `predict_masks(images)` and computes the
  Dice score itself (over the whole split) against the CORRECT masks, which never enter the sandbox (the
  public training masks include the handout's corrupted ones; the test masks are not public at all).
  The masks count only when they are the model's: while `predict_masks` runs the grader records what
  `model` returns, and the masks must be its outputs thresholded (one threshold for all pixels, the best
  one) on at least `agreement` of the pixels; a mask looked up from the file it was given is not.
  Presupposes the design: without residual additions in the encoder the Dice tests are not awarded
  (the Dice is still measured and shown).
"""

from __future__ import annotations

from dataclasses import dataclass

import dental
import numpy as np
import pytest

from davar import expect, note
from davar.probe.bridge import AsTensor

Q = "8"
NAME = "model"
EXAMPLE = np.zeros((1, 1, dental.SIZE, dental.SIZE), np.float32)
_UPSAMPLING = ("transpose", "upsample", "interpolate", "pixelshuffle")


@dataclass(frozen=True)
class Params:
    agreement: float  # share of pixels on which predict_masks' mask must be the model's thresholded output
    probes: int       # random draws on which loss_fn is compared with plain BCE


def _params(assignment) -> Params:
    return assignment.question(Q).params(Params)


def _torch_model(sub):
    model = sub.model(NAME, discover=True)
    expect(model.framework == "torch", "framework", name=NAME, framework=model.framework, expected="PyTorch")
    return model


def encoder_residuals(graph) -> tuple[list, str]:
    """The residual additions before the graph's first upsampling node, and that node's name ('' if none)."""
    first = next((i for i, n in enumerate(graph.nodes) if any(u in n.type.lower() for u in _UPSAMPLING)),
                 len(graph.nodes))
    before = {n.id for n in graph.nodes[:first]}
    found = [r for r in graph.residual_adds() if r.node.id in before and r.main.convs]
    up = graph.nodes[first] if first < len(graph.nodes) else None
    return found, (up.name or up.id) if up is not None else ""


def _encoder(sub) -> tuple[bool, dict]:
    model = _torch_model(sub)
    graph = model.graph(example=EXAMPLE)
    if graph is None:
        return False, {"key": "torch_graph_unavailable", "why": model.graph_error(example=EXAMPLE)}
    found, up = encoder_residuals(graph)
    return bool(found), {"key": "q8_residual_encoder", "count": len(found), "up": up or "—",
                                                "add": (found[0].node.name or found[0].node.id) if found else "—",
                                                "total": len(graph.residual_adds())}


@pytest.mark.davar(question=Q, points=4, timeout=120)
def test_q8_residual_encoder(sub):
    found, values = _encoder(sub)
    expect(found, values.pop("key"), name=NAME, **values)


# ------------------------------------------------------------------------------------------------ the loss


def _bce(x: np.ndarray, t: np.ndarray, *, logits: bool) -> np.ndarray:
    """Element-wise plain BCE (float64), on logits or on probabilities."""
    if logits:
        return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
    p = np.clip(x, 1e-12, 1 - 1e-12)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def _blobs(rng: np.random.Generator, n: int) -> np.ndarray:
    yy, xx = np.mgrid[0:dental.SIZE, 0:dental.SIZE]
    t = np.zeros((n, 1, dental.SIZE, dental.SIZE), np.float32)
    for i in range(n):
        for _ in range(int(rng.integers(1, 4))):
            cy, cx, r = rng.uniform(8, 56), rng.uniform(8, 56), rng.uniform(2, 6)
            t[i, 0][(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 1
    return t


def _loss(sub, x: np.ndarray, t: np.ndarray) -> float:
    value = np.asarray(sub.call("loss_fn", AsTensor(x), AsTensor(t)), dtype=np.float64)
    if not (value.size == 1 and bool(np.isfinite(value).all())):
        expect(False, "q8_loss_scalar", name="loss_fn", shape=list(value.shape))
    return float(value.reshape(-1)[0])


def _outputs_probabilities(sub, public_data) -> bool:
    """Whether `model` ends in a sigmoid (its outputs on a few training images all lie in [0, 1])."""
    images = dental.load_images(public_data / "dental", "train")[:4]
    out = np.asarray(_torch_model(sub).predict((images[:, None] / 255.0).astype(np.float32)), dtype=np.float64)
    return bool(out.size and out.min() >= 0 and out.max() <= 1)


@pytest.mark.davar(question=Q, points=4, timeout=120)
def test_q8_loss(sub, public_data, assignment):
    params = _params(assignment)
    logits = not _outputs_probabilities(sub, public_data)
    if not logits:
        note("q8_loss_probabilities", name="loss_fn", model=NAME)
    rng = np.random.default_rng(8)
    plain = []
    for _ in range(params.probes):
        t = _blobs(rng, 4)
        x = rng.normal(0, 2, size=t.shape).astype(np.float32)
        if not logits:
            x = (1 / (1 + np.exp(-x))).astype(np.float32)
        got = _loss(sub, x, t)
        bce = _bce(x.astype(np.float64), t.astype(np.float64), logits=logits)
        mean, total = float(bce.mean()), float(bce.sum())
        plain.append(min(abs(got - mean) / max(1.0, abs(mean)), abs(got - total) / max(1.0, abs(total))) < 1e-4)
        note("q8_loss_probe", name="loss_fn", submitted=got, bce=mean)
    t = _blobs(rng, 4)
    right, wrong = np.where(t > 0, 6.0, -6.0).astype(np.float32), np.where(t > 0, -6.0, 6.0).astype(np.float32)
    if not logits:
        right, wrong = (1 / (1 + np.exp(-right))).astype(np.float32), (1 / (1 + np.exp(-wrong))).astype(np.float32)
    good, bad = _loss(sub, right, t), _loss(sub, wrong, t)
    expect(good < bad, "q8_loss_orders", name="loss_fn", right=good, wrong=bad)
    expect(not all(plain), "q8_loss_not_plain_bce", name="loss_fn", probes=len(plain))


# ------------------------------------------------------------------------------------------------ Dice


def mask_agreement(masks: np.ndarray, outputs: np.ndarray) -> float:
    """Largest share of pixels on which ``masks`` (N, P) equals ``outputs`` (N, P) > t, over every threshold t."""
    m = np.asarray(masks, bool).reshape(-1)
    o = np.asarray(outputs, np.float64).reshape(-1)
    order = np.argsort(o, kind="stable")
    m, o = m[order], o[order]
    # threshold after position k (k pixels below it): errors = masks set among the first k + unset after
    set_below = np.concatenate([[0], np.cumsum(m)])
    unset_above = np.concatenate([np.cumsum((~m)[::-1])[::-1], [0]])
    errors = set_below + unset_above
    cut = np.concatenate([[True], o[1:] != o[:-1], [True]])   # a threshold cannot split equal values
    return float(1 - errors[cut].min() / len(m)) if len(m) else 1.0


def _as_masks(answer, count: int) -> np.ndarray:
    answer = np.asarray(answer)
    shape = (count, dental.SIZE, dental.SIZE)
    if answer.size == count * dental.SIZE * dental.SIZE:
        answer = answer.reshape(shape)
    expect(answer.shape == shape and answer.dtype.kind in "biuf" and bool(np.isin(answer, (0, 1)).all()),
           "q8_mask_shape", name="predict_masks", shape=list(np.shape(answer)), expected=list(shape))
    return answer.astype(bool)


def _model_scores(outputs: np.ndarray | None, count: int) -> np.ndarray | None:
    """`model`'s outputs as one score per pixel: one channel as is, two channels (background, caries) as
    their difference; None when they have neither shape."""
    if outputs is None or len(outputs) != count:
        return None
    pixels = dental.SIZE * dental.SIZE
    if outputs.shape[1] == pixels:
        return outputs
    if outputs.shape[1] == 2 * pixels:
        return outputs[:, pixels:] - outputs[:, :pixels]
    return None


def _dice(sub, public_data, hidden, assignment, split: str) -> None:
    params = _params(assignment)
    threshold = assignment.question(Q).thresholds["dice"]
    files = dental.names(public_data / "dental", split)
    images = dental.load_images(public_data / "dental", split)
    truth = dental.load_masks(hidden / "dental", split, files)
    _torch_model(sub)
    observed = sub.call_observed("predict_masks", images, models=[NAME])
    masks = _as_masks(observed.result, len(files))
    scores = _model_scores(observed.outputs.get(NAME), len(files))
    expect(scores is not None, "predict_uses_model", name="predict_masks", models=NAME, count=len(files))
    assert scores is not None
    measured = dental.dice(masks, truth)
    agreement = mask_agreement(masks.reshape(len(files), -1), scores)
    expect(agreement >= params.agreement, "q8_masks_agree", name="predict_masks", model=NAME, agreement=agreement,
           needed=params.agreement, count=len(files), dice=measured)
    found, _ = _encoder(sub)
    expect(found, "q8_needs_resunet", name=NAME, dice=measured)
    expect(measured > threshold, "q8_dice", split=split, measured=measured, threshold=threshold, count=len(files))


@pytest.mark.davar(question=Q, points=6, hidden=True, timeout=300)  # the correct training masks are hidden
def test_q8_dice_train(sub, public_data, hidden, assignment):
    _dice(sub, public_data, hidden, assignment, "train")


@pytest.mark.davar(question=Q, points=6, hidden=True, timeout=300)
def test_q8_dice_test(sub, public_data, hidden, assignment):
    _dice(sub, public_data, hidden, assignment, "test")
