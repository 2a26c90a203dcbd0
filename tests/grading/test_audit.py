"""`davar audit-key`: the reference solution must score 100 %; the official key is compared with it."""

import types

import pytest

from davar import cli
from davar.assignment import Assignment
from davar.grading import audit
from davar.run import sandbox


@pytest.mark.parametrize("official, reference, agree", [
    ([[2.5, 1.75], [1.25, -1]], [[2.5, 1.75], [1.25, -1.0]], True),
    ([[2.5, 1.75], [1.25, -1]], [[2.5, 1.75], [1.25, 1.0]], False),  # a sign
    ([245, 32], [118, 64], False),  # a shape copied from the row above
    ([1, 2, 3], [[1, 2, 3]], False),  # same numbers, other shape
    (4640, 4640.0, True),
    ("Hyperband", "Hyperband", True),
])
def test_values_agree(official, reference, agree):
    assert audit.values_agree(official, reference) is agree


def test_check_key_lists_every_official_value(monkeypatch, hw2):
    spec = Assignment(**{**{f: getattr(hw2, f) for f in hw2.__dataclass_fields__},
                         "key": {"a": [1, 2], "b": 3, "c": 5}})
    fake = types.SimpleNamespace(key_values=lambda: {"a": [1, 2], "b": 4})
    monkeypatch.setattr(Assignment, "reference_module", lambda self: fake)
    checks = {c.key: c for c in audit.check_key(spec)}
    assert checks["a"].agrees and not checks["b"].agrees and checks["c"].reference is None


@pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")
def test_reference_solution_of_hw2_is_complete(hw2, capsys):
    assert cli.main(["audit-key", str(hw2.directory)]) == 0
    assert "100 %" in capsys.readouterr().out
