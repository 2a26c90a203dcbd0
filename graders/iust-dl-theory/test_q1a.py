"""Q1a: the receptive field of one neuron of layer 4 in a stack of 3×3 convolutions (stride 1), layer 0
being the input: it sees 3×3 of layer 3, 5×5 of layer 2, 7×7 of layer 1 and 9×9 = 81 pixels of the input.

ANSWERS["q1a"]["side"] holds the side seen in each earlier layer (9 or [9, 9]); each of the four cells earns
its share.  ANSWERS["q1a"]["pixels"] is the count of input pixels.  Both are compared with
reference.receptive_field_sides(), measured by autograd through four torch convolutions.
"""

from __future__ import annotations

import pytest
import theory_answers as read

from davar import award, expect

Q = "1a"
pytestmark = pytest.mark.davar(question=Q)


@pytest.mark.davar(points=4)
def test_q1a_sides(sub, reference):
    expected = reference.receptive_field_sides()
    submitted = sub.answer("q1a", "side")
    submitted = submitted if isinstance(submitted, dict) else {}
    wrong = 0
    for layer, want in expected.items():
        value = submitted.get(layer)
        if read.side(value) != want:
            wrong += 1
            expect(False, "answer_value", soft=True, name=f'ANSWERS["q1a"]["side"]["{layer}"]', expected=str(want),
                   submitted=read.show(value))
    award((len(expected) - wrong) / len(expected), "answers_match", name='ANSWERS["q1a"]["side"]',
          count=len(expected), wrong=wrong)


@pytest.mark.davar(points=6)
def test_q1a_pixels(sub, reference):
    value = sub.answer("q1a", "pixels")
    want = reference.receptive_field_pixels()
    expect(read.count(value) == want, "answer_value", name='ANSWERS["q1a"]["pixels"]', expected=str(want),
           submitted=read.show(value))
