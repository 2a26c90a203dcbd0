"""Q1d: the 227×227×3 network (conv1: 256 filters 5×5, conv2: 128 filters 5×5, both "same"; max pool 5×5
stride 2; flatten; dense 512; dense 100) and the variant with conv1 and conv2 swapped and a 7×7 max pool of
stride 5.  For each, ANSWERS["q1d"][variant]["layers"] holds every layer's output shape and parameter count
(12 cells: each earns its share of the table's points) and ANSWERS["q1d"][variant]["total_params"] the total.

Compared with reference.q1d_table(variant) (torch modules on the meta device), never with the key, which
is wrong for the swapped variant (flatten 1,163,520; total 597,766,756).  Shapes as in test_q1c.py.
"""

from __future__ import annotations

import pytest
import theory_answers as read

from davar import award, expect, note

Q = "1d"
VARIANTS = ("original", "swapped")
pytestmark = pytest.mark.davar(question=Q)


@pytest.mark.davar(points=6)
@pytest.mark.parametrize("variant", VARIANTS)
def test_q1d_table(sub, reference, variant):
    table, _ = reference.q1d_table(variant)
    submitted = sub.answer("q1d", variant, "layers")
    submitted = submitted if isinstance(submitted, dict) else {}
    count = wrong = 0
    channels_first = []
    for layer, row in table.items():
        entry = submitted.get(layer)
        entry = entry if isinstance(entry, dict) else {}
        for field in ("output_shape", "params"):
            count += 1
            value, want = entry.get(field), row[field]
            if field == "output_shape":
                order = read.shape_order(value, want)
                ok = order is not None
                if order == "chw":
                    channels_first.append(layer)
            else:
                ok = read.count(value) == want
            if not ok:
                wrong += 1
                expect(False, "answer_value", soft=True,
                       name=f'ANSWERS["q1d"]["{variant}"]["layers"]["{layer}"]["{field}"]',
                       expected=read.show(want), submitted=read.show(value))
    if channels_first:
        note("shape_channels_first", name=f'ANSWERS["q1d"]["{variant}"]["layers"]')
    award((count - wrong) / count, "answers_match", name=f'ANSWERS["q1d"]["{variant}"]["layers"]', count=count,
          wrong=wrong)


@pytest.mark.davar(points=2)
@pytest.mark.parametrize("variant", VARIANTS)
def test_q1d_total(sub, reference, variant):
    _, total = reference.q1d_table(variant)
    value = sub.answer("q1d", variant, "total_params")
    expect(read.count(value) == total, "answer_value", name=f'ANSWERS["q1d"]["{variant}"]["total_params"]',
           expected=str(total), submitted=read.show(value))
