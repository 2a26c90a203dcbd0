"""The sample corpus: every submission in submissions/<assignment>/ grades to its expected.toml."""

import shutil
import tomllib
from pathlib import Path

import pytest

from davar import assignment, catalogue
from davar.book import gradebook
from davar.grading.grade import grade_submission
from davar.intake import inbox
from davar.run import sandbox

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(p.parent for p in (ROOT / "submissions").glob("*/*/expected.toml")
                 if (ROOT / "graders" / p.parent.parent.name / "assignment.toml").exists())
HW2 = "iust-dl-1403-hw2"

pytestmark = pytest.mark.skipif(sandbox.detect().best != "strict", reason="needs root, bubblewrap and cgroups")
reads_hw2 = pytest.mark.corpus(HW2)  # the tests that use `graded`


@pytest.fixture(scope="module")
def graded(corpus):
    return corpus(HW2)


@pytest.mark.parametrize("sample", [pytest.param(s, marks=pytest.mark.corpus(s.parent.name)) for s in SAMPLES],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_grades_as_expected(corpus, sample):
    out, results = corpus(sample.parent.name)
    expected = tomllib.loads((sample / "expected.toml").read_text("utf-8"))
    r = results[sample.name]
    assert r.status == expected["status"]
    assert r.score == pytest.approx(expected["score"])
    outcomes = {t.id: t.outcome for q in r.questions for t in q.tests}
    assert outcomes == expected["tests"]
    if "failing_cell" in expected:
        assert r.execution.failing_cell == expected["failing_cell"]
    runs = {e.notebook: e for e in r.executions}
    for notebook, fields in expected.get("notebooks", {}).items():
        assert {k: getattr(runs[notebook], k) for k in fields} == fields, notebook
    assert r.sandbox.level == "strict"
    for name in ("result.json", "report.fa.html", "report.en.html"):
        assert (out / sample.name / name).is_file()


# One sample of each corpus graded again with the warm pool off (each kernel started when its run needs it, the
# frameworks imported by the seeded setup cell rather than before the files arrived): torch and TensorFlow trainings,
# a notebook that raised and its rerun without the cell.  iust-dl-1403-hw2's are compared in
# tests/intake/test_inbox.py (a Moodle zip of three samples).
COLD = ["iust-dl-theory/reference_solution", "iust-dl-1402-hw2/crashes", "iust-dl-1402-hw3/crashes",
        "iust-dl-1402-hw4/crashes"]


@pytest.mark.parametrize("cold", [pytest.param(c, marks=pytest.mark.corpus(c.partition("/")[0], c)) for c in COLD])
def test_the_pool_on_and_off_grade_a_sample_alike(corpus, cold):
    """Every run record, outcome and point alike, and every message down to the measured values, but for the tests
    that draw fresh inputs each grading (`rng`: their seed is kept), whose inputs, and so messages, differ."""
    assignment_id, _, sample = cold.partition("/")
    warm, off = corpus(assignment_id)[1][sample], corpus(cold)[1][sample]

    def record(r):
        tests = {t.id: (t.outcome, t.points, t.messages if t.seed is None else "fresh inputs")
                 for q in r.questions for t in q.tests}
        runs = [(e.notebook, e.status, e.failing_cell, e.error_name, e.skipped_cell) for e in r.executions]
        return r.status, r.score, runs, tests

    assert record(off) == record(warm)
    assert any(t.seed is None and t.messages for q in warm.questions for t in q.tests)  # measured values compared


# The reference solution of each corpus regraded in a kernel restored from its snapshot, as a regrade does once a
# changed grader asks something the last grading's replies do not hold: the restored namespace is not the one that
# ran (each value unpickled on its own, a Keras model without its layers' graph, what the snapshot left out), so
# such a regrade must grade as the run did, or say why it could not and run the notebooks again.
RESTORED = sorted(s.parent.name for s in SAMPLES if s.name == "reference_solution")


@pytest.mark.parametrize("assignment_id", [pytest.param(a, marks=pytest.mark.corpus(a)) for a in RESTORED])
def test_the_reference_solution_regraded_in_a_restored_kernel_grades_as_it_ran(corpus, tmp_path, assignment_id):
    out, results = corpus(assignment_id)
    a, folder = assignment.load(ROOT / "graders" / assignment_id), ROOT / "submissions" / assignment_id
    [submission] = [s for s in inbox.collect(folder, a) if s.student == "reference_solution"]
    shutil.copytree(out / "snapshots", tmp_path / "snapshots")  # the session's corpus stays as it was graded
    again = grade_submission(submission, a, level="strict", previous=results["reference_solution"],
                             snapshot_dir=tmp_path / "snapshots" / "reference_solution", replay=False)
    expected = tomllib.loads((folder / "reference_solution" / "expected.toml").read_text("utf-8"))
    assert (again.status, again.score) == (expected["status"], pytest.approx(expected["score"]))
    assert {t.id: t.outcome for q in again.questions for t in q.tests} == expected["tests"]
    assert {"snapshot_regraded", "snapshot_fallback"} & {m.key for m in again.messages}


def _accuracy(result, test_id):
    test = next(t for q in result.questions for t in q.tests if t.id == test_id)
    return next(m for m in test.messages if m.key == "accuracy")


@reads_hw2
def test_weak_sample_is_told_its_measured_accuracy(graded):
    _, results = graded
    for test_id in ("train_accuracy", "test_accuracy", "hidden_accuracy"):
        m = _accuracy(results["under_threshold"], test_id)
        assert 0 <= m.values["measured"] < m.values["threshold"] == 0.90
        en, fa = catalogue.render(m, "en"), catalogue.render(m, "fa")
        assert f"{m.values['measured'] * 100:.2f}%" in en
        assert "٪" in fa and "%" not in fa


@reads_hw2
def test_passing_sample_is_above_threshold_on_train_and_test(graded):
    _, results = graded
    for test_id in ("train_accuracy", "test_accuracy"):
        assert _accuracy(results["passes"], test_id).values["measured"] > 0.90


@reads_hw2
def test_snooping_sample_was_blocked_and_says_so(graded):
    _, results = graded
    r = results["snoops"]
    kinds = {b["kind"] for b in r.sandbox.blocked}
    assert kinds == {"file", "network"}
    names = {Path(b["target"]).name for b in r.sandbox.blocked}
    assert {"labels.csv", "test_q5.py", "shadow"} <= names  # the hidden labels, the graders, a host file
    assert any(m.key == "sandbox_blocked" for m in r.messages)
    assert not r.sandbox.network


@reads_hw2
def test_gradebook_has_every_sample_once(graded):
    out, results = graded
    latest = gradebook.latest(out / "gradebook.sqlite", HW2)
    assert {r.student for r in latest} == set(results)
