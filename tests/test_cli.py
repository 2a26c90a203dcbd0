"""`davar check`: the student's self-check, in Persian and as JSON; `davar data`."""

import json
from pathlib import Path

import pytest

from davar import cli, sandbox

SAMPLE = Path(__file__).resolve().parent.parent / "submissions" / "iust-dl-1403-hw2" / "under_threshold" / "HW2_CNN.ipynb"

pytestmark = pytest.mark.skipif(sandbox.detect().best == "none", reason="needs bubblewrap")


def test_check_prints_a_persian_table_and_fails_on_a_failed_public_test(hw2, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    assert cli.main(["check", str(hw2.directory), str(SAMPLE), "--lang", "fa"]) == 1
    out = capsys.readouterr().out
    assert "دقت روی دادهٔ آزمایشی بالای آستانه" in out and "مردود" in out and "۰/۵" in out
    assert "hidden" not in out and "پنهان" not in out  # public graders only


def test_check_json_is_the_public_result(hw2, capsys, tmp_path):
    assert cli.main(["check", str(hw2.directory), str(SAMPLE), "--json", "--report", str(tmp_path)]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "graded" and result["score"] == 2 and result["max_score"] == 12
    assert {t["id"] for q in result["questions"] for t in q["tests"]} == {"model_is_cnn", "train_accuracy", "test_accuracy"}
    assert (tmp_path / "report.fa.html").is_file() and (tmp_path / "report.en.html").is_file()


def test_unknown_assignment_is_a_usage_error(capsys):
    assert cli.main(["check", "no-such-assignment", str(SAMPLE)]) == 2
    assert "no assignment" in capsys.readouterr().err
