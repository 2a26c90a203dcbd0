"""Q6f (HW3.ipynb, part ج): a simple convolutional model with a 1×1 filter, `q6_model`, whose effect is
shown by comparing the input and output shapes: the channels change, the spatial size does not.

- q6_one_by_one: the model's graph (ModelProbe.graph()) has a Conv2D with a 1×1 kernel whose input
  and output (the shapes Keras gives the graph's nodes) have the same height and width and different
  channel counts.  Every 1×1 convolution is looked at; one that does it is enough, otherwise the
  message names the first one and what went wrong.
- q6_shapes: ANSWERS["q6"] states the input shape the student tried and the output shape they saw.
  The grader draws a fresh random input of the stated shape (batch of 2), runs q6_model on it
  through the bridge, and checks that the output has the stated shape and that the channels
  changed while the spatial size did not.

Parts a–e (الف–ث) are essays: the manual question "6a-e".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from davar import expect

Q = "6f"
pytestmark = pytest.mark.davar(question=Q)
NAME = "q6_model"


def _dims(shape: Any) -> tuple[int, ...] | None:
    """(height, width, channels) from a shape with or without the batch axis (None as Keras writes it, or
    the batch's size: (4, 32, 32, 3)); None if it is not one."""
    if not isinstance(shape, (list, tuple)):
        return None
    shape = list(shape)
    batch = shape[0] if len(shape) == 4 else False
    if batch is None or (isinstance(batch, (int, np.integer)) and not isinstance(batch, bool)):
        shape = shape[1:]
    if len(shape) != 3 or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0
                                  for d in shape):
        return None
    return tuple(int(d) for d in shape)


def _problem(before: tuple[int, ...], after: tuple[int, ...]) -> str | None:
    if before[:2] != after[:2]:
        return "spatial_changed"
    if before[2] == after[2]:
        return "channels_kept"
    return None


def _show(shape: Any) -> str:
    return "×".join(map(str, shape)) if isinstance(shape, (list, tuple)) else str(shape)[:100]


@pytest.mark.davar(points=3, timeout=60)
def test_q6_one_by_one(sub):
    model = sub.model(NAME)
    expect(model.framework == "keras", "framework", name=NAME, framework=model.framework, expected="Keras")
    graph = model.graph()
    if graph is None:
        expect(False, "graph_unavailable", name=NAME, why=model.graph_error())
    convs = [n for n in graph.layers("Conv2D") if n.kernel_size == (1, 1)]
    expect(convs, "one_by_one_missing", name=NAME,
           layers=", ".join(f"{n.type} {_show(n.kernel_size)}" if n.kernel_size else n.type for n in graph.layers()))
    results = []
    for conv in convs:
        before = _dims(graph.inputs_of(conv)[0].output_shape) if conv.inputs else None
        after = _dims(conv.output_shape)
        if before and after:
            results.append((conv, before, after, _problem(before, after)))
    if not results:
        expect(False, "graph_unavailable", name=NAME, why="no shapes for the 1×1 convolution's input and output")
    conv, before, after, problem = next((r for r in results if r[3] is None), results[0])
    expect(problem is None, "one_by_one", name=NAME, layer=conv.name, input=_show(before), output=_show(after),
           in_channels=before[2], out_channels=after[2], problem=problem)


@pytest.mark.davar(points=2, timeout=60)
def test_q6_shapes(sub, rng):
    stated_in, stated_out = sub.answer("q6", "input_shape"), sub.answer("q6", "output_shape")
    before = _dims(stated_in)
    if before and np.prod(before) > 2**22:  # too large to send: not a sensible "input of your choice"
        before = None
    if before is None:
        expect(False, "answer_value", name='ANSWERS["q6"]["input_shape"]', expected="[height, width, channels]",
               submitted=_show(stated_in))
    x = rng.normal(size=(2, *before)).astype(np.float32)
    out = np.asarray(sub.model(NAME).predict(x))
    after = _dims(list(out.shape[1:]))
    values = dict(name=NAME, input=_show(before), output=_show(out.shape[1:]), answer='ANSWERS["q6"]["output_shape"]',
                  stated=_show(stated_out))
    problem = "not_an_image_shape" if after is None else \
        "answer_disagrees" if _dims(stated_out) != after else _problem(before, after)
    expect(problem is None, "shape_effect", **values, problem=problem)
