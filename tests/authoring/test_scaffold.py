"""`davar new`: the scaffold is a working assignment (assign, audit-key and grade pass at once)."""

import tomllib

import pytest

from davar import cli
from davar.authoring import scaffold
from davar.book import gradebook
from davar.errors import AuthoringError
from davar.run import sandbox


@pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")
def test_new_assignment_assigns_audits_and_grades_as_its_sample_expects(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["new", "demo-hw"]) == 0
    assert cli.main(["assign", "demo-hw"]) == 0
    assert cli.main(["audit-key", "demo-hw"]) == 0
    assert cli.main(["grade", "demo-hw", "submissions/demo-hw", "--out", "reports"]) == 0
    results = {r.student: r for r in gradebook.latest(tmp_path / "reports/demo-hw/gradebook.sqlite", "demo-hw")}
    assert sorted(results) == sorted(scaffold.SAMPLES)
    for sample, result in results.items():
        expected = tomllib.loads((tmp_path / "submissions/demo-hw" / sample / "expected.toml").read_text("utf-8"))
        assert (result.status, result.score) == (expected["status"], expected["score"]), sample
        assert {t.id: t.outcome for q in result.questions for t in q.tests} == expected["tests"], sample


def test_new_never_overwrites_and_checks_the_id(tmp_path):
    scaffold.new("hw1", root=tmp_path)
    with pytest.raises(AuthoringError, match="exists"):
        scaffold.new("hw1", root=tmp_path)
    with pytest.raises(AuthoringError, match="lower-case"):
        scaffold.new("../HW 1", root=tmp_path)
