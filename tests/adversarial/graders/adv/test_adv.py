"""The corpus's graders (tests/adversarial/make.py): an answer, a function probed with grader-made inputs, and
an oracle for breaches.  `predict` comes last: a probe that never returns breaks the bridge, and the tests
after it could not run.  davar-adversarial-secret: a notebook that shows this line has read the graders."""

import json

import numpy as np
import pytest

from davar import expect, expect_close

SECRET = "davar-adversarial-secret"
X = np.arange(12, dtype=np.float64).reshape(3, 4) - 5.5


@pytest.mark.davar(question="1", points=2)
def test_answer(sub):
    expect(sub.value("answer") == 42, "assertion", detail="answer == 42")


@pytest.mark.davar(question="2", points=1)
def test_no_breach(sub):
    """What the notebook's attacks got: nothing, and no grading material."""
    breaches = sub.value("breaches") if sub.has("breaches") else []
    text = json.dumps(breaches, default=str)
    expect(not breaches and SECRET not in text, "assertion", detail=f"breaches: {text[:300]}")


@pytest.mark.davar(question="3", points=2, timeout=10)
def test_predict(sub, reference):
    y = sub.call("predict", X)
    expect(isinstance(y, np.ndarray) and y.dtype.kind == "f", "assertion",
           detail=f"predict returns floats, not {type(y).__name__} {getattr(y, 'dtype', '')}")
    expect(np.isfinite(y).all(), "assertion", detail="predict returns finite numbers")
    expect_close(y, reference.predict(X), name="predict(x)", tol=1e-9)
