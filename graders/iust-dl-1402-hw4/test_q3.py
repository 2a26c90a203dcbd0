"""Q3: `create_proper_dataset_for_rnn(inputs, labels, look_back)` and the LSTM's input shape.

The function is called through the bridge on fresh random arrays (rows, features and look_back drawn from
`rng` on every run) and its windows and labels compared with reference.rnn_windows: window i is rows
i … i+look_back-1, labelled labels[i + look_back] (the labels a vector or a column).  On the first window
that differs, the message shows the expected window and the submitted one (its first rows and its label).
`lstm_model`'s input shape must be (look_back, features) for the notebook's own `look_back` and six features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from davar import expect
from davar.checks import show

Q = "3"
NAME = "create_proper_dataset_for_rnn"
pytestmark = pytest.mark.davar(question=Q)


@dataclass(frozen=True)
class Params:
    probe_cases: int


def _window(x: np.ndarray, y: np.ndarray, i: int) -> str:
    return f"{show(np.round(x[i][:3], 3), limit=200)}… → {show(np.round(y[i], 3), limit=60)}"


@pytest.mark.davar(points=6, timeout=60)
def test_q3_windows(sub, reference, assignment, rng):
    cases = assignment.question(Q).params(Params).probe_cases
    shapes = []
    for _ in range(cases):
        rows, features, look_back = int(rng.integers(15, 40)), int(rng.integers(2, 7)), int(rng.integers(2, 8))
        inputs, labels = rng.normal(size=(rows, features)).round(3), rng.normal(size=rows).round(3)
        want_x, want_y = reference.rnn_windows(inputs, labels, look_back)
        got = sub.call(NAME, inputs, labels, look_back)
        if not (isinstance(got, (list, tuple)) and len(got) == 2):
            expect(False, "function_returns", name=NAME, expected="(windows, labels)", submitted=type(got).__name__)
        got_x, got_y = (np.asarray(g, dtype=np.float64) for g in got)
        if got_y.ndim == 2 and got_y.shape[1:] == (1,):  # the labels as a column (N, 1), as Keras takes them too
            got_y = got_y[:, 0]
        inputs_text = f"inputs {rows}×{features}, look_back {look_back}"
        if got_x.shape != want_x.shape or got_y.shape != want_y.shape:
            expect(False, "q3_window_shapes", name=NAME, inputs=inputs_text,
                   expected=f"{list(want_x.shape)}, {list(want_y.shape)}",
                   submitted=f"{list(got_x.shape)}, {list(got_y.shape)}")
        for i in range(len(want_x)):
            if not (np.allclose(got_x[i], want_x[i]) and np.allclose(got_y[i], want_y[i])):
                expect(False, "q3_window", name=NAME, inputs=inputs_text, index=i, expected=_window(want_x, want_y, i),
                       submitted=_window(got_x, got_y, i))
        shapes.append(inputs_text)
    expect(True, "function_probe", name=NAME, cases=len(shapes), shapes="; ".join(shapes))


@pytest.mark.davar(points=4, timeout=60)
def test_q3_lstm_input(sub):
    model = sub.model("lstm_model")
    look_back = sub.value("look_back")
    features = 6
    layers = model.layers()
    first = next((layer for layer in layers if layer.type != "InputLayer"), None)
    found = sub.value("lstm_model.input_shape")  # Keras: (None, look_back, features) once built
    shape = list(found)[1:] if isinstance(found, (list, tuple)) and found else None
    expect(first is not None and first.type == "LSTM", "q3_lstm_first", name="lstm_model",
           layer=first.type if first else "—")
    expect(shape == [look_back, features], "q3_lstm_input", name="lstm_model", submitted=str(shape),
           expected=str([look_back, features]))
