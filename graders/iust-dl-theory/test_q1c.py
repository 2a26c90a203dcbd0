"""Q1c: a 35×35×16 input, 32 filters of 3×3, stride 1, "same" padding: the output is 35×35×32 and the
layer has 3 × 3 × 16 × 32 + 32 = 4,640 parameters (reference.q1c_facts(), from a torch Conv2d).

The shape is read without the batch axis, as the handout writes it (height, width, channels) or channels
first as PyTorch writes it (32, 35, 35): both are the same answer, and the message says which was read.
"""

from __future__ import annotations

import pytest
import theory_answers as read

from davar import expect, note

Q = "1c"
pytestmark = pytest.mark.davar(question=Q)


@pytest.mark.davar(points=4)
def test_q1c_output_shape(sub, reference):
    want = reference.q1c_facts()["output_shape"]
    value = sub.answer("q1c", "output_shape")
    order = read.shape_order(value, want)
    if order == "chw":
        note("shape_channels_first", name='ANSWERS["q1c"]["output_shape"]')
    expect(order is not None, "answer_value", name='ANSWERS["q1c"]["output_shape"]', expected=read.show(want),
           submitted=read.show(value))


@pytest.mark.davar(points=6)
def test_q1c_params(sub, reference):
    facts = reference.q1c_facts()
    value = sub.answer("q1c", "params")
    expect(read.count(value) == facts["params"], "answer_value", name='ANSWERS["q1c"]["params"]',
           expected=f'{facts["params"]} = {facts["expression"]}', submitted=read.show(value))
